// Package emulator is a local stand-in for an Oracle Identity Cloud Service
// (IDCS / OCI IAM identity domain) tenant, for tests and for `idcsctl demo`.
//
// It serves IDCS's own paths and response shapes (discovery with the issuer
// mismatch IDCS really has, the authorization code flow with a sign-in page,
// the token, userinfo, introspection, revocation, logout, device and SCIM
// endpoints), signs real RS256 JWTs with IDCS's claims, and is strict: it
// rejects what IDCS rejects (unregistered redirect URIs, "plain" PKCE, reused
// codes, wrong verifiers, rotated refresh tokens...). Knobs let tests change
// token lifetimes, rotate refresh tokens, revoke everything and inject
// failures, in process or over HTTP under /emulator/v1/.
//
// docs/emulator.md describes what it serves and where it differs from IDCS.
package emulator

import (
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Grant types a Client may list in GrantTypes.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
	GrantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
)

// Scopes with a meaning in IDCS beyond OpenID Connect's own.
const (
	// ScopeUserMe lets a user's access token read /admin/v1/Me.
	ScopeUserMe = "urn:opc:idm:t.user.me"
	// ScopeMyScopes grants the scopes of the app roles the application holds;
	// the emulator lets such a token read /admin/v1/Me and /admin/v1/Users.
	ScopeMyScopes = "urn:opc:idm:__myscopes__"
)

// DefaultIssuer is the issuer every IDCS tenant puts in its tokens and its
// discovery document, although the document is served from the domain URL.
const DefaultIssuer = "https://identity.oraclecloud.com/"

// The demo data: one person and two applications, the defaults of Options.
const (
	DemoUserID          = "4c8f0d3a9b6e4f21a7d5c2e19f3b8a60"
	DemoUserName        = "demo.user@example.com"
	DemoUserPassword    = "Demo-Passw0rd!"
	DemoUserDisplayName = "Demo User"

	DemoPublicClientID           = "idcsctl-demo"
	DemoConfidentialClientID     = "idcsctl-demo-confidential"
	DemoConfidentialClientSecret = "idcsctl-demo-secret-6f1c2b9e7d4a"
)

// DemoUser is the person who can sign in to an emulator built with the
// default Options. New copies it, so changing this variable after New has no
// effect on a running emulator.
var DemoUser = User{
	ID:          DemoUserID,
	UserName:    DemoUserName,
	Password:    DemoUserPassword,
	DisplayName: DemoUserDisplayName,
	GivenName:   "Demo",
	FamilyName:  "User",
	Email:       "demo.user@example.com",
	Groups:      []string{"IDCSAppUsers", "idcsctl-demo-operators"},
}

// DemoPublicClient is the default public application (an IDCS "mobile
// application"): no secret, so PKCE is required. It has no redirect URIs;
// register the ones a test or the demo uses with AddRedirectURI.
var DemoPublicClient = Client{
	ID:         DemoPublicClientID,
	Name:       "idcsctl demo",
	GrantTypes: []string{GrantAuthorizationCode, GrantRefreshToken, GrantDeviceCode},
}

// DemoConfidentialClient is the default confidential application, with the
// secret DemoConfidentialClientSecret.
var DemoConfidentialClient = Client{
	ID:         DemoConfidentialClientID,
	Secret:     DemoConfidentialClientSecret,
	Name:       "idcsctl demo (confidential)",
	GrantTypes: []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials, GrantDeviceCode, GrantTokenExchange},
	Scopes:     []string{ScopeMyScopes},
}

// ErrUnknownClient is returned by the knobs that name a client the emulator
// does not have.
var ErrUnknownClient = errors.New("emulator: unknown client")

// User is a person who can sign in. A user without a password is listed by
// /admin/v1/Users but cannot sign in.
type User struct {
	ID, UserName, Password, DisplayName, GivenName, FamilyName, Email string
	Groups                                                            []string
}

// Client is a registered application. An empty Secret means a public client
// (IDCS "mobile application"): PKCE is required.
type Client struct {
	ID, Secret, Name string
	// RedirectURIs are matched exactly, port included, as IDCS does.
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	// GrantTypes lists the grants the application may use; any other grant
	// is refused with unauthorized_client. A refresh token is issued with
	// every user grant exactly when refresh_token is listed, as IDCS does.
	GrantTypes []string
	// Scopes are the scopes the client may get with client_credentials;
	// users may also be granted them besides the OpenID and IDCS scopes.
	Scopes []string
}

