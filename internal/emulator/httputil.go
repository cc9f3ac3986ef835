package emulator

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// maxBody bounds every request body the emulator reads.
const maxBody = 1 << 20

func writeJSON(w http.ResponseWriter, status int, v any) {
	writeJSONType(w, status, "application/json", v)
}

func writeJSONType(w http.ResponseWriter, status int, contentType string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "emulator: encode response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// oauthError is an OAuth 2.0 error answer (RFC 6749 5.2), written as JSON.
type oauthError struct {
	status int
	code   string
	desc   string
}

func (o *oauthError) write(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	if o.code == "invalid_client" {
		// RFC 6749 5.2: a failed client authentication is a 401 naming the
		// scheme the client should use, which for IDCS is Basic.
		w.Header().Set("WWW-Authenticate", `Basic realm="IDCS"`)
	}
	writeJSON(w, o.status, map[string]string{"error": o.code, "error_description": o.desc})
}

func badRequest(code, desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: code, desc: desc}
}

func invalidClient(desc string) *oauthError {
	return &oauthError{status: http.StatusUnauthorized, code: "invalid_client", desc: desc}
}

// readForm reads a form-encoded POST body strictly: the content type must be
// form encoding, and no parameter may repeat (RFC 6749 3.1 and 3.2). Query
// parameters are ignored, as they carry nothing for these endpoints.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, *oauthError) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, badRequest("invalid_request", "The request body must be form encoded (application/x-www-form-urlencoded).")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		return nil, badRequest("invalid_request", "The request body cannot be read as a form.")
	}
	if k, dup := repeated(r.PostForm); dup {
		return nil, badRequest("invalid_request", fmt.Sprintf("The parameter %s is included more than once.", shorten(k)))
	}
	return r.PostForm, nil
}

func repeated(v url.Values) (string, bool) {
	for k, vs := range v {
		if len(vs) > 1 {
			return k, true
		}
	}
	return "", false
}

// shorten keeps a caller-chosen string short enough to quote in an error.
func shorten(s string) string {
	const limit = 64
	if len(s) > limit {
		s = s[:limit] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// authenticateClient identifies the client of a token, introspection,
// revocation or device request. A confidential client authenticates with
// HTTP Basic, as IDCS expects, or with client_secret_post; a public client
// names itself with client_id in the body (or with Basic and an empty
// password, which golang.org/x/oauth2 sends). The second result is true
// when the client proved a secret.
func (e *Emulator) authenticateClient(r *http.Request, form url.Values) (*Client, bool, *oauthError) {
	basicID, basicSecret, hasBasic := r.BasicAuth()
	if hasBasic {
		// RFC 6749 2.3.1: the id and secret are form-encoded before Basic.
		id, err1 := url.QueryUnescape(basicID)
		secret, err2 := url.QueryUnescape(basicSecret)
		if err1 != nil || err2 != nil {
			return nil, false, invalidClient("Client authentication failed.")
		}
		basicID, basicSecret = id, secret
	} else if strings.TrimSpace(r.Header.Get("Authorization")) != "" {
		return nil, false, invalidClient("Client authentication failed: only the Basic scheme is accepted.")
	}
	postID := form.Get("client_id")
	postSecret, hasPostSecret := form["client_secret"]
	if hasBasic && hasPostSecret {
		return nil, false, badRequest("invalid_request", "The request uses more than one client authentication method.")
	}
	if hasBasic && postID != "" && postID != basicID {
		return nil, false, badRequest("invalid_request", "The client_id parameter does not match the client that authenticated.")
	}
	id, secret := postID, strings.Join(postSecret, "")
	if hasBasic {
		id, secret = basicID, basicSecret
	}
	if id == "" {
		return nil, false, invalidClient("Client authentication is required: send the client id and secret with HTTP Basic, or client_id for a public client.")
	}
	e.mu.Lock()
	c, ok := e.clients[id]
	e.mu.Unlock()
	if !ok {
		return nil, false, invalidClient("Client authentication failed.")
	}
	if c.public() {
		if secret != "" {
			return nil, false, invalidClient("Client authentication failed: the client is public and has no secret.")
		}
		return c, false, nil
	}
	if secret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret)) != 1 {
		return nil, false, invalidClient("Client authentication failed.")
	}
	return c, true, nil
}

// bearerToken reads an RFC 6750 bearer token from the Authorization header
// or, when allowForm, from a form body's access_token. Using both, or
// another scheme, is a bad request.
func bearerToken(w http.ResponseWriter, r *http.Request, allowForm bool) (string, string) {
	var tok string
	if h := strings.TrimSpace(r.Header.Get("Authorization")); h != "" {
		scheme, rest, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return "", "The Authorization header must use the Bearer scheme."
		}
		tok = strings.TrimSpace(rest)
		if tok == "" {
			return "", "The Authorization header has no token."
		}
	}
	if allowForm && r.Method == http.MethodPost {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
			if err := r.ParseForm(); err == nil && r.PostForm.Has("access_token") {
				if tok != "" {
					return "", "The request uses more than one method to send the access token."
				}
				tok = r.PostForm.Get("access_token")
			}
		}
	}
	return tok, ""
}

// bearerChallenge writes the WWW-Authenticate header of RFC 6750 3.
func bearerChallenge(w http.ResponseWriter, code, desc string) {
	v := `Bearer realm="IDCS"`
	if code != "" {
		v += fmt.Sprintf(`, error="%s", error_description="%s"`, code, strings.ReplaceAll(desc, `"`, `'`))
	}
	w.Header().Set("WWW-Authenticate", v)
}
