package fetch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// MaxOCIPages bounds an OCI paging run, so a server that always names a
// next page cannot keep it going for ever.
const MaxOCIPages = 10000

// PaginateOCI GETs r and, while the answer names a next page in its
// opc-next-page header, the following pages, asking for each with the
// page query parameter (OCI's list paging) and keeping r's other
// parameters (limit, compartmentId...). Each page is a JSON array, or an
// object with an "items" array; the result is one array of every page's
// items, each passed on byte for byte.
//
// When a page's status is not 2xx, PaginateOCI returns that response with
// its body unread, for the caller to show, and no document.
func (c *Client) PaginateOCI(ctx context.Context, r *Request) ([]byte, *http.Response, error) {
	if r.Method != http.MethodGet || r.Body != nil {
		return nil, nil, errors.New("paging needs a GET request without a body")
	}
	var items []json.RawMessage
	page := *r
	for n := 1; ; n++ {
		resp, err := c.Do(ctx, &page)
		if err != nil {
			return nil, nil, err
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return nil, resp, nil
		}
		next := resp.Header.Get("opc-next-page")
		body, err := readPage(resp, n)
		if err != nil {
			return nil, nil, err
		}
		got, err := ociItems(body)
		if err != nil {
			return nil, nil, fmt.Errorf("paging: page %d %w", n, err)
		}
		items = append(items, got...)
		if next == "" {
			break
		}
		if n >= MaxOCIPages {
			return nil, nil, fmt.Errorf("paging: more than %d pages; narrow the list with its query parameters", MaxOCIPages)
		}
		page.URL = withQuery(page.URL, "page", next)
	}
	if items == nil {
		items = []json.RawMessage{}
	}
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(items); err != nil {
		return nil, nil, fmt.Errorf("paging: %w", err)
	}
	return b.Bytes(), nil, nil
}

// ociItems reads one page of an OCI list: an array, or {"items": [...]}.
func ociItems(body []byte) ([]json.RawMessage, error) {
	var arr []json.RawMessage
	if err := json.Unmarshal(body, &arr); err == nil {
		return arr, nil
	}
	var obj struct {
		Items *[]json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(body, &obj); err != nil || obj.Items == nil {
		return nil, errors.New("is neither a JSON array nor an object with an items array, as OCI lists are")
	}
	return *obj.Items, nil
}
