package config

import (
	"fmt"
	"slices"
	"time"
)

// Environment variables idcsctl reads. Flags win over them; they win over
// the config file.
const (
	EnvProfile      = "IDCSCTL_PROFILE"
	EnvConfig       = "IDCSCTL_CONFIG"
	EnvDomain       = "IDCSCTL_DOMAIN"
	EnvClientID     = "IDCSCTL_CLIENT_ID"
	EnvClientSecret = "IDCSCTL_CLIENT_SECRET"
	EnvTokenStore   = "IDCSCTL_TOKEN_STORE"
)

// Overrides are the settings given as flags for one command. An empty
// field means the flag was not given.
type Overrides struct {
	Profile     string
	Domain      string
	ClientID    string
	TokenStore  string
	RedirectURL string
	CAFile      string
	Scopes      []string
	Ports       []int
	// Timeout is the network timeout (--timeout of token); 0: not given.
	Timeout time.Duration
}

// Resolved is the profile one command works with, after precedence.
type Resolved struct {
	Profile
	// InFile says whether the profile exists in the config file, so login
	// knows whether it must save it.
	InFile bool
	// DomainNote says how the domain given was turned into the domain URL
	// (a page's URL cut back to its origin), for the person; "" when it
	// was taken as given.
	DomainNote string
	// ScopesDefaulted says that neither a flag nor the profile named
	// scopes, so Scopes holds DefaultScopes, IDCS's; a provider that is not
	// IDCS gets the standard OpenID scopes it lists instead.
	ScopesDefaulted bool
	// NetworkTimeout bounds each request to the provider and a refresh as
	// a whole: --timeout, else the profile's timeout, else
	// DefaultNetworkTimeout.
	NetworkTimeout time.Duration
}

// ProfileName picks the profile a command works on: flag, then
// IDCSCTL_PROFILE, then the file's default_profile, then "default".
func (f *File) ProfileName(getenv func(string) string, flag string) (string, error) {
	name, _, err := f.ProfileChoice(getenv, flag)
	return name, err
}

// Where the profile in use was named, as ProfileChoice says it.
const (
	FromFlag    = "--profile"
	FromEnv     = EnvProfile
	FromFile    = "default_profile"
	FromBuiltIn = "the built-in default"
)

// ProfileChoice is ProfileName with where the name came from: FromFlag,
// FromEnv, FromFile or FromBuiltIn, so that a list can say why a profile
// other than the default is in use.
func (f *File) ProfileChoice(getenv func(string) string, flag string) (name, from string, err error) {
	switch env := getenv(EnvProfile); {
	case flag != "":
		name, from = flag, FromFlag
	case env != "":
		name, from = env, FromEnv
	case f.DefaultProfile != "":
		name, from = f.DefaultProfile, FromFile
	default:
		name, from = DefaultProfile, FromBuiltIn
	}
	if err := CheckProfileName(name); err != nil {
		return "", "", err
	}
	return name, from, nil
}

// Default is the configured default profile: default_profile, else
// "default".
func (f *File) Default() string {
	return firstNonEmpty(f.DefaultProfile, DefaultProfile)
}

// Resolve merges flags, environment, the file's profile and defaults into
// the settings of one command. It does not check that the result is
// complete: commands that need a domain say so in their own words.
func (f *File) Resolve(getenv func(string) string, o Overrides) (*Resolved, error) {
	name, err := f.ProfileName(getenv, o.Profile)
	if err != nil {
		return nil, err
	}
	r := &Resolved{Profile: Profile{Name: name}}
	if p, ok := f.Profiles[name]; ok {
		r.Profile = *p
		r.Profile.Scopes = slices.Clone(p.Scopes)
		r.Profile.RedirectPorts = slices.Clone(p.RedirectPorts)
		r.Profile.AllowedHosts = slices.Clone(p.AllowedHosts)
		r.Name = name
		r.InFile = true
	}
	r.Domain, r.DomainNote = NormalizeDomain(firstNonEmpty(o.Domain, getenv(EnvDomain), r.Domain))
	saved := r.ClientID
	r.ClientID = firstNonEmpty(o.ClientID, getenv(EnvClientID), r.ClientID)
	if r.ClientID != saved {
		// What the file says of its application says nothing of another.
		r.Confidential = false
	}
	r.TokenStore = firstNonEmpty(o.TokenStore, getenv(EnvTokenStore), r.TokenStore, "auto")
	r.RedirectURL = firstNonEmpty(o.RedirectURL, r.RedirectURL)
	r.CAFile = firstNonEmpty(o.CAFile, r.CAFile)
	switch {
	case len(o.Scopes) > 0:
		r.Scopes = slices.Clone(o.Scopes)
	case len(r.Scopes) == 0:
		r.Scopes = slices.Clone(DefaultScopes)
		r.ScopesDefaulted = true
	}
	switch {
	case len(o.Ports) > 0:
		r.RedirectPorts = slices.Clone(o.Ports)
	case len(r.RedirectPorts) == 0:
		r.RedirectPorts = slices.Clone(DefaultRedirectPorts)
	}
	if err := r.Profile.check(); err != nil {
		return nil, fmt.Errorf("profile %q: %w", name, err)
	}
	r.NetworkTimeout = DefaultNetworkTimeout
	if r.Timeout != "" {
		r.NetworkTimeout, _ = parseTimeout(r.Timeout) // checked above
	}
	if o.Timeout > 0 {
		r.NetworkTimeout = o.Timeout
	}
	return r, nil
}

// Put stores p as a profile of the file, replacing one of the same name,
// and makes it the default when the file has none yet.
func (f *File) Put(p Profile) {
	if f.Profiles == nil {
		f.Profiles = map[string]*Profile{}
	}
	f.Profiles[p.Name] = &p
	if f.DefaultProfile == "" {
		f.DefaultProfile = p.Name
	}
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
