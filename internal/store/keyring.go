package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Layout of one profile's entry in the keyring (service Options.Service):
//
//	user "<profile>"                 the manifest: the record itself when it fits
//	                                 in one item, else the generation, chunk
//	                                 count, size and SHA-256 of the record
//	user "<profile>/<gen>/<i>"       chunk i of the record written under generation gen
//	user "<profile>/pending"         generations whose chunks may still exist and
//	                                 are not referenced by the manifest (cleanup list)
//
// Profile names contain no '/', so these never collide with another profile.
//
// Why chunks: the Windows Credential Manager refuses secrets over 2,560
// bytes and the macOS Keychain (through go-keyring) about 3,000, while an
// identity domain's access, refresh and ID tokens together often pass 4 KB.
// Every item idcsctl writes is at most maxItemSize bytes.
//
// Why a crash never loses the previous entry: chunks of a new record are
// written under a fresh random generation that no manifest references, and
// only then is the manifest switched to it with one Set, which every keyring
// applies atomically to one item. The old generation's chunks are deleted
// only after that. Before writing anything, Save records the generations it
// is about to make garbage (or may leave half-written) in the pending item,
// so a later Save or Delete removes them and logout leaves no chunk behind.
// Cleanup never deletes the generation the manifest references.
//
// Callers serialise writers of one profile with Lock; two unlocked Saves of
// the same profile could delete each other's new chunks.
const (
	maxItemSize    = 2048
	maxChunks      = 64 // 128 KiB per entry
	manifestFormat = "idcsctl-keyring/1"
	pendingFormat  = "idcsctl-keyring-pending/1"
	pendingSuffix  = "/pending"
	probeUser      = ".probe" // not a valid profile name, so it names no entry
	indexFolder    = "keyring"
)

// keyringStore keeps tokens in a Keyring, bounding every call by a timeout.
type keyringStore struct {
	kr      Keyring
	service string
	timeout time.Duration
	dir     string // holds the profile index; "" disables it
	now     func() time.Time
	newGen  func() string
	// slot admits one keyring call at a time, including a call abandoned
	// after its timeout: it is released only when the call really returns.
	slot chan struct{}
}

// NewKeyring returns the store that keeps tokens only in opts.Keyring (the OS
// keyring when nil). Every keyring call is bounded by opts.KeyringTimeout; a
// keyring that cannot be used gives an *UnavailableError. opts.Dir holds the
// list of profiles that have an entry, which Profiles reads because keyrings
// cannot be listed portably; with no Dir, Profiles reports none.
func NewKeyring(opts Options) Store { return newKeyring(opts) }

func newKeyring(opts Options) *keyringStore {
	opts = opts.withDefaults()
	return &keyringStore{
		kr:      opts.Keyring,
		service: opts.Service,
		timeout: opts.KeyringTimeout,
		dir:     opts.Dir,
		now:     time.Now,
		newGen:  newGeneration,
		slot:    make(chan struct{}, 1),
	}
}

func newGeneration() string {
	var b [6]byte
	rand.Read(b[:]) // never fails (crypto/rand crashes the program instead)
	return hex.EncodeToString(b[:])
}

func (k *keyringStore) Name() string { return "keyring" }

func pendingUser(profile string) string { return profile + pendingSuffix }

func chunkUser(profile, gen string, i int) string {
	return profile + "/" + gen + "/" + strconv.Itoa(i)
}

type callResult struct {
	value string
	err   error
}