func (c *Client) public() bool { return c.Secret == "" }

func (c *Client) allows(grant string) bool { return slices.Contains(c.GrantTypes, grant) }

// Options configures an Emulator. Zero values get sensible defaults.
type Options struct {
	// Issuer is the iss of every token and of discovery; default
	// DefaultIssuer (IDCS's real issuer, not the domain URL).
	Issuer string
	// Users default to DemoUser.
	Users []User
	// Clients default to DemoPublicClient and DemoConfidentialClient.
	Clients []Client
	// AccessTokenTTL defaults to 3600s, IDCS's default.
	AccessTokenTTL time.Duration
	// RefreshTokenTTL defaults to 7 days.
	RefreshTokenTTL time.Duration
	// CodeTTL defaults to 5 minutes.
	CodeTTL time.Duration
	// RotateRefreshTokens makes a refresh return a new refresh token and
	// invalidate the one it used.
	RotateRefreshTokens bool
	// DeviceCodeTTL defaults to 10 minutes, DeviceInterval to 5s.
	DeviceCodeTTL  time.Duration
	DeviceInterval time.Duration
	// Now defaults to time.Now; tests pass a fake clock.
	Now func() time.Time
	// Trusts are the domain's Identity Propagation Trusts, which the token
	// exchange grant needs; nil means DemoTrust alone. SetTrusts changes
	// them while serving.
	Trusts []Trust
	// Discovery gives the discovery documents another provider's shape;
	// the zero value is IDCS's (see SetDiscovery).
	Discovery Discovery
	// Signer signs tokens with RS256; it must hold an RSA key of 2048 bits
	// or more. Default: a fresh RSA 2048 key (tests may share a key to save
	// time).
	Signer crypto.Signer
}

// Failure is an answer InjectFailure makes the emulator give instead of the
// real one.
type Failure struct {
	// Times is how many requests get this answer; 0 means one.
	Times int
	// Status defaults to 500.
	Status int
	Body   string
	// ContentType defaults to application/json when Body looks like JSON,
	// else text/plain.
	ContentType string
	// Delay makes the answer wait; a request cancelled meanwhile gets none.
	Delay time.Duration
	// Hang never answers: the handler returns when the request's context
	// ends (the client gave up or the server closed).
	Hang bool
}

// Emulator is an IDCS tenant in memory. It is an http.Handler, safe for
// concurrent use; it learns its own URL from each request's Host.
type Emulator struct {
	issuer         string
	now            func() time.Time
	refreshTTL     time.Duration
	codeTTL        time.Duration
	deviceTTL      time.Duration
	deviceInterval time.Duration
	keys           *signingKey
	pages          *template.Template
	mux            *http.ServeMux

	mu         sync.Mutex
	accessTTL  time.Duration
	rotate     bool
	users      []*User          // in listing order: configured, then synthetic
	usersByKey map[string]*User // lower-cased user name -> user
	clients    map[string]*Client
	pending    map[string]*authRequest // sign-in page request id -> request
	codes      map[string]*authCode    // hash of code -> code
	grants     []*grant
	refresh    map[string]*refreshRecord  // hash of refresh token -> record
	access     map[string]*accessRecord   // hash of access token -> record
	devices    map[string]*deviceAuth     // hash of device code -> request
	userCodes  map[string]*deviceAuth     // normalised user code -> request
	sessions   map[string]*browserSession // hash of session cookie -> signed-in browser
	counts     map[string]int
	failures   map[string]*Failure
	trusts     []Trust
	upstTTL    time.Duration
	upsts      map[string]*upstRecord // hash of UPST -> session

	clockOffset  atomic.Int64 // nanoseconds added to the clock; see AdvanceClock
	upstNoClaims atomic.Bool  // issue UPSTs without claims, for tests
	discovery    Discovery
	wrongNonce   atomic.Bool // see SetWrongNonce
}

// syntheticUsers is how many extra users /admin/v1/Users lists, so that SCIM
// paging has pages.
const syntheticUsers = 25

