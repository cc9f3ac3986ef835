package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Client talks to one provider as one registered application. Set its
// fields, then use it; it is safe for concurrent use once in use.
type Client struct {
	Metadata     *Metadata
	ClientID     string
	ClientSecret string       // "" = public client; else sent with HTTP Basic, as IDCS expects
	Scopes       []string     // "openid" is added for sign-ins when missing
	HTTP         *http.Client // used for every request: token, JWKS, userinfo, revocation
	Now          func() time.Time
	// Domain is the domain URL the metadata was discovered at, for what an
	// IDCS domain serves without naming it in discovery (the device
	// endpoint, idcs-configuration); "" when unknown.
	Domain string

	idcsOnce sync.Once
	idcs     bool

	// sleep waits between device-code polls; tests replace it with a fake
	// clock so that they never wait in real time.
	sleep func(ctx context.Context, d time.Duration) error

	keysMu  sync.Mutex
	keys    *oidc.RemoteKeySet
	keysURI string
	keysRec *answerRecorder
}

// Result is what a grant returns. IDToken, when set, has been verified, and
// Claims holds its claims.
type Result struct {
	AccessToken  string
	TokenType    string
	RefreshToken string // "" when the provider sent none: keep the previous one
	IDToken      string
	Scope        string // the granted scope, when the provider says
	Expiry       time.Time
	Claims       *Claims // nil when no ID token was returned (client_credentials; refresh without id_token)
}

// Claims are the claims of a verified ID token that idcsctl shows.
type Claims struct {
	Subject           string
	Issuer            string
	Audience          []string
	Expiry            time.Time
	IssuedAt          time.Time
	Nonce             string
	Name              string
	PreferredUsername string
	Email             string
	UserDisplayName   string // IDCS "user_displayname"
	UserID            string // IDCS "user_id"
	Raw               map[string]any
}

// Grant type URNs idcsctl sends.
const deviceCodeGrant = "urn:ietf:params:oauth:grant-type:device_code"

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// authStyle sends a confidential client's secret with HTTP Basic, as IDCS
// expects, and a public client's id in the form, as RFC 6749 requires. It is
// never left to auto-detection, which would send the secret twice on failure.
func (c *Client) authStyle() oauth2.AuthStyle {
	if c.ClientSecret == "" {
		return oauth2.AuthStyleInParams
	}
	return oauth2.AuthStyleInHeader
}

// signInScopes are the scopes of an OpenID Connect sign-in: the configured
// ones, with openid added so that the provider returns an ID token.
func (c *Client) signInScopes() []string {
	scopes := slices.Clone(c.Scopes)
	if !slices.Contains(scopes, "openid") {
		scopes = append(scopes, "openid")
	}
	return scopes
}

func (c *Client) oauth2Config(redirectURL string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		RedirectURL:  redirectURL,
		Scopes:       c.signInScopes(),
		Endpoint: oauth2.Endpoint{
			AuthURL:       c.Metadata.AuthorizationEndpoint,
			TokenURL:      c.Metadata.TokenEndpoint,
			DeviceAuthURL: c.Metadata.DeviceAuthorizationEndpoint,
			AuthStyle:     c.authStyle(),
		},
	}
}

func (c *Client) check() error {
	if c.Metadata == nil {
		return errors.New("auth client has no provider metadata: run discovery first")
	}
	if c.ClientID == "" {
		return errors.New("no client id: set the application's client id in the profile")
	}
	return nil
}

// tokenContext carries the client's HTTP client to x/oauth2, and records the
// last answer's status and media type so a broken answer can be described
// without quoting its body.
func (c *Client) tokenContext(ctx context.Context) (context.Context, *answerRecorder) {
	base := httpClient(c.HTTP)
	rec := &answerRecorder{base: base.Transport, tokenAnswers: true}
	hc := *base
	hc.Transport = rec
	return context.WithValue(ctx, oauth2.HTTPClient, &hc), rec
}

