// Package testnet gives tests network endpoints that no scheduler can take
// from them: loopback ports that nothing else on the machine is handed
// while a test holds them, and an in-memory network for tests that run in a
// testing/synctest bubble. It is imported by tests only.
//
// A port picked by listening on 127.0.0.1:0 and closing the listener is
// free only for a moment: on a busy machine the kernel may hand the same
// port to another test's listener or to any outgoing connection before the
// program under test binds it (a script's `login --port $PORT` failed so,
// issue 21). Ports from Port come from below the kernel's ephemeral range,
// which it never hands out by itself, and are reserved among the tests of
// every process by a UDP socket on the same number, held until release.
package testnet

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The ports Port hands out: below the ephemeral range of Linux (32768),
// macOS and Windows (49152), and clear of idcsctl's default callback ports
// (8000, 18000, 28000), which tests hold on purpose.
const (
	firstPort = 20000
	endPort   = 28000 // exclusive
)

// Port reserves a TCP port on the loopback addresses for the rest of the
// test: free now on 127.0.0.1 and ::1, and handed to no other test of any
// process, nor by the kernel to anything else, until the test ends. The
// program under test binds it itself; between its binds the port stays
// reserved.
func Port(tb testing.TB) int {
	tb.Helper()
	port, release, err := Reserve()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(release)
	return port
}

// Reserve is Port for a reservation that ends before the test does (a
// script of testscript, released by its Defer): it returns the port and
// the function that gives it back.
func Reserve() (int, func(), error) {
	end := min(endPort, ephemeralStart())
	if end <= firstPort {
		return 0, nil, fmt.Errorf("testnet: this machine's ephemeral port range starts at %d, so no port below it in %d-%d is safe from the kernel; raise it (sysctl net.ipv4.ip_local_port_range)", end, firstPort, endPort-1)
	}
	n := end - firstPort
	start := rand.IntN(n)
	for i := range n {
		port := firstPort + (start+i)%n
		if port == 18000 || port == 28000 {
			continue
		}
		hold, err := net.ListenPacket("udp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue // another test holds it
		}
		if !tcpFree(port) {
			hold.Close() // a program outside the tests uses it
			continue
		}
		var once sync.Once
		return port, func() { once.Do(func() { hold.Close() }) }, nil
	}
	return 0, nil, fmt.Errorf("testnet: no free port in %d-%d", firstPort, end-1)
}

// tcpFree reports whether nothing listens on the port on either loopback
// address (a machine without IPv6 on lo has only the first).
func tcpFree(port int) bool {
	ln, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	ln.Close()
	ln, err = net.Listen("tcp6", net.JoinHostPort("::1", strconv.Itoa(port)))
	if err != nil {
		// Taken, unless this machine has no IPv6 loopback at all.
		probe, probeErr := net.Listen("tcp6", "[::1]:0")
		if probeErr != nil {
			return true
		}
		probe.Close()
		return false
	}
	ln.Close()
	return true
}

// ephemeralStart is the first port the kernel hands out by itself, as
// Linux says it; elsewhere the IANA range's start, which macOS and Windows
// use.
func ephemeralStart() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 49152
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 49152
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return 49152
	}
	return n
}

// PipeClient serves h over an in-memory network and returns a client whose
// every request reaches it, whatever the URL's host. The real net/http
// client and server run over net.Pipe connections, so inside a
// testing/synctest bubble every wait (a deadline, a trickled body) is on
// the bubble's fake clock and synctest.Wait sees every goroutine, which a
// loopback socket would hide. The server stops when the test ends.
func PipeClient(tb testing.TB, h http.Handler) *http.Client {
	ln := &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
	srv := &http.Server{Handler: h}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln)
	}()
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			client, server := net.Pipe()
			select {
			case ln.conns <- server:
				return client, nil
			case <-ln.done:
				return nil, net.ErrClosed
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		},
	}
	tb.Cleanup(func() {
		tr.CloseIdleConnections()
		_ = srv.Close()
		<-served
	})
	return &http.Client{Transport: tr}
}

// pipeListener hands the server the connections PipeClient's dialer makes.
type pipeListener struct {
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }
