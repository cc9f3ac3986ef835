package emulator

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// devicePath is IDCS's verification page, where a user enters a user code.
const devicePath = "/ui/v1/device"

type deviceStatus int

const (
	devicePending deviceStatus = iota
	deviceApproved
	deviceDenied
)

// deviceAuth is one device authorization request (RFC 8628).
type deviceAuth struct {
	clientID   string
	clientName string
	userCode   string // normalised: eight letters, no dash
	scopes     []string
	expires    time.Time
	interval   time.Duration
	lastPoll   time.Time // the issue time until the first poll
	status     deviceStatus
	user       *User
	approvedAt time.Time
	consumed   bool
}

// userCodeAlphabet is RFC 8628 6.1's: consonants only, so no word forms and
// no letter looks like a digit.
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

func newUserCode() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = userCodeAlphabet[int(b[i])%len(userCodeAlphabet)]
	}
	return string(b)
}

// normaliseUserCode accepts what people type: any case, dashes and spaces.
func normaliseUserCode(s string) string {
	s = strings.ToUpper(s)
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		return r
	}, s)
}

func formatUserCode(c string) string {
	if len(c) != 8 {
		return c
	}
	return c[:4] + "-" + c[4:]
}

// handleDeviceAuthorization is /oauth2/v1/device. IDCS does not ask for the
// client secret here; a client that sends credentials must send good ones.
func (e *Emulator) handleDeviceAuthorization(w http.ResponseWriter, r *http.Request) {
	form, oe := readForm(w, r)
	if oe != nil {
		oe.write(w)
		return
	}
	c, oe := e.deviceClient(r, form)
	if oe != nil {
		oe.write(w)
		return
	}
	// Oracle documents response_type=device_code as required ("Generate
	// Device Code and User Code"); RFC 8628 has no such parameter, so only
	// the IDCS shape asks for it.
	switch rt := form.Get("response_type"); {
	case rt == "" && e.issuerFor(baseURL(r)) == DefaultIssuer:
		badRequest("invalid_request", "The response_type parameter is missing; use device_code.").write(w)
		return
	case rt != "" && rt != "device_code":
		badRequest("unsupported_response_type", fmt.Sprintf("The response_type %s is not supported here; use device_code.", shorten(rt))).write(w)
		return
	}
	if !c.allows(GrantDeviceCode) {
		badRequest("unauthorized_client", "The application is not allowed to use the device code grant type.").write(w)
		return
	}
	scopes, oe := e.parseScopes(c, form.Get("scope"), true)
	if oe != nil {
		oe.write(w)
		return
	}
	deviceCode := randomToken(32)
	now := e.now()
	d := &deviceAuth{
		clientID:   c.ID,
		clientName: c.Name,
		scopes:     scopes,
		expires:    now.Add(e.deviceTTL),
		interval:   e.deviceInterval,
		lastPoll:   now,
	}
	e.mu.Lock()
	for {
		d.userCode = newUserCode()
		if old, taken := e.userCodes[d.userCode]; !taken || !now.Before(old.expires) {
			break
		}
	}
	e.userCodes[d.userCode] = d
	e.devices[hashToken(deviceCode)] = d
	e.mu.Unlock()

	verify := baseURL(r) + devicePath
	userCode := formatUserCode(d.userCode)
	// interval is whole seconds; 0 would make clients wait 5 (RFC 8628 3.2).
	interval := int64((e.deviceInterval + time.Second - 1) / time.Second)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code":               deviceCode,
		"user_code":                 userCode,
		"verification_uri":          verify,
		"verification_uri_complete": verify + "?" + url.Values{"user_code": {userCode}}.Encode(),
		"expires_in":                int64(e.deviceTTL / time.Second),
		"interval":                  max(interval, 1),
	})
}

func (e *Emulator) deviceClient(r *http.Request, form url.Values) (*Client, *oauthError) {
	if _, _, basic := r.BasicAuth(); basic || form.Has("client_secret") {
		c, _, oe := e.authenticateClient(r, form)
		return c, oe
	}
	id := form.Get("client_id")
	if id == "" {
		return nil, badRequest("invalid_request", "The client_id parameter is missing.")
	}
	e.mu.Lock()
	c, ok := e.clients[id]
	e.mu.Unlock()
	if !ok {
		return nil, invalidClient("Client authentication failed.")
	}
	return c, nil
}

func (e *Emulator) handleDevicePage(w http.ResponseWriter, r *http.Request) {
	e.render(w, http.StatusOK, "device", page{Title: "Connect a Device", Action: devicePath, UserCode: r.URL.Query().Get("user_code")})
}

// handleDeviceSubmit is the verification form: the user signs in and allows
// or denies the device.
func (e *Emulator) handleDeviceSubmit(w http.ResponseWriter, r *http.Request) {
	form, oe := readForm(w, r)
	if oe != nil {
		e.errorPage(w, http.StatusBadRequest, "Invalid request", oe.desc)
		return
	}
	again := func(status int, msg string) {
		e.render(w, status, "device", page{
			Title: "Connect a Device", Action: devicePath, Error: msg,
			UserCode: form.Get("user_code"), Username: form.Get("username"),
		})
	}
	user := e.checkPassword(form.Get("username"), form.Get("password"))
	if user == nil {
		again(http.StatusUnauthorized, "You entered an incorrect user name or password.")
		return
	}
	approve := form.Get("action") != "deny"
	name, err := e.decideDevice(form.Get("user_code"), user, approve)
	if err != nil {
		again(http.StatusBadRequest, err.Error())
		return
	}
	if !approve {
		e.render(w, http.StatusOK, "message", page{Title: "Access Denied", Message: fmt.Sprintf("You denied access to %s.", name)})
		return
	}
	e.render(w, http.StatusOK, "message", page{Title: "Device Connected", Message: fmt.Sprintf("%s can now act for you. Return to your device.", name)})
}

// userCodeError is the answer for a user code that is unknown, expired or
// already decided; the page shows it to the user.
type userCodeError struct{}

func (userCodeError) Error() string {
	return "The code is invalid or has expired. Check the code your device shows."
}

// decideDevice approves or denies the pending request of a user code and
// returns the application's name.
func (e *Emulator) decideDevice(userCode string, user *User, approve bool) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	d, ok := e.userCodes[normaliseUserCode(userCode)]
	if !ok || d.status != devicePending || !e.now().Before(d.expires) {
		return "", userCodeError{}
	}
	if approve {
		d.status = deviceApproved
		d.user = user
		d.approvedAt = e.now()
	} else {
		d.status = deviceDenied
	}
	return d.clientName, nil
}
