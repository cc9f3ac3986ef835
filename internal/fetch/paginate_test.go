package fetch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// scimUsers serves a SCIM list of total users the way IDCS pages it, and
// records the query of every request.
type scimUsers struct {
	total       int
	failAt      int  // startIndex answered with 500
	ignoreStart bool // always answer the first page
	mu          sync.Mutex
	queries     []string
}

func (s *scimUsers) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.queries = append(s.queries, r.URL.RawQuery)
	s.mu.Unlock()
	q := r.URL.Query()
	start, count := 1, 50
	fmt.Sscan(q.Get("startIndex"), &start)
	fmt.Sscan(q.Get("count"), &count)
	if s.ignoreStart {
		start = 1
	}
	if start == s.failAt {
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `{"detail":"page failed"}`)
		return
	}
	res := []string{}
	for i := start; i <= s.total && len(res) < count; i++ {
		res = append(res, fmt.Sprintf(`{"userName":"user%03d","id":"%d"}`, i, i))
	}
	w.Header().Set("Content-Type", "application/scim+json")
	fmt.Fprintf(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":%d,"Resources":[%s],"startIndex":%d,"itemsPerPage":%d}`,
		s.total, strings.Join(res, ","), start, len(res))
}

func (s *scimUsers) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.queries)
}

type merged struct {
	Schemas      []string `json:"schemas"`
	TotalResults int      `json:"totalResults"`
	StartIndex   int      `json:"startIndex"`
	ItemsPerPage int      `json:"itemsPerPage"`
	Resources    []struct {
		UserName string `json:"userName"`
	} `json:"Resources"`
}

func TestPaginateMergesEverySCIMPage(t *testing.T) {
	tests := []struct {
		name, query string
		total       int
		wantQueries []string
		wantFirst   string
		wantCount   int
	}{
		{name: "three pages of ten", query: "count=10", total: 26,
			wantQueries: []string{"count=10", "count=10&startIndex=11", "count=10&startIndex=21"}, wantFirst: "user001", wantCount: 26},
		{name: "exact multiple stops without an empty page", query: "count=5", total: 10,
			wantQueries: []string{"count=5", "count=5&startIndex=6"}, wantFirst: "user001", wantCount: 10},
		{name: "other parameters are kept", query: "attributes=userName&count=10&filter=userName+sw+%22u%22", total: 12,
			wantQueries: []string{"attributes=userName&count=10&filter=userName+sw+%22u%22", "attributes=userName&count=10&filter=userName+sw+%22u%22&startIndex=11"},
			wantFirst:   "user001", wantCount: 12},
		{name: "a later startIndex is where merging starts", query: "count=10&startIndex=21", total: 26,
			wantQueries: []string{"count=10&startIndex=21"}, wantFirst: "user021", wantCount: 6},
		{name: "server's default page size", query: "", total: 120,
			wantQueries: []string{"", "startIndex=51", "startIndex=101"}, wantFirst: "user001", wantCount: 120},
		{name: "an empty list is one page", query: "count=10", total: 0,
			wantQueries: []string{"count=10"}, wantCount: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &scimUsers{total: tt.total}
			srv := httptest.NewServer(s)
			defer srv.Close()
			c := newTestClient(t, "t")
			doc, failed, err := c.Paginate(context.Background(), get(t, srv.URL+"/admin/v1/Users?"+tt.query))
			if err != nil || failed != nil {
				t.Fatalf("Paginate = %v, %v", failed, err)
			}
			if !slices.Equal(s.seen(), tt.wantQueries) {
				t.Errorf("queries %q, want %q", s.seen(), tt.wantQueries)
			}
			var m merged
			if err := json.Unmarshal(doc, &m); err != nil {
				t.Fatalf("merged document %s: %v", doc, err)
			}
			if len(m.Resources) != tt.wantCount || m.ItemsPerPage != tt.wantCount || m.TotalResults != tt.total {
				t.Errorf("merged %d resources (itemsPerPage %d, totalResults %d), want %d of %d", len(m.Resources), m.ItemsPerPage, m.TotalResults, tt.wantCount, tt.total)
			}
			if tt.wantCount > 0 && m.Resources[0].UserName != tt.wantFirst {
				t.Errorf("first resource %q, want %q", m.Resources[0].UserName, tt.wantFirst)
			}
			for i := 1; i < len(m.Resources); i++ {
				if m.Resources[i-1].UserName >= m.Resources[i].UserName {
					t.Fatalf("resources out of order at %d: %q then %q", i, m.Resources[i-1].UserName, m.Resources[i].UserName)
				}
			}
			if !slices.Equal(m.Schemas, []string{"urn:ietf:params:scim:api:messages:2.0:ListResponse"}) {
				t.Errorf("schemas %q", m.Schemas)
			}
		})
	}
}