// call runs one keyring operation, bounded by k.timeout and ctx.
//
// The operation runs in its own goroutine because go-keyring calls cannot be
// cancelled (a Secret Service waiting on an unlock prompt blocks forever).
// On timeout the goroutine is abandoned, and may still complete. That cannot
// corrupt an entry:
//   - it keeps k.slot until it returns, so no later call of this store starts
//     before it lands: a late write can never overtake a newer one;
//   - Save returns at the first failed call, so a late write is either a chunk
//     of a generation no manifest references yet, a manifest switch to a
//     generation whose chunks all were written before (complete, loadable),
//     or the deletion of garbage;
//   - its result goes to a buffered channel, so it never blocks or leaks.
//
// Errors: ErrNotFound for a missing item, ctx's error when the caller gave
// up, else an *UnavailableError (wrapping ErrTimeout on timeout) whose text
// has the given secrets removed.
func (k *keyringStore) call(ctx context.Context, op func(Keyring) (string, error), secrets ...string) (string, error) {
	tctx, cancel := context.WithTimeout(ctx, k.timeout)
	defer cancel()
	select {
	case k.slot <- struct{}{}:
	case <-tctx.Done():
		return "", k.interrupted(ctx, "an earlier keyring call has not returned after "+k.timeout.String())
	}
	done := make(chan callResult, 1)
	go func() {
		defer func() { <-k.slot }()
		done <- runGuarded(k.kr, op)
	}()
	select {
	case r := <-done:
		switch {
		case r.err == nil:
			return r.value, nil
		case isNotFound(r.err):
			return "", ErrNotFound
		}
		u := classifyUnavailable(r.err)
		u.Err = redact(r.err, secrets...)
		return "", u
	case <-tctx.Done():
		return "", k.interrupted(ctx, "no answer within "+k.timeout.String())
	}
}

// runGuarded turns a panic inside a keyring implementation into an error:
// go-keyring type-asserts D-Bus signal bodies it receives.
func runGuarded(kr Keyring, op func(Keyring) (string, error)) (r callResult) {
	defer func() {
		switch p := recover().(type) {
		case nil:
		case runtime.Error:
			r = callResult{err: fmt.Errorf("the keyring library panicked: %w", p)}
		default:
			// Any other panic value could be built from the secret being stored.
			r = callResult{err: fmt.Errorf("the keyring library panicked with a %T", p)}
		}
	}()
	v, err := op(kr)
	return callResult{value: v, err: err}
}

// interrupted explains why a call stopped waiting: the caller's ctx, or our timeout.
func (k *keyringStore) interrupted(ctx context.Context, reason string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("keyring call: %w", err)
	}
	return &UnavailableError{Backend: "keyring", Reason: reason, Fix: fixUnlock, Err: ErrTimeout}
}

func (k *keyringStore) get(ctx context.Context, user string) (string, error) {
	return k.call(ctx, func(kr Keyring) (string, error) { return kr.Get(k.service, user) })
}

func (k *keyringStore) set(ctx context.Context, user, value string, secrets ...string) error {
	_, err := k.call(ctx, func(kr Keyring) (string, error) { return "", kr.Set(k.service, user, value) },
		append(secrets, value)...)
	return err
}

