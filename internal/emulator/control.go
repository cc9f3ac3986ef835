package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The emulator-only paths under /emulator/v1/ let black-box tests of the
// built binary turn the knobs over HTTP. IDCS has nothing like them.

func (e *Emulator) handleCounts(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, e.Counts())
}

// knobs is the body of POST /emulator/v1/knobs; every field is optional.
type knobs struct {
	AccessTokenTTLSeconds *int64        `json:"access_token_ttl_seconds"`
	RotateRefreshTokens   *bool         `json:"rotate_refresh_tokens"`
	RevokeAll             bool          `json:"revoke_all"`
	Fail                  *failKnob     `json:"fail"`
	AddRedirectURI        *redirectKnob `json:"add_redirect_uri"`
	AddPostLogoutURI      *redirectKnob `json:"add_post_logout_redirect_uri"`
	// Trusts replaces the Identity Propagation Trusts; [] leaves none.
	Trusts              *[]trustKnob `json:"trusts"`
	UPSTTTLSeconds      *int64       `json:"upst_ttl_seconds"`
	AdvanceClockSeconds int64        `json:"advance_clock_seconds"`
	UPSTWithoutClaims   *bool        `json:"upst_without_claims"`
	// ClientSecret gives a confidential client another secret.
	ClientSecret *clientSecretKnob `json:"client_secret"`
	Discovery    *Discovery        `json:"discovery"`
	// WrongNonce makes ID tokens of the code grant carry another nonce
	// than the sign-in sent, as a replayed answer would.
	WrongNonce *bool `json:"wrong_nonce"`
}

type trustKnob struct {
	Name        string   `json:"name"`
	Issuer      string   `json:"issuer"`
	ClientIDs   []string `json:"client_ids"`
	SubjectType string   `json:"subject_type"`
	Inactive    bool     `json:"inactive"`
}

type failKnob struct {
	Path        string `json:"path"`
	Status      int    `json:"status"`
	Body        string `json:"body"`
	ContentType string `json:"content_type"`
	Times       int    `json:"times"`
	Hang        bool   `json:"hang"`
	DelayMS     int64  `json:"delay_ms"`
}

type clientSecretKnob struct {
	ClientID string `json:"client_id"`
	Secret   string `json:"secret"`
}

type redirectKnob struct {
	ClientID string `json:"client_id"`
	URI      string `json:"uri"`
}

// controlError answers an emulator-only request that cannot be done.
func controlError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// readControlJSON decodes a JSON body strictly: unknown fields are errors,
// so a misspelt knob is not silently ignored.
func readControlJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return errors.New("the body must be JSON (Content-Type: application/json)")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("the body is not valid: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("the body holds more than one JSON value")
	}
	return nil
}

