package fetch

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// ociList serves n items a page of 2 at a time, OCI style.
func ociList(n int, asObject bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start, _ := strconv.Atoi(r.URL.Query().Get("page"))
		var items []string
		for i := start; i < min(start+2, n); i++ {
			items = append(items, strconv.Itoa(i))
		}
		if start+2 < n {
			w.Header().Set("opc-next-page", strconv.Itoa(start+2))
		}
		body := "[" + strings.Join(items, ",") + "]"
		if asObject {
			body = `{"items":` + body + `}`
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}
}

func TestPaginateOCIFollowsOpcNextPage(t *testing.T) {
	for _, tc := range []struct {
		name     string
		n        int
		asObject bool
		want     string
	}{
		{"arrays", 5, false, "[0,1,2,3,4]\n"},
		{"items objects", 4, true, "[0,1,2,3]\n"},
		{"empty", 0, false, "[]\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(ociList(tc.n, tc.asObject))
			defer srv.Close()
			u, _ := url.Parse(srv.URL + "/20160918/compartments?limit=2")
			signed := 0
			c := &Client{HTTP: srv.Client(), Sign: func(req *http.Request) error {
				signed++
				if req.URL.Query().Get("limit") != "2" {
					t.Errorf("page %d lost the limit parameter", signed)
				}
				req.Header.Set("Authorization", "Signature test")
				return nil
			}}
			doc, failed, err := c.PaginateOCI(context.Background(), &Request{Method: http.MethodGet, URL: u})
			if err != nil || failed != nil {
				t.Fatalf("%v %v", err, failed)
			}
			if string(doc) != tc.want {
				t.Fatalf("got %q, want %q", doc, tc.want)
			}
			if want := max(1, (tc.n+1)/2); signed != want {
				t.Errorf("signed %d requests, want %d", signed, want)
			}
		})
	}
}

func TestPaginateOCIRefusesWhatIsNotAList(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"id":"x"}`)) }))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	c := &Client{HTTP: srv.Client(), Sign: func(*http.Request) error { return nil }}
	if _, _, err := c.PaginateOCI(context.Background(), &Request{Method: http.MethodGet, URL: u}); err == nil || !strings.Contains(err.Error(), "items") {
		t.Fatalf("err = %v", err)
	}
}

func TestSignReplacesTheBearerToken(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Get("Authorization") }))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	c := &Client{HTTP: srv.Client(),
		Token: func(context.Context) (string, error) { t.Fatal("Token called although Sign is set"); return "", nil },
		Sign:  func(req *http.Request) error { req.Header.Set("Authorization", "Signature x"); return nil }}
	resp, err := c.Do(context.Background(), &Request{Method: http.MethodGet, URL: u})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got != "Signature x" {
		t.Fatalf("Authorization %q", got)
	}
}