// del deletes an item; a missing item is not an error.
func (k *keyringStore) del(ctx context.Context, user string) error {
	_, err := k.call(ctx, func(kr Keyring) (string, error) { return "", kr.Delete(k.service, user) })
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// probe asks the keyring for an item that never exists: "not found" means it answers.
func (k *keyringStore) probe(ctx context.Context) error {
	_, err := k.get(ctx, probeUser)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// manifest is the item named after the profile.
type manifest struct {
	Format string          `json:"format"`
	Record json.RawMessage `json:"record,omitempty"` // the whole record, when it fits in one item
	Gen    string          `json:"gen,omitempty"`    // else: the generation of its chunks,
	Chunks int             `json:"chunks,omitempty"` // how many there are,
	Size   int             `json:"size,omitempty"`   // the record's length,
	SHA256 string          `json:"sha256,omitempty"` // and its checksum
}

// genRef names a generation of chunks and how many it may have.
type genRef struct {
	Gen    string `json:"gen"`
	Chunks int    `json:"chunks"`
}

type pendingList struct {
	Format string   `json:"format"`
	Gens   []genRef `json:"gens"`
}

func (m *manifest) live() (genRef, bool) {
	if m == nil || m.Gen == "" {
		return genRef{}, false
	}
	return genRef{Gen: m.Gen, Chunks: m.Chunks}, true
}

// check validates a decoded manifest without quoting it.
func (m *manifest) check() error {
	switch {
	case m.Format != manifestFormat:
		return errors.New("not an idcsctl keyring entry, or one from a newer idcsctl")
	case len(m.Record) > 0:
		if m.Gen != "" {
			return errors.New("manifest has both a record and chunks")
		}
		return nil
	case !validGen(m.Gen):
		return errors.New("manifest names no valid chunk generation")
	case m.Chunks < 1 || m.Chunks > maxChunks:
		return fmt.Errorf("manifest gives %d chunks, outside 1..%d", m.Chunks, maxChunks)
	case m.Size < 1 || m.Size > m.Chunks*maxItemSize:
		return fmt.Errorf("manifest gives a size of %d bytes for %d chunks", m.Size, m.Chunks)
	case len(m.SHA256) != sha256.Size*2:
		return errors.New("manifest has no valid checksum")
	}
	return nil
}

func validGen(g string) bool {
	if g == "" || len(g) > 32 {
		return false
	}
	for _, c := range g {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func (k *keyringStore) corrupt(profile string, err error) error {
	return &CorruptError{Backend: "keyring", Profile: profile, Err: err}
}

// readManifest returns the profile's manifest, ErrNotFound, a *CorruptError,
// or the keyring's error.
func (k *keyringStore) readManifest(ctx context.Context, profile string) (*manifest, error) {
	s, err := k.get(ctx, profile)
	if err != nil {
		return nil, err
	}
	var m manifest
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, k.corrupt(profile, describeJSONError(err, len(s)))
	}
	if err := m.check(); err != nil {
		return nil, k.corrupt(profile, err)
	}
	return &m, nil
}

// readPending returns the cleanup list and whether its item exists. An
// unreadable list counts as empty: it only ever names garbage.
func (k *keyringStore) readPending(ctx context.Context, profile string) ([]genRef, bool, error) {
	s, err := k.get(ctx, pendingUser(profile))
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var p pendingList
	if json.Unmarshal([]byte(s), &p) != nil || p.Format != pendingFormat {
		return nil, true, nil
	}
	var refs []genRef
	for _, r := range p.Gens {
		if validGen(r.Gen) {
			refs = append(refs, genRef{Gen: r.Gen, Chunks: min(max(r.Chunks, 0), maxChunks)})
		}
	}
	return refs, true, nil
}

func (k *keyringStore) writePending(ctx context.Context, profile string, refs []genRef) error {
	b, err := json.Marshal(pendingList{Format: pendingFormat, Gens: refs})
	if err != nil {
		return fmt.Errorf("encode keyring cleanup list: %w", err)
	}
	return k.set(ctx, pendingUser(profile), string(b))
}

// deleteGens deletes every chunk of refs and returns the refs it could not
// finish, with the error that stopped it.
func (k *keyringStore) deleteGens(ctx context.Context, profile string, refs []genRef) ([]genRef, error) {
	for n, r := range refs {
		for i := range min(r.Chunks, maxChunks) {
			if err := k.del(ctx, chunkUser(profile, r.Gen, i)); err != nil {
				return refs[n:], err
			}
		}
	}
	return nil, nil
}

// loadAttempts bounds how often load reads the manifest again after a chunk
// of the generation it named vanished: each time, another process's Save
// replaced the entry meanwhile (Saves run one at a time under Lock), so a
// reader fails only when five Saves land during five of its reads.
const loadAttempts = 5

func (k *keyringStore) Load(ctx context.Context, profile string) (*Token, error) {
	t, _, err := k.load(ctx, profile)
	return t, err
}

// load returns the token and when it was saved. A chunk that disappears while
// it is read is expected when another process saves at the same moment (it
// deletes the old generation), so the manifest is read again; only a chunk
// missing from the current generation is corruption.
func (k *keyringStore) load(ctx context.Context, profile string) (*Token, time.Time, error) {
	if err := checkProfile(profile); err != nil {
		return nil, time.Time{}, err
	}
	prevGen := ""
	for range loadAttempts {
		m, err := k.readManifest(ctx, profile)
		if errors.Is(err, ErrNotFound) {
			return nil, time.Time{}, fmt.Errorf("%w (profile %q, keyring)", ErrNotFound, profile)
		}
		if err != nil {
			return nil, time.Time{}, err
		}
		rec := []byte(m.Record)
		if len(rec) == 0 {
			var missing int
			rec, missing, err = k.readChunks(ctx, profile, m)
			if err != nil {
				return nil, time.Time{}, err
			}
			if missing >= 0 {
				if m.Gen == prevGen {
					return nil, time.Time{}, k.corrupt(profile, fmt.Errorf("chunk %d of %d is missing", missing+1, m.Chunks))
				}
				prevGen = m.Gen
				continue
			}
			sum := sha256.Sum256(rec)
			if len(rec) != m.Size || hex.EncodeToString(sum[:]) != m.SHA256 {
				return nil, time.Time{}, k.corrupt(profile, fmt.Errorf("checksum mismatch over %d chunks", m.Chunks))
			}
		}
		t, saved, err := decodeRecord(rec)
		if err != nil {
			return nil, time.Time{}, k.corrupt(profile, err)
		}
		return t, saved, nil
	}
	return nil, time.Time{}, fmt.Errorf("the keyring entry of profile %q kept changing while it was read: another idcsctl is saving it; try again", profile)
}

// readChunks concatenates the manifest's chunks; missing is the index of the
// first missing chunk, or -1.
func (k *keyringStore) readChunks(ctx context.Context, profile string, m *manifest) (rec []byte, missing int, err error) {
	var b strings.Builder
	b.Grow(m.Size)
	for i := range m.Chunks {
		s, err := k.get(ctx, chunkUser(profile, m.Gen, i))
		if errors.Is(err, ErrNotFound) {
			return nil, i, nil
		}
		if err != nil {
			return nil, -1, err
		}
		if b.Len()+len(s) > m.Size {
			return nil, -1, k.corrupt(profile, fmt.Errorf("chunks add up to more than the %d bytes the manifest gives", m.Size))
		}
		b.WriteString(s)
	}
	return []byte(b.String()), -1, nil
}

// splitRecord cuts rec into pieces of at most maxItemSize bytes, at UTF-8
// character boundaries so that every piece is valid text for every keyring.
func splitRecord(rec []byte) []string {
	var parts []string
	for len(rec) > 0 {
		n := min(len(rec), maxItemSize)
		// Back off at most one character's length; invalid UTF-8 (which
		// encodeRecord never produces) is then cut anywhere.
		for back := 0; n < len(rec) && back < utf8.UTFMax && !utf8.RuneStart(rec[n]); back++ {
			n--
		}
		parts = append(parts, string(rec[:n]))
		rec = rec[n:]
	}
	return parts
}

func (k *keyringStore) Save(ctx context.Context, profile string, t *Token) error {
	if err := checkProfile(profile); err != nil {
		return err
	}
	if t == nil {
		return fmt.Errorf("save token of profile %q: no token given", profile)
	}
	secrets := []string{t.AccessToken, t.RefreshToken, t.IDToken}
	rec, err := encodeRecord(t, k.now())
	if err != nil {
		return err
	}
	if len(rec) > maxChunks*maxItemSize {
		return fmt.Errorf("the token of profile %q takes %d bytes, more than the keyring store's limit of %d: use --token-store file", profile, len(rec), maxChunks*maxItemSize)
	}

	old, err := k.readManifest(ctx, profile)
	var corrupt *CorruptError
	switch {
	case err == nil:
	case errors.Is(err, ErrNotFound), errors.As(err, &corrupt):
		old = nil // signing in again replaces an unreadable entry
	default:
		return err
	}
	oldGen, oldChunked := old.live()
	pending, hadPending, err := k.readPending(ctx, profile)
	if err != nil {
		return err
	}
	if err := k.setIndexed(profile, true); err != nil {
		return err
	}
	// Finish the cleanup an earlier Save or Delete left, never touching the
	// generation the manifest references.
	var stale []genRef
	for _, r := range pending {
		if !oldChunked || r.Gen != oldGen.Gen {
			stale = append(stale, r)
		}
	}
	if _, err := k.deleteGens(ctx, profile, stale); err != nil {
		return err
	}

	m := manifest{Format: manifestFormat, Record: rec}
	mb, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode keyring manifest: %w", err)
	}
	var parts []string
	var newGen genRef
	if len(mb) > maxItemSize {
		parts = splitRecord(rec)
		sum := sha256.Sum256(rec)
		newGen = genRef{Gen: k.newGen(), Chunks: len(parts)}
		m = manifest{Format: manifestFormat, Gen: newGen.Gen, Chunks: len(parts), Size: len(rec), SHA256: hex.EncodeToString(sum[:])}
		if mb, err = json.Marshal(m); err != nil {
			return fmt.Errorf("encode keyring manifest: %w", err)
		}
	}

	// Record what this Save turns into garbage (the old generation) or may
	// leave half-written (the new one) before writing any of it.
	var garbage []genRef
	if oldChunked {
		garbage = append(garbage, oldGen)
	}
	if len(parts) > 0 || len(garbage) > 0 {
		if err := k.writePending(ctx, profile, append(garbage, genRefs(newGen)...)); err != nil {
			return err
		}
	}
	for i, p := range parts {
		if err := k.set(ctx, chunkUser(profile, newGen.Gen, i), p, secrets...); err != nil {
			return err
		}
	}
	if err := k.set(ctx, profile, string(mb), secrets...); err != nil {
		return err // the manifest names the old entry or, if this landed late, the complete new one
	}

	// Committed. Cleanup failures only leave garbage the pending list names.
	if len(parts) == 0 && len(garbage) == 0 && !hadPending {
		return nil
	}
	if rest, err := k.deleteGens(ctx, profile, garbage); err != nil {
		_ = k.writePending(ctx, profile, rest)
		return nil
	}
	_ = k.del(ctx, pendingUser(profile))
	return nil
}

func genRefs(r genRef) []genRef {
	if r.Gen == "" {
		return nil
	}
	return []genRef{r}
}

func (k *keyringStore) Delete(ctx context.Context, profile string) error {
	if err := checkProfile(profile); err != nil {
		return err
	}
	old, err := k.readManifest(ctx, profile)
	var corrupt *CorruptError
	exists := err == nil
	switch {
	case err == nil, errors.Is(err, ErrNotFound):
	case errors.As(err, &corrupt):
		exists = true // logout is how a user clears an unreadable entry
	default:
		return err
	}
	pending, hasPending, err := k.readPending(ctx, profile)
	if err != nil {
		return err
	}
	gens := pending
	if live, ok := old.live(); ok {
		// Record the live generation before unlinking it, so a failure
		// below leaves its chunks findable for the next attempt.
		gens = append(gens, live)
		if err := k.writePending(ctx, profile, gens); err != nil {
			return err
		}
		hasPending = true
	}
	if exists {
		if err := k.del(ctx, profile); err != nil {
			return err
		}
	}
	if _, err := k.deleteGens(ctx, profile, gens); err != nil {
		return err
	}
	if hasPending {
		if err := k.del(ctx, pendingUser(profile)); err != nil {
			return err
		}
	}
	return k.setIndexed(profile, false)
}

func (k *keyringStore) Profiles(_ context.Context) ([]string, error) {
	if k.dir == "" {
		return nil, nil
	}
	return listProfiles(filepath.Join(k.dir, indexFolder), "")
}

// setIndexed adds or removes the profile's marker in <dir>/keyring, the list
// Profiles reads. The marker is added before the first keyring write and
// removed after the last delete, so a crash can leave a marker without an
// entry (harmless: Delete finds nothing) but never an entry without a marker.
func (k *keyringStore) setIndexed(profile string, on bool) error {
	if k.dir == "" {
		return nil
	}
	folder := filepath.Join(k.dir, indexFolder)
	path := filepath.Join(folder, profile)
	if !on {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("update keyring profile list: %w", err)
		}
		return nil
	}
	if err := ensurePrivateDir(k.dir); err != nil {
		return err
	}
	if err := ensurePrivateDir(folder); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("update keyring profile list: %w", err)
	}
	return f.Close()
}

// indexed reports whether the keyring may hold an entry for profile.
func (k *keyringStore) indexed(profile string) bool {
	if k.dir == "" {
		return false
	}
	_, err := os.Stat(filepath.Join(k.dir, indexFolder, profile))
	return err == nil
}
