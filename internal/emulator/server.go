package emulator

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server is an emulator listening on a loopback address.
type Server struct {
	*Emulator
	// URL is http://127.0.0.1:PORT, the domain URL to give idcsctl.
	URL string

	srv       *http.Server
	done      chan error
	closeOnce sync.Once
	closeErr  error
}

// Start serves a new emulator on 127.0.0.1. addr "" picks a free port;
// otherwise it is a loopback host:port such as "127.0.0.1:9000".
func Start(opts Options, addr string) (*Server, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("emulator: address %q is not host:port: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("emulator: address %q is not a loopback IP address; the emulator only listens on loopback, e.g. 127.0.0.1:9000", addr)
	}
	e, err := New(opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("emulator: listen on %s: %w", addr, err)
	}
	s := &Server{
		Emulator: e,
		URL:      "http://" + ln.Addr().String(),
		srv:      &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second},
		done:     make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server at once: open connections are closed, which also
// ends requests an injected failure keeps hanging. Closing twice is fine.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = s.srv.Close()
		if serveErr := <-s.done; serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
			s.closeErr = fmt.Errorf("emulator: serve: %w", serveErr)
		}
	})
	return s.closeErr
}
