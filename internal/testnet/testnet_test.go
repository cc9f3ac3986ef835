package testnet

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"testing/synctest"
	"time"
)

func TestPortIsReservedAgainstOtherTestsAndTheKernel(t *testing.T) {
	seen := map[int]bool{}
	for range 20 {
		p := Port(t)
		if seen[p] {
			t.Fatalf("port %d handed out twice while reserved", p)
		}
		seen[p] = true
		if p < firstPort || p >= min(endPort, ephemeralStart()) || p == 18000 {
			t.Fatalf("port %d is outside %d-%d or in the kernel's ephemeral range", p, firstPort, endPort-1)
		}
		// Another process's Reserve tries the same UDP socket first.
		if c, err := net.ListenPacket("udp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(p))); err == nil {
			c.Close()
			t.Fatalf("port %d is not held against other processes' tests", p)
		}
		// The program under test can bind it.
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatalf("port %d cannot be listened on: %v", p, err)
		}
		ln.Close()
	}
}

func TestAPortAProgramListensOnIsNotFree(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "::1"} {
		port, release, err := Reserve()
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		if !tcpFree(port) {
			t.Fatalf("reserved port %d is not free", port)
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			if host == "::1" {
				continue // no IPv6 loopback here
			}
			t.Fatal(err)
		}
		if tcpFree(port) {
			t.Errorf("port %d counts as free while a program listens on %s", port, host)
		}
		ln.Close()
	}
}

func TestPipeClientRunsOnTheBubblesClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hc := PipeClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(time.Hour) // fake time: returns at once in real time
			_, _ = io.WriteString(w, "late")
		}))
		start := time.Now()
		resp, err := hc.Get("http://provider.test/x")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(body) != "late" {
			t.Fatalf("body %q, err %v", body, err)
		}
		if d := time.Since(start); d != time.Hour {
			t.Errorf("the answer took %v of the bubble's clock, want exactly 1h", d)
		}
	})
}