// New builds an emulator from opts, or says which option is wrong.
func New(opts Options) (*Emulator, error) {
	e := &Emulator{
		issuer:         opts.Issuer,
		now:            opts.Now,
		accessTTL:      opts.AccessTokenTTL,
		refreshTTL:     opts.RefreshTokenTTL,
		codeTTL:        opts.CodeTTL,
		deviceTTL:      opts.DeviceCodeTTL,
		deviceInterval: opts.DeviceInterval,
		rotate:         opts.RotateRefreshTokens,
		usersByKey:     map[string]*User{},
		clients:        map[string]*Client{},
		pending:        map[string]*authRequest{},
		codes:          map[string]*authCode{},
		refresh:        map[string]*refreshRecord{},
		access:         map[string]*accessRecord{},
		devices:        map[string]*deviceAuth{},
		userCodes:      map[string]*deviceAuth{},
		sessions:       map[string]*browserSession{},
		counts:         map[string]int{},
		failures:       map[string]*Failure{},
		upsts:          map[string]*upstRecord{},
		upstTTL:        maxUPSTTTL,
		trusts:         slices.Clone(opts.Trusts),
	}
	if opts.Trusts == nil {
		e.trusts = []Trust{DemoTrust}
	}
	e.SetDiscovery(opts.Discovery)
	if e.issuer == "" {
		e.issuer = DefaultIssuer
	}
	if u, err := url.Parse(e.issuer); err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("emulator: issuer %q is not an absolute URL", e.issuer)
	}
	if e.now == nil {
		e.now = time.Now
	}
	clock := e.now
	e.now = func() time.Time { return clock().Add(time.Duration(e.clockOffset.Load())) }
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"AccessTokenTTL", &e.accessTTL, time.Hour},
		{"RefreshTokenTTL", &e.refreshTTL, 7 * 24 * time.Hour},
		{"CodeTTL", &e.codeTTL, 5 * time.Minute},
		{"DeviceCodeTTL", &e.deviceTTL, 10 * time.Minute},
		{"DeviceInterval", &e.deviceInterval, 5 * time.Second},
	} {
		if *d.v < 0 {
			return nil, fmt.Errorf("emulator: %s is negative (%s); use 0 for the default", d.name, *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}

	users := opts.Users
	if len(users) == 0 {
		users = []User{DemoUser}
	}
	for i := range users {
		if err := e.addUser(users[i]); err != nil {
			return nil, err
		}
	}
	for i := 1; i <= syntheticUsers; i++ {
		name := fmt.Sprintf("synthetic.user%02d@example.com", i)
		if _, taken := e.usersByKey[strings.ToLower(name)]; taken {
			continue
		}
		if err := e.addUser(User{
			UserName:    name,
			DisplayName: fmt.Sprintf("Synthetic User %02d", i),
			GivenName:   "Synthetic",
			FamilyName:  fmt.Sprintf("User %02d", i),
			Email:       name,
			Groups:      []string{"IDCSAppUsers"},
		}); err != nil {
			return nil, err
		}
	}

	clients := opts.Clients
	if len(clients) == 0 {
		clients = []Client{DemoPublicClient, DemoConfidentialClient}
	}
	for _, c := range clients {
		if err := e.addClient(c); err != nil {
			return nil, err
		}
	}

	keys, err := newSigningKey(opts.Signer, e.now())
	if err != nil {
		return nil, err
	}
	e.keys = keys
	if e.pages, err = parsePages(); err != nil {
		return nil, fmt.Errorf("emulator: parse pages: %w", err)
	}
	e.mux = e.routes()
	return e, nil
}

func (e *Emulator) addUser(u User) error {
	if u.UserName == "" {
		return errors.New("emulator: a user has an empty UserName")
	}
	key := strings.ToLower(u.UserName)
	if _, dup := e.usersByKey[key]; dup {
		return fmt.Errorf("emulator: user name %q is used twice", u.UserName)
	}
	if u.ID == "" {
		u.ID = stableID("user", u.UserName)
	}
	for _, other := range e.users {
		if other.ID == u.ID {
			return fmt.Errorf("emulator: user id %q is used twice", u.ID)
		}
	}
	if u.DisplayName == "" {
		u.DisplayName = strings.TrimSpace(u.GivenName + " " + u.FamilyName)
	}
	if u.DisplayName == "" {
		u.DisplayName = u.UserName
	}
	u.Groups = slices.Clone(u.Groups)
	e.users = append(e.users, &u)
	e.usersByKey[key] = &u
	return nil
}

func (e *Emulator) addClient(c Client) error {
	if c.ID == "" {
		return errors.New("emulator: a client has an empty ID")
	}
	if _, dup := e.clients[c.ID]; dup {
		return fmt.Errorf("emulator: client id %q is used twice", c.ID)
	}
	if c.Name == "" {
		c.Name = c.ID
	}
	if c.public() && c.allows(GrantClientCredentials) {
		return fmt.Errorf("emulator: client %q is public (no secret) and cannot use client_credentials", c.ID)
	}
	for _, g := range c.GrantTypes {
		if !slices.Contains([]string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials, GrantDeviceCode, GrantTokenExchange}, g) {
			return fmt.Errorf("emulator: client %q lists grant type %q, which the emulator does not support", c.ID, g)
		}
	}
	for _, list := range [][]string{c.RedirectURIs, c.PostLogoutRedirectURIs} {
		for _, uri := range list {
			if err := checkRedirectURI(uri); err != nil {
				return fmt.Errorf("emulator: client %q: %w", c.ID, err)
			}
		}
	}
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.PostLogoutRedirectURIs = slices.Clone(c.PostLogoutRedirectURIs)
	c.GrantTypes = slices.Clone(c.GrantTypes)
	c.Scopes = slices.Clone(c.Scopes)
	e.clients[c.ID] = &c
	return nil
}

