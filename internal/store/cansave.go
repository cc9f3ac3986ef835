package store

import (
	"context"
	"fmt"
	"os"
)

// CanSave tells, before a sign-in starts, whether s could keep its tokens:
// a sign-in that runs the whole browser flow and only then finds the keyring
// missing or the folder read-only has wasted the person's time. The keyring
// is asked for an item that does not exist (within its deadline); the file
// store makes its folders and writes and removes a scratch file. Stores
// that keep nothing, or keep tokens in memory, can always save.
func CanSave(ctx context.Context, s Store) error {
	if c, ok := s.(interface{ canSave(context.Context) error }); ok {
		return c.canSave(ctx)
	}
	return nil
}

func (k *keyringStore) canSave(ctx context.Context) error {
	return k.probe(ctx)
}

func (a *autoStore) canSave(ctx context.Context) error {
	if a.state() != nil {
		return a.file.canSave(ctx)
	}
	return nil
}

func (s *fileStore) canSave(context.Context) error {
	for _, dir := range []string{s.dir, s.folder()} {
		if err := ensurePrivateDir(dir); err != nil {
			return err
		}
	}
	f, err := os.CreateTemp(s.folder(), ".can-save-*")
	if err != nil {
		return fmt.Errorf("the token folder %s is not writable: %w", s.folder(), err)
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("the token folder %s does not let idcsctl remove files: %w", s.folder(), err)
	}
	return nil
}
