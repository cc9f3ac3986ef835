package auth

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestBoundedClientEndsATrickledBodyAtItsDeadline(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	defer srv.Close()
	hc := BoundedClient(srv.Client(), 200*time.Millisecond)
	resp, err := hc.Get(srv.URL + "/keys?secret=x")
	if err != nil {
		t.Fatalf("headers should arrive: %v", err)
	}
	defer resp.Body.Close()
	_, err = io.ReadAll(resp.Body)
	var de *DeadlineError
	if !errors.As(err, &de) {
		t.Fatalf("read ended with %v, want a *DeadlineError", err)
	}
	if de.URL != srv.URL+"/keys" || strings.Contains(err.Error(), "secret") {
		t.Errorf("error %q should name the endpoint without its query", err)
	}
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