// checkRedirectURI accepts what IDCS lets an administrator register: an
// absolute URI without a fragment (RFC 6749 3.1.2).
func checkRedirectURI(uri string) error {
	u, err := url.Parse(uri)
	if err != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(uri, "#") {
		return fmt.Errorf("redirect URI %q must be an absolute URI without a fragment", uri)
	}
	return nil
}

// stableID makes an IDCS-looking 32-hex-digit id that stays the same from
// run to run, so tests and documentation can rely on it.
func stableID(kind, name string) string {
	sum := sha256.Sum256([]byte(kind + ":" + name))
	return hex.EncodeToString(sum[:16])
}

// ServeHTTP answers one request as IDCS would, after counting it and
// applying any injected failure for its path.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, emulatorPrefix) {
		if f, ok := e.countAndTakeFailure(r.URL.Path); ok {
			serveFailure(w, r, f)
			return
		}
	}
	e.mux.ServeHTTP(w, r)
}

const emulatorPrefix = "/emulator/v1/"

func (e *Emulator) routes() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /.well-known/openid-configuration", e.handleOpenIDConfiguration)
	m.HandleFunc("GET /.well-known/idcs-configuration", e.handleIDCSConfiguration)
	m.HandleFunc("GET /.well-known/oauth-authorization-server", e.handleOAuthServerMetadata)
	m.HandleFunc("GET /oauth2/v1/authorize", e.handleAuthorize)
	m.HandleFunc("POST /oauth2/v1/authorize", e.handleAuthorizePost)
	m.HandleFunc("POST "+loginPath, e.handleLogin)
	m.HandleFunc("POST /oauth2/v1/token", e.handleToken)
	m.HandleFunc("GET /oauth2/v1/userinfo", e.handleUserinfo)
	m.HandleFunc("POST /oauth2/v1/userinfo", e.handleUserinfo)
	m.HandleFunc("POST /oauth2/v1/introspect", e.handleIntrospect)
	m.HandleFunc("POST /oauth2/v1/revoke", e.handleRevoke)
	m.HandleFunc("GET /oauth2/v1/userlogout", e.handleUserLogout)
	m.HandleFunc("GET /admin/v1/SigningCert/jwk", e.handleJWKS)
	m.HandleFunc("GET /admin/v1/Me", e.handleMe)
	m.HandleFunc("GET /admin/v1/Users", e.handleUsers)
	m.HandleFunc("GET /admin/v1/Users/{id}", e.handleUser)
	m.HandleFunc("POST /oauth2/v1/device", e.handleDeviceAuthorization)
	m.HandleFunc("GET "+devicePath, e.handleDevicePage)
	m.HandleFunc("POST "+devicePath, e.handleDeviceSubmit)
	e.ociRoutes(m)
	m.HandleFunc("GET "+emulatorPrefix+"counts", e.handleCounts)
	m.HandleFunc("POST "+emulatorPrefix+"knobs", e.handleKnobs)
	m.HandleFunc("POST "+emulatorPrefix+"device/approve", e.handleDeviceApprove)
	return m
}

func (e *Emulator) countAndTakeFailure(path string) (Failure, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.counts[path]++
	f, ok := e.failures[path]
	if !ok {
		return Failure{}, false
	}
	f.Times--
	if f.Times <= 0 {
		delete(e.failures, path)
	}
	return *f, true
}

