package oci

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// The files of one session, as `oci session authenticate` names them, in
// <config folder>/sessions/<name>/.
const (
	TokenFile      = "token"
	PrivateKeyFile = "oci_api_key.pem"
	PublicKeyFile  = "oci_api_key_public.pem"
)

// DefaultMargin is how long before its expiry a UPST is exchanged anew, so
// a token handed to the oci CLI does not die during its command.
const DefaultMargin = 5 * time.Minute

// ErrNotOurs means a section or session folder of that name exists and
// idcsctl did not create it: it is the person's, and is never overwritten.
var ErrNotOurs = errors.New("not created by idcsctl")

// DefaultConfigPath is ~/.oci/config.
func DefaultConfigPath() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find the home folder for ~/.oci/config: %w (pass --oci-config)", err)
	}
	return filepath.Join(home, ".oci", "config"), nil
}

// CheckName reports whether name can name a session: a config section and
// a folder. DEFAULT is refused: the oci CLI reads its keys as defaults of
// every other section.
func CheckName(name string) error {
	if name == "DEFAULT" {
		return errors.New("the session name DEFAULT is refused: the oci CLI reads the [DEFAULT] section as defaults for every other profile")
	}
	if name == "" || len(name) > 64 || name[0] == '.' || name[0] == '-' {
		return fmt.Errorf("session name %q is not valid: use up to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("session name %q is not valid: use up to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", name)
		}
	}
	return nil
}

// CheckRegion reports whether region looks like an OCI region identifier
// (us-ashburn-1), so nothing else reaches the config file.
func CheckRegion(region string) error {
	ok := region != "" && len(region) <= 64 && region[0] != '-' && region[len(region)-1] != '-'
	for _, r := range region {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("region %q is not an OCI region identifier such as us-ashburn-1", region)
	}
	return nil
}

// Paths are where one session's files live.
type Paths struct {
	Config, Dir, Token, PrivateKey, PublicKey string
}

// PathsFor places session name beside the config file, as the oci CLI does.
func PathsFor(configPath, name string) Paths {
	dir := filepath.Join(filepath.Dir(configPath), "sessions", name)
	return Paths{
		Config:     configPath,
		Dir:        dir,
		Token:      filepath.Join(dir, TokenFile),
		PrivateKey: filepath.Join(dir, PrivateKeyFile),
		PublicKey:  filepath.Join(dir, PublicKeyFile),
	}
}

// Record is what idcsctl remembers of a session it created, so that it
// refreshes only its own sessions and logout removes exactly them.
type Record struct {
	Name       string `json:"name"`
	ConfigPath string `json:"config_path"`
	Region     string `json:"region"`
	// What did not exist before idcsctl wrote the session, so that Remove
	// gives back exactly what was there: a config without its final line
	// ending, no config file, no config folder, no sessions folder.
	AddedFinalNewline  bool `json:"added_final_newline,omitempty"`
	CreatedConfig      bool `json:"created_config,omitempty"`
	CreatedConfigDir   bool `json:"created_config_dir,omitempty"`
	CreatedSessionsDir bool `json:"created_sessions_dir,omitempty"`
}

// Created reports whether idcsctl made the config, its folder or the
// sessions folder for this session: Remove takes them away when nothing
// else is left in them, so a profile's sessions are best removed with
// these last.
func (r Record) Created() bool {
	return r.CreatedConfig || r.CreatedConfigDir || r.CreatedSessionsDir
}

// RemovalOrder lists the sessions in the order to Remove them: those for
// which idcsctl made the config or a folder last, so that by then nothing
// else is left in them and they go too.
func (r *Records) RemovalOrder() []Record {
	out := slices.Clone(r.Sessions)
	slices.SortStableFunc(out, func(a, b Record) int {
		switch {
		case a.Created() == b.Created():
			return 0
		case a.Created():
			return 1
		}
		return -1
	})
	return out
}

// record returns the profile's record of session name of configPath.
func (r *Records) record(name, configPath string) (Record, bool) {
	i := slices.IndexFunc(r.Sessions, func(s Record) bool { return s.Name == name && s.ConfigPath == configPath })
	if i < 0 {
		return Record{}, false
	}
	return r.Sessions[i], true
}

// Records are the sessions one idcsctl profile created, kept in a JSON
// file in idcsctl's state folder.
type Records struct {
	Path     string   `json:"-"`
	Sessions []Record `json:"sessions"`
}

// LoadRecords reads the records at path; a missing file has none.
func LoadRecords(path string) (*Records, error) {
	r := &Records{Path: path}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the OCI session records: %w", err)
	}
	if err := json.Unmarshal(data, r); err != nil {
		return nil, fmt.Errorf("read the OCI session records %s: %w (delete the file to forget them)", path, err)
	}
	return r, nil
}

// Has reports whether the records hold session name of configPath.
func (r *Records) Has(name, configPath string) bool {
	return slices.ContainsFunc(r.Sessions, func(s Record) bool { return s.Name == name && s.ConfigPath == configPath })
}