func TestPaginateKeepsEachResourceByteForByte(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"totalResults":1,"Resources":[{"z":1,"a":12345678901234567890,"s":"\u00e9"}],"startIndex":1}`)
	}))
	defer srv.Close()
	doc, _, err := newTestClient(t, "t").Paginate(context.Background(), get(t, srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), `[{"z":1,"a":12345678901234567890,"s":"\u00e9"}]`) {
		t.Errorf("merged %s changed the resource", doc)
	}
}

func TestPaginateReturnsAnAnswerThatIsNoListAsItCame(t *testing.T) {
	for _, body := range []string{`{"userName":"me"}`, `[1,2]`, `{"totalResults":"many"}`} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body+"\n") }))
		doc, _, err := newTestClient(t, "t").Paginate(context.Background(), get(t, srv.URL))
		srv.Close()
		if err != nil || string(doc) != body {
			t.Errorf("Paginate(%s) = %s, %v; want it unchanged", body, doc, err)
		}
	}
}

func TestPaginateStopsAtAFailedPageAndHandsItBack(t *testing.T) {
	s := &scimUsers{total: 30, failAt: 11}
	srv := httptest.NewServer(s)
	defer srv.Close()
	doc, failed, err := newTestClient(t, "t").Paginate(context.Background(), get(t, srv.URL+"?count=10"))
	if err != nil || doc != nil || failed == nil {
		t.Fatalf("Paginate = %q, %v, %v; want the failed page", doc, failed, err)
	}
	defer failed.Body.Close()
	b, _ := io.ReadAll(failed.Body)
	if failed.StatusCode != 500 || string(b) != `{"detail":"page failed"}` {
		t.Errorf("failed page %d %q", failed.StatusCode, b)
	}
}

func TestPaginateRefusesWhatItCannotMerge(t *testing.T) {
	tests := []struct {
		name    string
		handler http.Handler
		query   string
		wantMsg string
	}{
		{name: "server ignores startIndex", handler: &scimUsers{total: 30, ignoreStart: true}, query: "count=10", wantMsg: "the server answered startIndex 1"},
		{name: "not JSON", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<html>")
		}), wantMsg: "not JSON (Content-Type text/html)"},
		{name: "a later page is no list", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("startIndex") == "" {
				io.WriteString(w, `{"totalResults":3,"Resources":[{}],"startIndex":1}`)
				return
			}
			io.WriteString(w, `{"oops":true}`)
		}), wantMsg: "page 2 has no totalResults"},
		{name: "bad startIndex", handler: &scimUsers{total: 3}, query: "startIndex=zero", wantMsg: "not a positive number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			_, _, err := newTestClient(t, "t").Paginate(context.Background(), get(t, srv.URL+"?"+tt.query))
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Paginate = %v, want an error saying %q", err, tt.wantMsg)
			}
		})
	}
}

func TestPaginateNeedsAGetWithoutBody(t *testing.T) {
	c := newTestClient(t, "t")
	for _, r := range []*Request{
		{Method: http.MethodPost, URL: mustURL(t, "http://127.0.0.1:1/")},
		{Method: http.MethodGet, URL: mustURL(t, "http://127.0.0.1:1/"), Body: &Body{data: []byte(strconv.Itoa(1))}},
	} {
		if _, _, err := c.Paginate(context.Background(), r); err == nil {
			t.Errorf("Paginate(%s with body %v) succeeded", r.Method, r.Body != nil)
		}
	}
}