// answerRecorder is a RoundTripper that remembers the status and media type
// of the last response it carried, the secrets of the requests (to redact
// provider text) and why the last answer could not be had whole (a
// deadline, a size cap): x/oauth2 and go-oidc flatten those errors to text.
type answerRecorder struct {
	base http.RoundTripper

	mu      sync.Mutex
	status  int
	media   string
	secrets []string // of every request carried, to redact provider text
	cut     error    // the last request's *DeadlineError or *TooLargeError, if any

	// tokenAnswers makes the recorder rewrite expires_in in JSON answers so
	// that x/oauth2 can read them (see normalizeTokenJSON).
	tokenAnswers bool
}

// normalize reads a JSON token answer (at most maxBody and a byte, as
// x/oauth2 would) and hands on the same answer with expires_in rewritten.
// A read that fails hands on what was read, then the failure.
func (r *answerRecorder) normalize(resp *http.Response) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
		return
	}
	resp.Body.Close()
	body = normalizeTokenJSON(body)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Del("Content-Length")
}

func (r *answerRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	base := r.base
	if base == nil {
		base = http.DefaultTransport
	}
	secrets := requestSecrets(req)
	r.mu.Lock()
	r.secrets = append(r.secrets, secrets...)
	r.cut = nil
	r.mu.Unlock()
	resp, err := base.RoundTrip(req)
	if err != nil {
		r.noteCut(err)
		return nil, err
	}
	r.mu.Lock()
	r.status, r.media = resp.StatusCode, contentType(resp)
	r.mu.Unlock()
	resp.Body = &recordedBody{ReadCloser: resp.Body, rec: r}
	if r.tokenAnswers && resp.StatusCode/100 == 2 && isJSON(contentType(resp)) {
		r.normalize(resp)
	}
	return resp, nil
}

// noteCut keeps err when it says the answer was cut short.
func (r *answerRecorder) noteCut(err error) {
	if isCut(err) {
		r.mu.Lock()
		r.cut = err
		r.mu.Unlock()
	}
}

// lastCut is why the last answer could not be read whole, or nil.
func (r *answerRecorder) lastCut() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cut
}

// recordedBody tells its recorder why a read failed.
type recordedBody struct {
	io.ReadCloser
	rec *answerRecorder
}

func (b *recordedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.rec.noteCut(err)
	}
	return n, err
}

func (r *answerRecorder) last() (int, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status, r.media
}

// tokenError turns what x/oauth2 returns into an error that names the
// provider's error code, or describes a broken answer, and never quotes the
// response body: a token endpoint's body may hold secrets.
func tokenError(ctx context.Context, endpoint string, err error, rec *answerRecorder) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("the %s endpoint did not finish answering in time: %w", endpoint, context.Cause(ctx))
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s request interrupted: %w", endpoint, context.Cause(ctx))
	}
	if cut := rec.lastCut(); cut != nil {
		return fmt.Errorf("the %s endpoint: %w", endpoint, cut)
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status, media := 0, "no content type"
		if re.Response != nil {
			status, media = re.Response.StatusCode, contentType(re.Response)
		}
		if re.ErrorCode != "" {
			rec.mu.Lock()
			defer rec.mu.Unlock()
			return RedactError(&ProviderError{Code: re.ErrorCode, Description: re.ErrorDescription, URI: re.ErrorURI, Status: status, Endpoint: endpoint}, rec.secrets...)
		}
		if !isJSON(media) {
			return badBody(endpoint, status, media)
		}
		return fmt.Errorf("the %s endpoint answered %d without an OAuth error code", endpoint, status)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s request failed: %w", endpoint, err)
	}
	// x/oauth2 could not read a 2xx answer: its message may quote the body,
	// so it is replaced rather than wrapped.
	status, media := rec.last()
	if strings.Contains(err.Error(), "missing access_token") {
		return fmt.Errorf("the %s endpoint answered %d without an access token", endpoint, status)
	}
	return badBody(endpoint, status, media)
}