func (r *Records) put(rec Record) {
	r.Sessions = slices.DeleteFunc(r.Sessions, func(s Record) bool { return s.Name == rec.Name && s.ConfigPath == rec.ConfigPath })
	r.Sessions = append(r.Sessions, rec)
}

// Save writes the records atomically, or deletes the file when none are
// left.
func (r *Records) Save() error {
	if len(r.Sessions) == 0 {
		if err := os.Remove(r.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("forget the OCI session records: %w", err)
		}
		return nil
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode the OCI session records: %w", err)
	}
	return writeAtomic(r.Path, append(data, '\n'), 0o600)
}

// Exchanger trades a fresh domain token for a UPST bound to pub. The
// command builds it: it refreshes the domain token first when due.
type Exchanger func(ctx context.Context, pub *rsa.PublicKey) (string, error)

// EnsureOptions say which session to keep fresh.
type EnsureOptions struct {
	Name       string
	ConfigPath string
	Region     string
	// Margin: a UPST that expires within it (or within a quarter of its
	// lifetime, if that is shorter: Claims.Margin) is exchanged anew.
	Margin   time.Duration
	Now      func() time.Time
	Exchange Exchanger
	// Records are the profile's records; the session is added to them.
	Records *Records
}

// Session is the state of one session after Ensure, or as Status reads it.
type Session struct {
	Name, Region, Tenancy, Subject, Fingerprint string
	Paths                                       Paths
	// Issued is zero when the UPST does not say when it was issued.
	Issued, Expiry time.Time
	// Exchanged says a new UPST was fetched; NewKey that a new key pair
	// was made; ConfigWritten that the config file was rewritten.
	Exchanged, NewKey, ConfigWritten bool
}

