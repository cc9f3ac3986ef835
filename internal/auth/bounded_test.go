package auth

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/idcsctl/idcsctl/internal/testnet"
)

// TestBoundedClientEndsATrickledBodyAtItsDeadline proves that the deadline
// covers the body, not only the headers: an answer whose headers come at
// once and whose body never ends is cut at the deadline. It runs on a
// synctest bubble's clock over an in-memory network, so the headers always
// come before the deadline: on a loaded machine, real headers can take
// longer than the 200 ms deadline, and the test then proved nothing.
func TestBoundedClientEndsATrickledBodyAtItsDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hc := testnet.PipeClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
			for {
				if _, err := io.WriteString(w, " "); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}))
		const deadline = 200 * time.Millisecond
		start := time.Now()
		resp, err := BoundedClient(hc, deadline).Get("http://provider.test/keys?secret=x")
		if err != nil {
			t.Fatalf("headers should arrive: %v", err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		var de *DeadlineError
		if !errors.As(err, &de) {
			t.Fatalf("read ended with %v, want a *DeadlineError", err)
		}
		if de.URL != "http://provider.test/keys" || strings.Contains(err.Error(), "secret") {
			t.Errorf("error %q should name the endpoint without its query", err)
		}
		// The bubble's clock: the body was read until the deadline, not
		// cut before it nor left running after it.
		if took := time.Since(start); took != deadline {
			t.Errorf("the read ended after %v, want at the %v deadline", took, deadline)
		}
		if len(body) < 10 {
			t.Errorf("read %d bytes of the trickle before the deadline, want one every 20 ms", len(body))
		}
	})
}

func TestBoundedClientRefusesAnAnswerOverTheCap(t *testing.T) {
	for _, tc := range []struct {
		size    int
		tooLong bool
	}{{maxAnswer, false}, {maxAnswer + 1, true}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write(make([]byte, tc.size))
		}))
		resp, err := BoundedClient(srv.Client(), time.Minute).Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		srv.Close()
		var tl *TooLargeError
		if got := errors.As(err, &tl); got != tc.tooLong {
			t.Errorf("size %d: too large = %v (err %v), want %v", tc.size, got, err, tc.tooLong)
		}
		if !tc.tooLong && len(body) != tc.size {
			t.Errorf("size %d: read %d bytes", tc.size, len(body))
		}
	}
}

func TestBoundedClientHeadersThatNeverComeEndAtTheDeadline(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	_, err := BoundedClient(srv.Client(), 100*time.Millisecond).Get(srv.URL + "/token")
	var de *DeadlineError
	if !errors.As(err, &de) {
		t.Fatalf("got %v, want a *DeadlineError", err)
	}
}
