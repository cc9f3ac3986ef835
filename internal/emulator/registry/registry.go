// Package registry is an OCIR-like container registry for tests: the
// registry API and its storage are go-containerregistry's in-memory
// registry (pkg/registry, which follows the distribution spec); this
// package adds only OCIR's authentication in front of it:
//
//   - GET /20180419/docker/token, signed with an OCI session the emulator
//     exchanged (the emulator's own signature check), answers
//     {"token": <JWT>, "expires_in": N}: a short-lived registry token;
//   - /v2/... takes HTTP Basic BEARER_TOKEN:<registry token> and answers
//     anything else with 401, a WWW-Authenticate challenge and the
//     distribution spec's error body.
//
// It is a package of its own so that idcsctl, whose demo serves the
// emulator, links nothing of go-containerregistry: tests use it.
package registry

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	ggcr "github.com/google/go-containerregistry/pkg/registry"

	"github.com/idcsctl/idcsctl/internal/emulator"
)

// TokenPath is OCIR's registry token endpoint.
const TokenPath = "/20180419/docker/token"

// Username is the user name OCIR takes with a registry token.
const Username = "BEARER_TOKEN"

// DefaultTokenTTL is how long registry tokens live unless SetTokenTTL
// says otherwise.
const DefaultTokenTTL = 10 * time.Minute

// Answers the token endpoint can be made to give instead of a token, for
// tests of a hostile or broken registry.
const (
	AnswerToken   = ""         // a token (the default)
	AnswerHuge    = "huge"     // 2 MiB of JSON
	AnswerNotJSON = "not-json" // an HTML page
	AnswerNoToken = "no-token" // JSON without a token
)

// Server is the registry, listening on 127.0.0.1.
type Server struct {
	// Host is 127.0.0.1:PORT, the registry's name for clients.
	Host string
	// URL is http://127.0.0.1:PORT.
	URL string

	emu  *emulator.Emulator
	key  []byte
	regs http.Handler
	srv  *http.Server
	done chan error

	mu     sync.Mutex
	ttl    time.Duration
	answer string
	counts map[string]int
}

// Start serves a new registry on a free loopback port, authenticating
// token requests with emu's OCI sessions.
func Start(emu *emulator.Emulator) (*Server, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("registry: listen: %w", err)
	}
	s := &Server{
		Host:   ln.Addr().String(),
		URL:    "http://" + ln.Addr().String(),
		emu:    emu,
		key:    key,
		regs:   ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0))),
		ttl:    DefaultTokenTTL,
		counts: map[string]int{},
		done:   make(chan error, 1),
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error {
	err := s.srv.Close()
	if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// SetTokenTTL sets the lifetime of tokens issued from now on; d <= 0
// restores DefaultTokenTTL.
func (s *Server) SetTokenTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d <= 0 {
		d = DefaultTokenTTL
	}
	s.ttl = d
}

// SetTokenAnswer makes the token endpoint answer a signed request with
// one of the Answer* constants.
func (s *Server) SetTokenAnswer(answer string) error {
	switch answer {
	case AnswerToken, AnswerHuge, AnswerNotJSON, AnswerNoToken:
	default:
		return fmt.Errorf("registry: unknown token answer %q", answer)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answer = answer
	return nil
}

// Counts says how often things happened: "token" requests to the token
// endpoint, "token:issued" tokens issued, "v2" registry API requests and
// "v2:refused" ones refused for their credentials.
func (s *Server) Counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

func (s *Server) count(what string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[what]++
}

// ServeHTTP answers the token endpoint and the registry API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == TokenPath:
		s.count("token")
		s.serveToken(w, r)
	case r.URL.Path == "/v2" || strings.HasPrefix(r.URL.Path, "/v2/"):
		s.count("v2")
		if !s.authorized(r) {
			s.count("v2:refused")
			w.Header().Set("WWW-Authenticate", fmt.Sprintf("Basic realm=%q", s.Host))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}`+"\n")
			return
		}
		s.regs.ServeHTTP(w, r)
	default:
		http.NotFound(w, r)
	}
}

type tokenClaims struct {
	jwt.Claims
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	user, ok := s.emu.AuthenticateOCI(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	ttl, answer := s.ttl, s.answer
	s.mu.Unlock()
	switch answer {
	case AnswerHuge:
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"token":"`+strings.Repeat("A", 2<<20)+`"}`)
		return
	case AnswerNotJSON:
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<html><body>Service Unavailable</body></html>\n")
		return
	case AnswerNoToken:
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"","expires_in":300}`)
		return
	}
	now := time.Now()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: s.key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	tok, err := jwt.Signed(sig).Claims(tokenClaims{jwt.Claims{
		Subject: user, Issuer: "ocir-emulator", Audience: jwt.Audience{s.Host},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(ttl)),
	}}).Serialize()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s.count("token:issued")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"token": tok, "access_token": tok, "expires_in": int(ttl.Seconds())})
}

// authorized reports whether r carries Basic BEARER_TOKEN:<a live token
// of this registry>.
func (s *Server) authorized(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok || user != Username {
		return false
	}
	t, err := jwt.ParseSigned(pass, []jose.SignatureAlgorithm{jose.HS256})
	if err != nil {
		return false
	}
	var c tokenClaims
	if err := t.Claims(s.key, &c); err != nil {
		return false
	}
	return c.ValidateWithLeeway(jwt.Expected{Issuer: "ocir-emulator", AnyAudience: jwt.Audience{s.Host}, Time: time.Now()}, 0) == nil
}
