package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/idcsctl/idcsctl/internal/origin"
)

// checkTimeout bounds the request checkAuthorizeRequest makes.
const checkTimeout = 10 * time.Second

// Patterns that pull the title and the first paragraph out of an error page,
// only to show them. They are compiled only when a provider answers with an
// error page: compiled at start-up, they would cost every command, the
// cached `idcsctl token` included.
const (
	pageTitle     = `(?is)<title[^>]*>(.*?)</title>`
	pageParagraph = `(?is)<p[^>]*>(.*?)</p>`
	pageTag       = `(?s)<[^>]*>`
)

// idcsErrorPage is where an identity domain sends the browser when it will
// not serve a sign-in request: its error page (an application's "Custom
// Error URL" replaces it; Oracle's custom sign-in samples serve it at the
// same path).
const idcsErrorPage = "/ui/v1/error"

// oauthErrorCodes are the error codes that make an error document
// recognisably the provider's refusal of an authorization request: RFC
// 6749's and OpenID Connect's, and IDCS's invalid_redirect_uri and
// invalid_client for an unregistered redirect URI or client id.
var oauthErrorCodes = []string{
	"invalid_request", "unauthorized_client", "access_denied", "unsupported_response_type",
	"invalid_scope", "server_error", "temporarily_unavailable", "invalid_client",
	"invalid_redirect_uri", "redirect_uri_mismatch", "request_not_supported",
	"request_uri_not_supported", "invalid_request_uri", "invalid_request_object",
}

// checkAuthorizeRequest sends the authorization request as the browser
// would, without following redirects, and ends the sign-in with an
// *AuthorizeRequestError only when the answer is recognisably the provider
// refusing it (judgeAuthorizeAnswer). Any other answer opens the browser as
// usual, after one warning line on stderr when the answer is an error that
// is not recognised (a firewall's 403, a rate limiter's 429, a proxy's
// page): a browser may well get through where this request did not. No
// answer at all (refused, DNS, TLS, no answer in time) ends the sign-in
// with an *UnreachableError before any browser opens: the code the browser
// would bring back must be exchanged by this process, at the same domain.
func (c *Client) checkAuthorizeRequest(ctx context.Context, stderr io.Writer, authURL, redirectURI string) error {
	resp, body, u, err := c.probe(ctx, authURL)
	if err != nil {
		return err
	}
	v := judgeAuthorizeAnswer(resp, body, u, redirectURI, c.ClientID)
	if v.warning != "" {
		fmt.Fprintf(stderr, "warning: %s; opening the browser anyway.\n", v.warning)
	}
	if v.refused != nil {
		return v.refused
	}
	return nil
}

// probe sends a request a browser is about to be sent with, as the browser
// would but without cookies and without following redirects, and returns
// the answer (its body read, up to 1 MiB, only for 4xx and 5xx) and the
// URL requested. No answer is an *UnreachableError, or the reason ctx
// ended (the sign-in's timeout, Ctrl-C).
func (c *Client) probe(ctx context.Context, target string) (resp *http.Response, body []byte, u *url.URL, err error) {
	pctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(pctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	req.Header.Set("Accept", "text/html")
	hc := *httpClient(c.HTTP)
	hc.Jar = nil
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err = hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, nil, interrupted(ctx)
		}
		return nil, nil, nil, &UnreachableError{URL: endpointURL(req.URL), Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		body, _ = readLimited(resp.Body)
	}
	return resp, body, req.URL, nil
}

// verdict is what the pre-check makes of an answer: a refusal that ends the
// sign-in, or nothing (the browser opens), with a warning when the answer
// is an error idcsctl does not recognise.
type verdict struct {
	refused *AuthorizeRequestError
	warning string
}

// judgeAuthorizeAnswer decides what an answer to the authorization request
// means, from resp's status and headers and body (read only for 4xx and
// 5xx). Recognised refusals, which end the sign-in:
//
//   - an OAuth error document (JSON with an RFC 6749, OpenID Connect or
//     IDCS error code) with any 4xx status but 429; IDCS answers an
//     unregistered redirect URI with {"error": "invalid_redirect_uri"};
//   - a redirect to the domain's own error page, /ui/v1/error;
//   - an HTML error page with status 400 or 401 that speaks of the redirect
//     URI or the client (RFC 6749 4.1.2.1's page for a bad client id or
//     redirect URI).
//
// Not recognised, so the browser opens after a warning: 429, 403 and every
// other error status without one of the above, whatever page comes with it.
// Anything below 400 but such a redirect opens the browser without a word;
// so does a redirect back to the redirect URI with an error, which the
// browser, whose session this request lacks (prompt=none), may not get.
func judgeAuthorizeAnswer(resp *http.Response, body []byte, authURL *url.URL, redirectURI, clientID string) verdict {
	status := resp.StatusCode
	media := contentType(resp)
	refused := func(title, message string) verdict {
		return verdict{refused: &AuthorizeRequestError{Status: status, Title: title, Message: message, RedirectURI: redirectURI}}
	}
	if status < 400 {
		if status >= 300 && status < 400 {
			if loc, err := authURL.Parse(resp.Header.Get("Location")); err == nil && isErrorPage(loc, authURL) {
				return refused("the domain's error page", "the domain sent the browser to "+Printable(loc.Scheme+"://"+loc.Host+loc.Path, 200)+" instead of its sign-in page")
			}
		}
		return verdict{}
	}
	unknown := verdict{warning: fmt.Sprintf("the domain answered the sign-in request with HTTP %d (%s), which is not a refusal idcsctl recognises (a firewall, proxy or rate limiter in front of the domain?)", status, media)}
	if status == http.StatusTooManyRequests || status >= 500 {
		return unknown
	}
	if isJSON(media) {
		var oe struct {
			Code        string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(body, &oe) == nil && slices.Contains(oauthErrorCodes, oe.Code) {
			return refused(oe.Code, Printable(oe.Description, 200))
		}
		return unknown
	}
	if (status == http.StatusBadRequest || status == http.StatusUnauthorized) && media == "text/html" {
		title, message := pageText(pageTitle, body), pageText(pageParagraph, body)
		if speaksOfTheRequest(title+" "+message, redirectURI, clientID) {
			return refused(title, message)
		}
	}
	return unknown
}

// isErrorPage reports whether loc is the domain's error page: IDCS's path,
// on the origin of the authorization endpoint.
func isErrorPage(loc, authURL *url.URL) bool {
	return strings.EqualFold(strings.TrimRight(loc.Path, "/"), idcsErrorPage) && origin.Same(loc, authURL)
}

// speaksOfTheRequest reports whether an error page's text is about the
// client or the redirect URI of the request, as a provider's refusal is
// and a firewall's page is not.
func speaksOfTheRequest(text, redirectURI, clientID string) bool {
	t := strings.ToLower(text)
	if strings.Contains(t, "redirect") || strings.Contains(t, "client") || strings.Contains(t, "application") {
		return true
	}
	return redirectURI != "" && strings.Contains(text, redirectURI) || clientID != "" && strings.Contains(text, clientID)
}

// pageText is the text of the first match of pattern in an HTML page,
// without tags or entities, on one line, made printable and short: the
// provider controls it.
func pageText(pattern string, page []byte) string {
	m := regexp.MustCompile(pattern).FindSubmatch(page)
	if m == nil {
		return ""
	}
	s := html.UnescapeString(regexp.MustCompile(pageTag).ReplaceAllString(string(m[1]), " "))
	return Printable(strings.Join(strings.Fields(s), " "), 200)
}
