package fetch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// MaxPageSize bounds one page of a paging run, which is held in memory to
// be merged.
const MaxPageSize = 64 << 20

// listResponse is a SCIM ListResponse (RFC 7644 3.4.2), as IDCS pages its
// lists. Resources are kept as raw JSON, so each one is passed on byte for
// byte, in its own key order.
type listResponse struct {
	Schemas      json.RawMessage   `json:"schemas,omitempty"`
	TotalResults *int              `json:"totalResults"`
	Resources    []json.RawMessage `json:"Resources"`
	StartIndex   *int              `json:"startIndex,omitempty"`
	ItemsPerPage *int              `json:"itemsPerPage,omitempty"`
}

// Paginate GETs r and, while the answer is a SCIM list with more results
// (startIndex + the resources so far <= totalResults), the following
// pages, asking for each one's startIndex and keeping r's other query
// parameters (count, filter, attributes). It returns one list response
// holding every page's Resources, with itemsPerPage their number.
//
// An answer that is not a SCIM list (no totalResults) is returned as it
// came. When a page's status is not 2xx, Paginate returns that response
// with its body unread, for the caller to show, and no document.
func (c *Client) Paginate(ctx context.Context, r *Request) ([]byte, *http.Response, error) {
	if r.Method != http.MethodGet || r.Body != nil {
		return nil, nil, errors.New("paging needs a GET request without a body")
	}
	var merged listResponse
	page := *r
	for n := 1; ; n++ {
		resp, err := c.Do(ctx, &page)
		if err != nil {
			return nil, nil, err
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return nil, resp, nil
		}
		body, err := readPage(resp, n)
		if err != nil {
			return nil, nil, err
		}
		var l listResponse
		if err := json.Unmarshal(body, &l); err != nil {
			if n == 1 && !json.Valid(body) {
				return nil, nil, fmt.Errorf("paging: the answer is not JSON (%s)", contentType(resp))
			}
			if n == 1 {
				return body, nil, nil
			}
			return nil, nil, fmt.Errorf("paging: page %d is not a SCIM list response", n)
		}
		if l.TotalResults == nil {
			if n == 1 {
				return body, nil, nil
			}
			return nil, nil, fmt.Errorf("paging: page %d has no totalResults; it is not a SCIM list response", n)
		}
		start, err := startIndex(&page)
		if err != nil {
			return nil, nil, err
		}
		if n == 1 {
			merged.Schemas = l.Schemas
			if l.StartIndex != nil {
				start = *l.StartIndex
			}
			merged.StartIndex = &start
		} else if l.StartIndex != nil && *l.StartIndex != start {
			return nil, nil, fmt.Errorf("paging: asked for startIndex %d, the server answered startIndex %d; it does not page as SCIM says, so the pages are not merged", start, *l.StartIndex)
		}
		merged.TotalResults = l.TotalResults
		merged.Resources = append(merged.Resources, l.Resources...)
		next := start + len(l.Resources)
		if len(l.Resources) == 0 || next > *l.TotalResults {
			break
		}
		page.URL = withQuery(page.URL, "startIndex", strconv.Itoa(next))
	}
	if merged.Resources == nil {
		merged.Resources = []json.RawMessage{}
	}
	count := len(merged.Resources)
	merged.ItemsPerPage = &count
	doc, err := json.Marshal(merged)
	if err != nil {
		return nil, nil, fmt.Errorf("paging: merge the pages: %w", err)
	}
	return doc, nil, nil
}

// startIndex is the startIndex r asks for: SCIM's default is 1.
func startIndex(r *Request) (int, error) {
	v := r.URL.Query().Get("startIndex")
	if v == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("paging: startIndex %q is not a positive number", v)
	}
	return n, nil
}

// withQuery is a copy of u with query parameter k set to v: the next page
// of a paging run, its other parameters kept.
func withQuery(u *url.URL, k, v string) *url.URL {
	c := *u
	q := c.Query()
	q.Set(k, v)
	c.RawQuery = q.Encode()
	return &c
}

func readPage(resp *http.Response, n int) ([]byte, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxPageSize+1))
	if err != nil {
		return nil, fmt.Errorf("paging: read page %d: %w", n, err)
	}
	if len(body) > MaxPageSize {
		return nil, fmt.Errorf("paging: page %d is larger than %d MB; ask for smaller pages with count=N", n, MaxPageSize>>20)
	}
	return bytes.TrimSpace(body), nil
}

func contentType(resp *http.Response) string {
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		return "Content-Type " + ct
	}
	return "no Content-Type"
}
