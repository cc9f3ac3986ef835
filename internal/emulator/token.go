package emulator

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// handleToken is /oauth2/v1/token: the four grants the emulator supports,
// with strict checks and IDCS-style error descriptions.
func (e *Emulator) handleToken(w http.ResponseWriter, r *http.Request) {
	form, oe := readForm(w, r)
	if oe != nil {
		oe.write(w)
		return
	}
	gt := form.Get("grant_type")
	if gt != "" {
		e.countGrant(gt)
	}
	if gt == GrantTokenExchange {
		e.handleTokenExchange(w, r, form)
		return
	}
	resp, oe := e.token(r, form, gt)
	if oe != nil {
		oe.write(w)
		return
	}
	writeTokenAnswer(w, resp)
}

func (e *Emulator) token(r *http.Request, form url.Values, gt string) (tokenResponse, *oauthError) {
	if gt == "" {
		return tokenResponse{}, badRequest("invalid_request", "The grant_type parameter is missing.")
	}
	c, _, oe := e.authenticateClient(r, form)
	if oe != nil {
		return tokenResponse{}, oe
	}
	switch gt {
	case GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials, GrantDeviceCode:
	default:
		return tokenResponse{}, badRequest("unsupported_grant_type", fmt.Sprintf("The grant type %s is not supported.", shorten(gt)))
	}
	if !c.allows(gt) {
		return tokenResponse{}, badRequest("unauthorized_client", fmt.Sprintf("The application is not allowed to use the %s grant type.", gt))
	}
	base := baseURL(r)
	switch gt {
	case GrantAuthorizationCode:
		return e.exchangeCode(base, c, form)
	case GrantRefreshToken:
		return e.refreshGrant(base, c, form)
	case GrantClientCredentials:
		return e.clientCredentials(base, c, form)
	default:
		return e.deviceGrant(base, c, form)
	}
}

// handleTokenExchange is the token exchange grant: a JWT for a UPST.
func (e *Emulator) handleTokenExchange(w http.ResponseWriter, r *http.Request, form url.Values) {
	c, _, oe := e.authenticateClient(r, form)
	if oe == nil && !c.public() && !c.allows(GrantTokenExchange) {
		oe = badRequest("unauthorized_client", fmt.Sprintf("The application is not allowed to use the %s grant type.", GrantTokenExchange))
	}
	var resp upstResponse
	if oe == nil {
		resp, oe = e.tokenExchange(c, form)
	}
	if oe != nil {
		oe.write(w)
		return
	}
	writeTokenAnswer(w, resp)
}

// writeTokenAnswer writes a token endpoint's success answer, which no cache
// may keep (RFC 6749 5.1).
func writeTokenAnswer(w http.ResponseWriter, v any) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, v)
}

func serverError(err error) *oauthError {
	return &oauthError{status: http.StatusInternalServerError, code: "server_error", desc: "The emulator could not issue the tokens: " + err.Error()}
}

// exchangeCode is the authorization_code grant. A code works once: any
// attempt consumes it, and a second attempt also revokes the tokens the
// first one got (RFC 6749 4.1.2).
func (e *Emulator) exchangeCode(base string, c *Client, form url.Values) (tokenResponse, *oauthError) {
	code := form.Get("code")
	if code == "" {
		return tokenResponse{}, badRequest("invalid_request", "The code parameter is missing.")
	}
	e.mu.Lock()
	ac, ok := e.codes[hashToken(code)]
	if !ok {
		e.mu.Unlock()
		return tokenResponse{}, badRequest("invalid_grant", "The authorization code is invalid or has expired.")
	}
	if ac.used {
		if ac.grant != nil {
			ac.grant.revoked = true
		}
		e.mu.Unlock()
		return tokenResponse{}, badRequest("invalid_grant", "The authorization code has already been used; the tokens issued with it are revoked.")
	}
	ac.used = true
	problem := func() *oauthError {
		switch {
		case ac.req.clientID != c.ID:
			return badRequest("invalid_grant", "The authorization code was issued to another application.")
		case !e.now().Before(ac.expires):
			return badRequest("invalid_grant", "The authorization code is invalid or has expired.")
		case form.Get("redirect_uri") != ac.req.redirectURI:
			return badRequest("invalid_grant", "The redirect_uri does not match the one of the authorization request.")
		}
		verifier := form.Get("code_verifier")
		switch {
		case ac.req.challenge == "" && verifier != "":
			return badRequest("invalid_grant", "The authorization request had no code_challenge, so no code_verifier is expected.")
		case ac.req.challenge == "":
			return nil
		case verifier == "":
			return badRequest("invalid_request", "The code_verifier parameter is missing.")
		case !validVerifier(verifier):
			return badRequest("invalid_request", "The code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~.")
		case subtle.ConstantTimeCompare([]byte(s256(verifier)), []byte(ac.req.challenge)) != 1:
			return badRequest("invalid_grant", "The code_verifier does not match the code_challenge.")
		}
		return nil
	}()
	if problem != nil {
		e.mu.Unlock()
		return tokenResponse{}, problem
	}
	g := &grant{
		client:    c,
		user:      ac.user,
		scopes:    ac.req.scopes,
		authTime:  ac.authTime,
		sessionID: randomToken(24),
		gtp:       "azc",
	}
	ac.grant = g
	e.grants = append(e.grants, g)
	e.mu.Unlock()
	nonce := ac.req.nonce
	if nonce != "" && e.wrongNonce.Load() {
		nonce = "not-the-nonce-" + randomToken(8)
	}
	resp, err := e.issue(base, g, g.scopes, nonce, c.allows(GrantRefreshToken))
	if err != nil {
		return tokenResponse{}, serverError(err)
	}
	return resp, nil
}