func (e *Emulator) countGrant(grantType string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.counts["token:"+grantType]++
}

func serveFailure(w http.ResponseWriter, r *http.Request, f Failure) {
	if f.Hang {
		<-r.Context().Done()
		return
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
		}
	}
	ct := f.ContentType
	if ct == "" {
		ct = "text/plain; charset=utf-8"
		if strings.HasPrefix(strings.TrimSpace(f.Body), "{") {
			ct = "application/json"
		}
	}
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(f.Body))
}

// Counts returns how many requests each path got (e.g. "/oauth2/v1/token")
// and how many token requests each grant type got (e.g.
// "token:refresh_token"). Paths under /emulator/v1/ are not counted.
func (e *Emulator) Counts() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]int, len(e.counts))
	for k, v := range e.counts {
		out[k] = v
	}
	return out
}

// SetAccessTokenTTL changes the lifetime of access and ID tokens issued from
// now on; d <= 0 restores the default of one hour.
func (e *Emulator) SetAccessTokenTTL(d time.Duration) {
	if d <= 0 {
		d = time.Hour
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.accessTTL = d
}

// SetRotateRefreshTokens turns refresh token rotation on or off: with it on,
// a refresh returns a new refresh token and the one used stops working.
func (e *Emulator) SetRotateRefreshTokens(on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rotate = on
}

// SetWrongNonce makes the ID tokens of the authorization code grant carry
// another nonce than the one the sign-in sent (knob "wrong_nonce"), as an
// answer replayed from another sign-in would: a client that checks the
// nonce refuses them.
func (e *Emulator) SetWrongNonce(on bool) { e.wrongNonce.Store(on) }

// AddRedirectURI registers one more redirect URI for a client, as an
// administrator would in the IDCS console; the demo registers the loopback
// ports it listens on. It wraps ErrUnknownClient for an unknown client.
func (e *Emulator) AddRedirectURI(clientID, uri string) error {
	return e.addURI(clientID, uri, false)
}

// SetClientSecret gives a confidential client another secret, such as one
// with the characters HTTP Basic's form-encoding changes. It wraps
// ErrUnknownClient for an unknown client.
func (e *Emulator) SetClientSecret(clientID, secret string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.clients[clientID]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownClient, clientID)
	}
	if c.public() || secret == "" {
		return fmt.Errorf("emulator: client %q is public, or the secret is empty", clientID)
	}
	c.Secret = secret
	return nil
}

// AddPostLogoutRedirectURI registers one more post-logout redirect URI for a
// client. It wraps ErrUnknownClient for an unknown client.
func (e *Emulator) AddPostLogoutRedirectURI(clientID, uri string) error {
	return e.addURI(clientID, uri, true)
}

func (e *Emulator) addURI(clientID, uri string, postLogout bool) error {
	if err := checkRedirectURI(uri); err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.clients[clientID]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownClient, clientID)
	}
	list := &c.RedirectURIs
	if postLogout {
		list = &c.PostLogoutRedirectURIs
	}
	if !slices.Contains(*list, uri) {
		*list = append(*list, uri)
	}
	return nil
}

// InjectFailure makes the next f.Times requests to path (e.g.
// "/oauth2/v1/token") get f's answer instead of the real one. It replaces
// any failure still pending for path. Paths under /emulator/v1/ never fail.
func (e *Emulator) InjectFailure(path string, f Failure) {
	if f.Times <= 0 {
		f.Times = 1
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failures[path] = &f
}

// RevokeAll revokes every grant that has refresh tokens, with the refresh
// and access tokens issued from it, as an administrator signing every user
// out would. Client credentials tokens stay valid.
func (e *Emulator) RevokeAll() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, g := range e.grants {
		if g.user != nil {
			g.revoked = true
		}
	}
}

// settings returns the knobs that may change while serving.
func (e *Emulator) settings() (accessTTL time.Duration, rotate bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.accessTTL, e.rotate
}

// client returns a copy of a client, so a handler can read it without the
// lock while a knob adds redirect URIs.
func (e *Emulator) client(id string) (Client, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.clients[id]
	if !ok {
		return Client{}, false
	}
	cp := *c
	cp.RedirectURIs = slices.Clone(c.RedirectURIs)
	cp.PostLogoutRedirectURIs = slices.Clone(c.PostLogoutRedirectURIs)
	return cp, true
}

// baseURL is the emulator's own URL as the request reached it.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