// Ensure makes session opts.Name usable for at least the margin: with no
// network and no key generation while its UPST is fresh and its files and
// section are as they should be; else it exchanges anew (keeping a key pair
// that still parses), and rewrites the token file and the config section
// atomically. The config file is read and checked before anything is
// fetched or written, so a config idcsctl will not edit stays untouched.
// The caller holds the profile's lock.
func Ensure(ctx context.Context, o EnsureOptions) (*Session, error) {
	if err := CheckName(o.Name); err != nil {
		return nil, err
	}
	if err := CheckRegion(o.Region); err != nil {
		return nil, err
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	cfg, err := ReadConfig(o.ConfigPath)
	if err != nil {
		return nil, err
	}
	p := PathsFor(o.ConfigPath, o.Name)
	if err := checkWritable(p); err != nil {
		return nil, err
	}
	if err := checkSessionDir(p.Dir); err != nil {
		return nil, err
	}
	before := surroundings(p)
	prev, ours := o.Records.record(o.Name, o.ConfigPath)
	section, hasSection := cfg.Section(o.Name)
	if !ours {
		if hasSection {
			return nil, fmt.Errorf("section [%s] of %s is %w: pass another session name, or remove the section yourself", o.Name, o.ConfigPath, ErrNotOurs)
		}
		if entries, err := os.ReadDir(p.Dir); err == nil && len(entries) > 0 {
			return nil, fmt.Errorf("session folder %s is %w: pass another session name, or remove the folder yourself", p.Dir, ErrNotOurs)
		}
	}

	s := &Session{Name: o.Name, Region: o.Region, Paths: p}
	key, keyErr := readKey(p.PrivateKey)
	var claims *Claims
	if tok, err := os.ReadFile(p.Token); err == nil && keyErr == nil {
		// A token that claims more than OCI grants is exchanged anew too,
		// so a session is never older than OCI's own limit.
		if c, err := ParseUPST(string(tok)); err == nil && c.CheckLifetime(now()) == nil && now().Add(c.Margin(o.Margin)).Before(c.Expiry) {
			claims = c
		}
	}
	if claims == nil {
		if keyErr != nil {
			if key, err = NewKey(); err != nil {
				return nil, err
			}
			s.NewKey = true
		}
		upst, err := o.Exchange(ctx, &key.PublicKey)
		if err != nil {
			return nil, err
		}
		if claims, err = ParseUPST(upst); err != nil {
			return nil, err
		}
		if err := claims.CheckLifetime(now()); err != nil {
			return nil, err
		}
		if err := writeSessionFiles(p, key, upst, s.NewKey); err != nil {
			return nil, err
		}
		s.Exchanged = true
	}
	s.Tenancy, s.Subject, s.Issued, s.Expiry = claims.Tenancy, claims.Subject, claims.Issued, claims.Expiry
	if s.Fingerprint, err = Fingerprint(&key.PublicKey); err != nil {
		return nil, err
	}
	want := s.sectionKeys()
	if !hasSection || !sameKeys(section, want) {
		if err := cfg.SetSection(o.Name, want); err != nil {
			return nil, err
		}
		if err := cfg.Write(); err != nil {
			return nil, err
		}
		s.ConfigWritten = true
	}
	rec := Record{
		Name: o.Name, ConfigPath: o.ConfigPath, Region: o.Region,
		AddedFinalNewline:  prev.AddedFinalNewline || cfg.addedFinalNewline,
		CreatedConfig:      prev.CreatedConfig || before.config && !missing(p.Config),
		CreatedConfigDir:   prev.CreatedConfigDir || before.configDir && !missing(filepath.Dir(p.Config)),
		CreatedSessionsDir: prev.CreatedSessionsDir || before.sessionsDir && !missing(filepath.Dir(p.Dir)),
	}
	if !ours || prev != rec {
		o.Records.put(rec)
		if err := o.Records.Save(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// sectionKeys are the keys of the session's config section, in the order
// the oci CLI writes them.
func (s *Session) sectionKeys() []KV {
	return []KV{
		{"fingerprint", s.Fingerprint},
		{"key_file", s.Paths.PrivateKey},
		{"tenancy", s.Tenancy},
		{"region", s.Region},
		{"security_token_file", s.Paths.Token},
	}
}

func sameKeys(have map[string]string, want []KV) bool {
	if len(have) != len(want) {
		return false
	}
	for _, kv := range want {
		if have[kv.Key] != kv.Value {
			return false
		}
	}
	return true
}

func readKey(path string) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParsePrivatePEM(data)
}

// writeSessionFiles writes the key pair (when new) and the token, each
// atomically and readable by the user alone, in a 0700 folder.
func writeSessionFiles(p Paths, key *rsa.PrivateKey, upst string, newKey bool) error {
	if err := os.MkdirAll(p.Dir, 0o700); err != nil {
		return fmt.Errorf("create the session folder: %w", err)
	}
	if err := os.Chmod(p.Dir, 0o700); err != nil {
		return fmt.Errorf("make the session folder private: %w", err)
	}
	if newKey {
		priv, err := PrivatePEM(key)
		if err != nil {
			return err
		}
		pub, err := PublicPEM(&key.PublicKey)
		if err != nil {
			return err
		}
		if err := writeAtomic(p.PrivateKey, priv, 0o600); err != nil {
			return err
		}
		if err := writeAtomic(p.PublicKey, pub, 0o600); err != nil {
			return err
		}
	}
	return writeAtomic(p.Token, []byte(upst), 0o600)
}

// Status reads a recorded session as it is on disk, without the network.
// A session whose files are gone or unreadable has a zero Expiry.
func Status(rec Record) *Session {
	p := PathsFor(rec.ConfigPath, rec.Name)
	s := &Session{Name: rec.Name, Region: rec.Region, Paths: p}
	if tok, err := os.ReadFile(p.Token); err == nil {
		if c, err := ParseUPST(string(tok)); err == nil {
			s.Tenancy, s.Subject, s.Issued, s.Expiry = c.Tenancy, c.Subject, c.Issued, c.Expiry
		}
	}
	if key, err := readKey(p.PrivateKey); err == nil {
		s.Fingerprint, _ = Fingerprint(&key.PublicKey)
	}
	return s
}

// Remove deletes what idcsctl created for a recorded session: the config
// section, when it still points at the session's token file (a section
// the person has since rewritten is theirs), and the session's three files
// and its folder when nothing else is in it. It says what it removed.
func Remove(rec Record) ([]string, error) {
	p := PathsFor(rec.ConfigPath, rec.Name)
	var removed []string
	var errs []error
	cfg, err := ReadConfig(rec.ConfigPath)
	if err != nil {
		errs = append(errs, err)
	} else if keys, ok := cfg.Section(rec.Name); ok && keys["security_token_file"] == p.Token {
		last := cfg.isLast(rec.Name)
		if _, err := cfg.RemoveSection(rec.Name); err != nil {
			errs = append(errs, err)
		} else {
			if last && rec.AddedFinalNewline {
				cfg.trimFinalNewline()
			}
			if err := cfg.removeOrWrite(rec.CreatedConfig); err != nil {
				errs = append(errs, err)
			} else {
				removed = append(removed, fmt.Sprintf("section [%s] of %s", rec.Name, rec.ConfigPath))
			}
		}
	}
	// A link in place of the session folder is not followed: the files
	// behind it are not idcsctl's.
	if err := checkSessionDir(p.Dir); err != nil {
		return removed, errors.Join(append(errs, err)...)
	}
	for _, f := range []string{p.Token, p.PrivateKey, p.PublicKey} {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove %s: %w", f, err))
		}
	}
	if ok, err := removeEmptyDir(p.Dir); ok {
		removed = append(removed, p.Dir)
	} else if err != nil {
		errs = append(errs, err)
	}
	// The folders idcsctl made for its sessions go when nothing else is
	// in them.
	for _, d := range []struct {
		made bool
		path string
	}{{rec.CreatedSessionsDir, filepath.Dir(p.Dir)}, {rec.CreatedConfigDir, filepath.Dir(rec.ConfigPath)}} {
		if !d.made {
			continue
		}
		if ok, err := removeEmptyDir(d.path); ok {
			removed = append(removed, d.path)
		} else if err != nil {
			errs = append(errs, err)
		}
	}
	return removed, errors.Join(errs...)
}

// removeEmptyDir removes dir when it is an empty folder; a folder that
// holds anything, or none, is left alone.
func removeEmptyDir(dir string) (bool, error) {
	if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() {
		return false, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) > 0 {
		return false, nil
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("remove %s: %w", dir, err)
	}
	return true, nil
}
