package store

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// memoryStore keeps tokens in this process only.
type memoryStore struct {
	mu     sync.Mutex
	tokens map[string]Token
}

// NewMemory returns a store that keeps tokens in this process only, for
// tests and the demo. It hands out copies, so callers cannot change what it holds.
func NewMemory() Store { return &memoryStore{tokens: map[string]Token{}} }

func (s *memoryStore) Name() string { return "memory" }

func (s *memoryStore) Load(_ context.Context, profile string) (*Token, error) {
	if err := checkProfile(profile); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[profile]
	if !ok {
		return nil, fmt.Errorf("%w (profile %q)", ErrNotFound, profile)
	}
	return &t, nil
}

func (s *memoryStore) Save(_ context.Context, profile string, t *Token) error {
	if err := checkProfile(profile); err != nil {
		return err
	}
	if t == nil {
		return fmt.Errorf("save token of profile %q: no token given", profile)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[profile] = *t
	return nil
}

func (s *memoryStore) Delete(_ context.Context, profile string) error {
	if err := checkProfile(profile); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, profile)
	return nil
}

func (s *memoryStore) Profiles(_ context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.tokens))
	for name := range s.tokens {
		names = append(names, name)
	}
	slices.Sort(names)
	return names, nil
}

// noneStore keeps nothing.
type noneStore struct{}

// NewNone returns a store that keeps nothing: Save does nothing and Load
// always reports ErrNotFound, so every command signs in again.
func NewNone() Store { return noneStore{} }

func (noneStore) Name() string { return "none" }

func (noneStore) Load(_ context.Context, profile string) (*Token, error) {
	if err := checkProfile(profile); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%w (profile %q, token store none keeps nothing)", ErrNotFound, profile)
}

func (noneStore) Save(_ context.Context, profile string, _ *Token) error {
	return checkProfile(profile)
}

func (noneStore) Delete(_ context.Context, profile string) error { return checkProfile(profile) }

func (noneStore) Profiles(context.Context) ([]string, error) { return nil, nil }