func (e *Emulator) handleKnobs(w http.ResponseWriter, r *http.Request) {
	var k knobs
	if err := readControlJSON(w, r, &k); err != nil {
		controlError(w, http.StatusBadRequest, err.Error())
		return
	}
	// Check everything before changing anything, so a bad request changes
	// nothing.
	if k.AccessTokenTTLSeconds != nil && *k.AccessTokenTTLSeconds <= 0 {
		controlError(w, http.StatusBadRequest, "access_token_ttl_seconds must be positive")
		return
	}
	if f := k.Fail; f != nil {
		if !strings.HasPrefix(f.Path, "/") || strings.HasPrefix(f.Path, emulatorPrefix) {
			controlError(w, http.StatusBadRequest, "fail.path must be an absolute path outside "+emulatorPrefix)
			return
		}
		if f.Status != 0 && (f.Status < 100 || f.Status > 599) || f.Times < 0 || f.DelayMS < 0 {
			controlError(w, http.StatusBadRequest, "fail.status must be an HTTP status, fail.times and fail.delay_ms not negative")
			return
		}
	}
	for _, rk := range []*redirectKnob{k.AddRedirectURI, k.AddPostLogoutURI} {
		if rk == nil {
			continue
		}
		if _, ok := e.client(rk.ClientID); !ok {
			controlError(w, http.StatusNotFound, fmt.Sprintf("unknown client %q", rk.ClientID))
			return
		}
		if err := checkRedirectURI(rk.URI); err != nil {
			controlError(w, http.StatusBadRequest, err.Error())
			return
		}
	}

	if cs := k.ClientSecret; cs != nil {
		c, ok := e.client(cs.ClientID)
		switch {
		case !ok:
			controlError(w, http.StatusNotFound, fmt.Sprintf("unknown client %q", cs.ClientID))
			return
		case c.public() || cs.Secret == "":
			controlError(w, http.StatusBadRequest, "client_secret changes the non-empty secret of a confidential client")
			return
		}
	}

	if d := k.Discovery; d != nil && d.Issuer != "" && d.Issuer != SelfIssuer {
		if u, err := url.Parse(d.Issuer); err != nil || u.Scheme == "" || u.Host == "" {
			controlError(w, http.StatusBadRequest, `discovery.issuer must be an absolute URL or "self"`)
			return
		}
	}

	if k.UPSTTTLSeconds != nil && (*k.UPSTTTLSeconds <= 0 || *k.UPSTTTLSeconds > 3600) {
		controlError(w, http.StatusBadRequest, "upst_ttl_seconds must be 1 to 3600")
		return
	}
	if k.Trusts != nil {
		trusts := make([]Trust, 0, len(*k.Trusts))
		for _, t := range *k.Trusts {
			if t.SubjectType == "" {
				t.SubjectType = "user"
			}
			trusts = append(trusts, Trust{Name: t.Name, Issuer: t.Issuer, ClientIDs: t.ClientIDs, SubjectType: t.SubjectType, Inactive: t.Inactive})
		}
		e.SetTrusts(trusts...)
	}
	if k.UPSTTTLSeconds != nil {
		e.SetUPSTTTL(time.Duration(*k.UPSTTTLSeconds) * time.Second)
	}
	if k.AdvanceClockSeconds != 0 {
		e.AdvanceClock(time.Duration(k.AdvanceClockSeconds) * time.Second)
	}
	if k.UPSTWithoutClaims != nil {
		e.upstNoClaims.Store(*k.UPSTWithoutClaims)
	}
	if cs := k.ClientSecret; cs != nil {
		if err := e.SetClientSecret(cs.ClientID, cs.Secret); err != nil {
			controlError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	if k.Discovery != nil {
		e.SetDiscovery(*k.Discovery)
	}
	if k.WrongNonce != nil {
		e.SetWrongNonce(*k.WrongNonce)
	}
	if k.AccessTokenTTLSeconds != nil {
		e.SetAccessTokenTTL(time.Duration(*k.AccessTokenTTLSeconds) * time.Second)
	}
	if k.RotateRefreshTokens != nil {
		e.SetRotateRefreshTokens(*k.RotateRefreshTokens)
	}
	if k.RevokeAll {
		e.RevokeAll()
	}
	if f := k.Fail; f != nil {
		e.InjectFailure(f.Path, Failure{
			Times: f.Times, Status: f.Status, Body: f.Body, ContentType: f.ContentType,
			Hang: f.Hang, Delay: time.Duration(f.DelayMS) * time.Millisecond,
		})
	}
	if rk := k.AddRedirectURI; rk != nil {
		if err := e.AddRedirectURI(rk.ClientID, rk.URI); err != nil {
			controlError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	if rk := k.AddPostLogoutURI; rk != nil {
		if err := e.AddPostLogoutRedirectURI(rk.ClientID, rk.URI); err != nil {
			controlError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	ttl, rotate := e.settings()
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token_ttl_seconds": int64(ttl / time.Second),
		"rotate_refresh_tokens":    rotate,
	})
}

// handleDeviceApprove approves (or, with "deny": true, denies) a device
// code for a user without a browser. The user defaults to the first one.
func (e *Emulator) handleDeviceApprove(w http.ResponseWriter, r *http.Request) {
	var body struct {
		UserCode string `json:"user_code"`
		Username string `json:"username"`
		Deny     bool   `json:"deny"`
	}
	if err := readControlJSON(w, r, &body); err != nil {
		controlError(w, http.StatusBadRequest, err.Error())
		return
	}
	e.mu.Lock()
	var user *User
	if body.Username == "" {
		user = e.users[0]
	} else {
		user = e.usersByKey[strings.ToLower(body.Username)]
	}
	e.mu.Unlock()
	if user == nil {
		controlError(w, http.StatusNotFound, fmt.Sprintf("unknown user %q", body.Username))
		return
	}
	if _, err := e.decideDevice(body.UserCode, user, !body.Deny); err != nil {
		controlError(w, http.StatusNotFound, "unknown, expired or already decided user_code")
		return
	}
	status := "approved"
	if body.Deny {
		status = "denied"
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": status, "username": user.UserName})
}