// result builds a Result from a token response and verifies its ID token.
// An answer without an ID token gives Claims == nil; requireID makes that an
// error, for sign-ins that asked for openid.
func (c *Client) result(ctx context.Context, tok *oauth2.Token, nonce string, requireID bool) (*Result, error) {
	res := &Result{
		AccessToken: tok.AccessToken,
		TokenType:   tok.TokenType,
		Scope:       extraString(tok, "scope"),
	}
	// x/oauth2 copies the old refresh token into a refresh answer that
	// lacks one; only a token the provider sent counts here.
	res.RefreshToken = extraString(tok, "refresh_token")
	res.Expiry = c.expiry(tok)
	raw := extraString(tok, "id_token")
	if raw == "" {
		if requireID {
			return nil, &VerifyError{Reason: ReasonMissing, Err: errors.New("the provider returned no ID token although openid was requested")}
		}
		return res, nil
	}
	claims, err := c.verify(ctx, raw, nonce, tok.AccessToken)
	if err != nil {
		return nil, err
	}
	res.IDToken, res.Claims = raw, claims
	return res, nil
}

func extraString(tok *oauth2.Token, key string) string {
	s, _ := tok.Extra(key).(string)
	return s
}

// Refresh trades a refresh token for new tokens. The Result's RefreshToken is
// empty when the provider did not rotate it: keep the old one then. A new ID
// token is verified (signature, iss, aud, exp; no nonce). An expired or
// revoked refresh token gives an error for which IsInvalidGrant is true.
func (c *Client) Refresh(ctx context.Context, refreshToken string) (*Result, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if refreshToken == "" {
		return nil, errors.New("no refresh token: sign in again")
	}
	tctx, rec := c.tokenContext(ctx)
	src := c.oauth2Config("").TokenSource(tctx, &oauth2.Token{RefreshToken: refreshToken})
	tok, err := src.Token()
	if err != nil {
		return nil, tokenError(ctx, "token", err, rec)
	}
	return c.result(ctx, tok, "", false)
}

// RefreshScoped trades a refresh token for an access token with a narrower
// set of the scopes it was granted (RFC 6749 section 6: the scope parameter
// of the refresh grant). x/oauth2's refresh sends no scope, so the request
// goes through its clientcredentials package with the grant type
// overridden, as pollDevice does, keeping the same error handling.
func (c *Client) RefreshScoped(ctx context.Context, refreshToken string, scopes []string) (*Result, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if refreshToken == "" {
		return nil, errors.New("no refresh token: sign in again")
	}
	conf := &clientcredentials.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		TokenURL:     c.Metadata.TokenEndpoint,
		Scopes:       scopes,
		EndpointParams: url.Values{
			"grant_type":    {"refresh_token"},
			"refresh_token": {refreshToken},
		},
		AuthStyle: c.authStyle(),
	}
	tctx, rec := c.tokenContext(ctx)
	tok, err := conf.Token(tctx)
	if err != nil {
		return nil, tokenError(ctx, "token", err, rec)
	}
	return c.result(ctx, tok, "", false)
}

// ClientCredentials gets a token for the application itself (no person),
// with the configured scopes as they are, or with scopes when given (to
// renew a token with the scopes it was first issued for). It needs a client
// secret.
func (c *Client) ClientCredentials(ctx context.Context, scopes ...string) (*Result, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if c.ClientSecret == "" {
		return nil, errors.New("the client credentials grant needs a client secret: set it for the profile")
	}
	if len(scopes) == 0 {
		scopes = c.Scopes
	}
	conf := &clientcredentials.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		TokenURL:     c.Metadata.TokenEndpoint,
		Scopes:       scopes,
		AuthStyle:    oauth2.AuthStyleInHeader,
	}
	tctx, rec := c.tokenContext(ctx)
	tok, err := conf.Token(tctx)
	if err != nil {
		return nil, tokenError(ctx, "token", err, rec)
	}
	return c.result(ctx, tok, "", false)
}