// refreshGrant is the refresh_token grant. A narrower scope may be asked
// for; with rotation on, the refresh token used stops working.
func (e *Emulator) refreshGrant(base string, c *Client, form url.Values) (tokenResponse, *oauthError) {
	rt := form.Get("refresh_token")
	if rt == "" {
		return tokenResponse{}, badRequest("invalid_request", "The refresh_token parameter is missing.")
	}
	_, rotate := e.settings()
	e.mu.Lock()
	rec, ok := e.refresh[hashToken(rt)]
	var problem *oauthError
	switch {
	case !ok:
		problem = badRequest("invalid_grant", "The refresh token is invalid.")
	case rec.grant.client.ID != c.ID:
		problem = badRequest("invalid_grant", "The refresh token was issued to another application.")
	case rec.grant.revoked:
		problem = badRequest("invalid_grant", "The refresh token has been revoked.")
	case rec.used:
		problem = badRequest("invalid_grant", "The refresh token has already been used and was replaced by a newer one.")
	case !e.now().Before(rec.expires):
		problem = badRequest("invalid_grant", "The refresh token has expired.")
	}
	var scopes []string
	if problem == nil {
		scopes = rec.grant.scopes
		if raw := form.Get("scope"); raw != "" {
			scopes = nil
			for _, s := range strings.Fields(raw) {
				if !slices.Contains(rec.grant.scopes, s) {
					problem = badRequest("invalid_scope", fmt.Sprintf("The scope %s was not granted with the refresh token.", shorten(s)))
					break
				}
				if !slices.Contains(scopes, s) {
					scopes = append(scopes, s)
				}
			}
		}
	}
	if problem == nil && rotate {
		rec.used = true
	}
	e.mu.Unlock()
	if problem != nil {
		return tokenResponse{}, problem
	}
	resp, err := e.issue(base, rec.grant, scopes, "", rotate)
	if err != nil {
		return tokenResponse{}, serverError(err)
	}
	if !rotate {
		resp.RefreshToken = rt
	}
	return resp, nil
}

// clientCredentials is the client_credentials grant: confidential clients
// only, scopes limited to the client's own. IDCS wants the scope parameter.
func (e *Emulator) clientCredentials(base string, c *Client, form url.Values) (tokenResponse, *oauthError) {
	if c.public() {
		return tokenResponse{}, badRequest("unauthorized_client", "A public application cannot use the client_credentials grant type.")
	}
	scopes, oe := e.parseScopes(c, form.Get("scope"), false)
	if oe != nil {
		return tokenResponse{}, oe
	}
	g := &grant{client: c, scopes: scopes, authTime: e.now(), gtp: "cc"}
	e.mu.Lock()
	e.grants = append(e.grants, g)
	e.mu.Unlock()
	resp, err := e.issue(base, g, scopes, "", false)
	if err != nil {
		return tokenResponse{}, serverError(err)
	}
	return resp, nil
}

// deviceGrant is the device_code grant's polling (RFC 8628 3.4 and 3.5).
func (e *Emulator) deviceGrant(base string, c *Client, form url.Values) (tokenResponse, *oauthError) {
	dc := form.Get("device_code")
	if dc == "" {
		return tokenResponse{}, badRequest("invalid_request", "The device_code parameter is missing.")
	}
	now := e.now()
	e.mu.Lock()
	d, ok := e.devices[hashToken(dc)]
	var problem *oauthError
	switch {
	case !ok:
		problem = badRequest("invalid_grant", "The device code is invalid.")
	case d.clientID != c.ID:
		problem = badRequest("invalid_grant", "The device code was issued to another application.")
	case d.consumed:
		problem = badRequest("invalid_grant", "The device code has already been used.")
	case !now.Before(d.expires):
		problem = badRequest("expired_token", "The device code has expired. Start again.")
	case now.Sub(d.lastPoll) < d.interval:
		// RFC 8628 3.5: a client polling too fast waits 5 seconds more
		// from now on.
		d.interval += 5 * time.Second
		d.lastPoll = now
		problem = badRequest("slow_down", "The device is polling too fast; wait longer between requests.")
	default:
		d.lastPoll = now
		switch d.status {
		case devicePending:
			problem = badRequest("authorization_pending", "The user has not yet approved the device.")
		case deviceDenied:
			problem = badRequest("access_denied", deniedDescription)
		default:
			d.consumed = true
		}
	}
	if problem != nil {
		e.mu.Unlock()
		return tokenResponse{}, problem
	}
	g := &grant{
		client:    c,
		user:      d.user,
		scopes:    d.scopes,
		authTime:  d.approvedAt,
		sessionID: randomToken(24),
		gtp:       "dc",
	}
	e.grants = append(e.grants, g)
	e.mu.Unlock()
	resp, err := e.issue(base, g, g.scopes, "", c.allows(GrantRefreshToken))
	if err != nil {
		return tokenResponse{}, serverError(err)
	}
	return resp, nil
}
