package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/godbus/dbus/v5"
	"github.com/zalando/go-keyring"
)

func TestKeyringSplitsLargeTokensIntoItemsOfAtMost2048Bytes(t *testing.T) {
	k, fake := testKeyring(t)
	if err := k.Save(bg(), "dev", bigToken()); err != nil {
		t.Fatalf("Save of a 16 KB token through a keyring that refuses secrets over %d bytes: %v", windowsLimit, err)
	}
	if fake.longest > maxItemSize {
		t.Errorf("longest item written = %d bytes, want at most %d", fake.longest, maxItemSize)
	}
	users := fake.users()
	wantChunks := (recordSize(t, bigToken()) + maxItemSize - 1) / maxItemSize
	if len(users) < wantChunks+1 {
		t.Errorf("keyring holds %d items %q, want a manifest and at least %d chunks", len(users), users, wantChunks)
	}
	for _, u := range users {
		if strings.HasSuffix(u, pendingSuffix) {
			t.Errorf("a successful save left the cleanup list %q behind", u)
		}
	}
	got, err := k.Load(bg(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	checkSame(t, got, bigToken())
}

func TestKeyringKeepsSmallTokensInOneItem(t *testing.T) {
	k, fake := testKeyring(t)
	if err := k.Save(bg(), "dev", smallToken()); err != nil {
		t.Fatal(err)
	}
	if users := fake.users(); len(users) != 1 || users[0] != "dev" {
		t.Errorf("keyring items = %q, want just the manifest \"dev\"", users)
	}
}

func TestSplitRecordCutsAtCharacterBoundaries(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"ascii exactly one item", strings.Repeat("a", maxItemSize)},
		{"ascii one byte more", strings.Repeat("a", maxItemSize+1)},
		{"two-byte characters across the boundary", strings.Repeat("a", maxItemSize-1) + strings.Repeat("é", 2000)},
		{"four-byte characters throughout", strings.Repeat("🔑", 3000)},
		{"invalid UTF-8 made of continuation bytes", strings.Repeat("\x80", 3*maxItemSize)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			parts := splitRecord([]byte(tt.in))
			if joined := strings.Join(parts, ""); joined != tt.in {
				t.Fatalf("parts do not join back to the input (%d vs %d bytes)", len(joined), len(tt.in))
			}
			for i, p := range parts {
				if len(p) == 0 || len(p) > maxItemSize {
					t.Errorf("part %d has %d bytes, want 1..%d", i, len(p), maxItemSize)
				}
				if utf8.ValidString(tt.in) && !utf8.ValidString(p) {
					t.Errorf("part %d is not valid UTF-8", i)
				}
			}
		})
	}
}

// errInjected stands for a keyring call that failed because the process
// died or the keyring broke at that moment.
var errInjected = errors.New("injected keyring failure")

// failAt makes the n-th call of kind op (1-based) fail, counting from now.
func failAt(fake *fakeKeyring, op string, n int) {
	var mu sync.Mutex
	count := 0
	fake.setBefore(func(o, _, _ string) error {
		if o != op {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		count++
		if count == n {
			return errInjected
		}
		return nil
	})
}

// countOps counts the calls of kind op that fn makes.
func countOps(fake *fakeKeyring, op string, fn func()) int {
	var mu sync.Mutex
	count := 0
	fake.setBefore(func(o, _, _ string) error {
		if o == op {
			mu.Lock()
			count++
			mu.Unlock()
		}
		return nil
	})
	fn()
	fake.setBefore(nil)
	return count
}

func TestKeyringSaveInterruptedAtAnyStepKeepsThePreviousEntry(t *testing.T) {
	tokens := map[string]func() *Token{"none": nil, "small": smallToken, "big": bigToken}
	for _, oldKind := range []string{"none", "small", "big"} {
		for _, newKind := range []string{"small", "big"} {
			for _, op := range []string{"set", "delete"} {
				name := fmt.Sprintf("%s to %s, failing %s", oldKind, newKind, op)
				t.Run(name, func(t *testing.T) {
					setup := func() (*keyringStore, *fakeKeyring, *Token, *Token) {
						k, fake := testKeyring(t)
						var old *Token
						if mk := tokens[oldKind]; mk != nil {
							old = mk()
							old.ClientID = "old"
							if err := k.Save(bg(), "dev", old); err != nil {
								t.Fatal(err)
							}
						}
						newTok := tokens[newKind]()
						newTok.ClientID = "new"
						return k, fake, old, newTok
					}
					k, fake, _, newTok := setup()
					steps := countOps(fake, op, func() {
						if err := k.Save(bg(), "dev", newTok); err != nil {
							t.Fatal(err)
						}
					})
					for step := 1; step <= steps; step++ {
						k, fake, old, newTok := setup()
						failAt(fake, op, step)
						saveErr := k.Save(bg(), "dev", newTok)
						fake.setBefore(nil)
						got, err := k.Load(bg(), "dev")
						switch {
						case saveErr != nil && old == nil:
							if !errors.Is(err, ErrNotFound) {
								t.Fatalf("step %d: after a failed first save, Load = %v, want ErrNotFound", step, err)
							}
						case saveErr != nil:
							if err != nil {
								t.Fatalf("step %d: after a failed save, Load = %v, want the previous token", step, err)
							}
							checkSame(t, got, old)
						default:
							// The save committed; a failed cleanup only leaves garbage.
							if err != nil {
								t.Fatalf("step %d: after a committed save, Load = %v", step, err)
							}
							checkSame(t, got, newTok)
						}
						// The next save and a logout leave no item behind.
						if err := k.Save(bg(), "dev", bigToken()); err != nil {
							t.Fatalf("step %d: save after the failure: %v", step, err)
						}
						if err := k.Delete(bg(), "dev"); err != nil {
							t.Fatalf("step %d: delete: %v", step, err)
						}
						if users := fake.users(); len(users) != 0 {
							t.Fatalf("step %d: after logout the keyring still holds %q", step, users)
						}
					}
				})
			}
		}
	}
}

func TestKeyringDeleteInterruptedAtAnyStepIsFinishedByTheNextDelete(t *testing.T) {
	for _, op := range []string{"set", "delete"} {
		t.Run("failing "+op, func(t *testing.T) {
			count := func() int {
				k, fake := testKeyring(t)
				if err := k.Save(bg(), "dev", bigToken()); err != nil {
					t.Fatal(err)
				}
				return countOps(fake, op, func() {
					if err := k.Delete(bg(), "dev"); err != nil {
						t.Fatal(err)
					}
				})
			}()
			for step := 1; step <= count; step++ {
				k, fake := testKeyring(t)
				if err := k.Save(bg(), "dev", bigToken()); err != nil {
					t.Fatal(err)
				}
				failAt(fake, op, step)
				if err := k.Delete(bg(), "dev"); err == nil {
					t.Fatalf("step %d: Delete with a failing %s succeeded", step, op)
				}
				fake.setBefore(nil)
				if profiles, _ := k.Profiles(bg()); len(profiles) != 1 {
					t.Errorf("step %d: an unfinished delete dropped the profile from the list (%q), so logout --all would miss it", step, profiles)
				}
				if err := k.Delete(bg(), "dev"); err != nil {
					t.Fatalf("step %d: second Delete: %v", step, err)
				}
				if users := fake.users(); len(users) != 0 {
					t.Fatalf("step %d: after the second delete the keyring still holds %q", step, users)
				}
			}
		})
	}
}

func TestKeyringCorruptEntriesAreReportedAndKept(t *testing.T) {
	tests := []struct {
		name   string
		big    bool
		damage func(f *fakeKeyring)
		want   string
	}{
		{"manifest is not JSON", false, func(f *fakeKeyring) { f.put("dev", "{not json "+secretAccess) }, "not valid JSON"},
		{"manifest of another format", false, func(f *fakeKeyring) { f.put("dev", `{"format":"other/9"}`) }, "not an idcsctl keyring entry"},
		{"manifest gives zero chunks", true, func(f *fakeKeyring) { f.put("dev", `{"format":"idcsctl-keyring/1","gen":"abc","chunks":0}`) }, "chunks"},
		{"inline record with a wrong field type", false, func(f *fakeKeyring) {
			f.put("dev", `{"format":"idcsctl-keyring/1","record":{"version":1,"token":{"expiry":"`+secretAccess+`"}}}`)
		}, "token record"},
		{"record from a newer version", false, func(f *fakeKeyring) {
			f.put("dev", `{"format":"idcsctl-keyring/1","record":{"version":7,"token":{}}}`)
		}, "version 7"},
		{"a chunk is missing", true, func(f *fakeKeyring) { f.remove(chunkOf(f, 1)) }, "chunk 2 of"},
		{"a chunk was altered", true, func(f *fakeKeyring) {
			u := chunkOf(f, 0)
			v := f.item(u)
			f.put(u, "X"+v[1:])
		}, "checksum mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, fake := testKeyring(t)
			tok := smallToken()
			if tt.big {
				tok = bigToken()
			}
			if err := k.Save(bg(), "dev", tok); err != nil {
				t.Fatal(err)
			}
			tt.damage(fake)
			before := fake.users()
			_, err := k.Load(bg(), "dev")
			var corrupt *CorruptError
			if !errors.As(err, &corrupt) {
				t.Fatalf("Load = %v, want *CorruptError", err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "idcsctl logout -p dev") {
				t.Errorf("error %q should mention %q and how to clear the entry", err, tt.want)
			}
			checkNoSecret(t, "corrupt entry error", err.Error())
			if after := fake.users(); strings.Join(after, ",") != strings.Join(before, ",") {
				t.Errorf("Load changed the keyring: %q became %q", before, after)
			}
			if err := k.Delete(bg(), "dev"); err != nil {
				t.Fatalf("Delete of a corrupt entry: %v", err)
			}
			if _, err := k.Load(bg(), "dev"); !errors.Is(err, ErrNotFound) {
				t.Errorf("Load after Delete = %v, want ErrNotFound", err)
			}
		})
	}
}

// chunkOf names chunk i of profile dev's current generation.
func chunkOf(f *fakeKeyring, i int) string {
	for _, u := range f.users() {
		if strings.HasPrefix(u, "dev/") && strings.HasSuffix(u, fmt.Sprintf("/%d", i)) && !strings.HasSuffix(u, pendingSuffix) {
			return u
		}
	}
	return "no such chunk"
}

func TestKeyringSaveReplacesACorruptEntry(t *testing.T) {
	k, fake := testKeyring(t)
	fake.put("dev", "garbage")
	if err := k.Save(bg(), "dev", smallToken()); err != nil {
		t.Fatalf("Save over a corrupt entry: %v", err)
	}
	got, err := k.Load(bg(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	checkSame(t, got, smallToken())
}

func TestKeyringLoadFollowsASaveThatSwitchesGenerationMidRead(t *testing.T) {
	k, fake := testKeyring(t)
	if err := k.Save(bg(), "dev", bigToken()); err != nil {
		t.Fatal(err)
	}
	// Another process (its own store, same keyring) saves a new token while
	// this one is between the manifest and the first chunk.
	other := newKeyring(Options{Dir: k.dir, Keyring: fake, KeyringTimeout: 5 * time.Second})
	newer := bigToken()
	newer.ClientID = "saved meanwhile"
	var once sync.Once
	var otherErr error
	fake.setBefore(func(op, user, _ string) error {
		if op == "get" && strings.HasSuffix(user, "/0") {
			once.Do(func() {
				otherErr = other.Save(bg(), "dev", newer)
			})
		}
		return nil
	})
	got, err := k.Load(bg(), "dev")
	if otherErr != nil {
		t.Fatal(otherErr)
	}
	if err != nil {
		t.Fatalf("Load during a concurrent save = %v, want the newer token", err)
	}
	checkSame(t, got, newer)
}

// blockingKeyring makes calls matching match wait until release is closed.
func blockingKeyring(fake *fakeKeyring, match func(op, user string) bool) (release func(), finished <-chan struct{}) {
	ch := make(chan struct{})
	done := make(chan struct{}, 100)
	fake.setBefore(func(op, user, _ string) error {
		if match(op, user) {
			<-ch
			done <- struct{}{}
		}
		return nil
	})
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }, done
}

func TestKeyringTimeoutIsUnavailableNotNotFound(t *testing.T) {
	fake := newFakeKeyring(0)
	release, _ := blockingKeyring(fake, func(string, string) bool { return true })
	defer release()
	k := newKeyring(Options{Dir: t.TempDir(), Keyring: fake, KeyringTimeout: 50 * time.Millisecond})

	_, err := k.Load(bg(), "dev")
	var u *UnavailableError
	if !errors.As(err, &u) || !errors.Is(err, ErrTimeout) || errors.Is(err, ErrNotFound) {
		t.Fatalf("Load from a hung keyring = %v, want *UnavailableError wrapping ErrTimeout", err)
	}
	if !strings.Contains(err.Error(), "locked or hung") {
		t.Errorf("timeout error %q should say the keyring may be locked or hung", err)
	}
	// The abandoned call still runs, so the next call must not start.
	if err := k.Save(bg(), "dev", smallToken()); !errors.Is(err, ErrTimeout) {
		t.Errorf("Save while an abandoned call is still running = %v, want ErrTimeout", err)
	}
}

func TestKeyringCallerCancellationIsNotReportedAsUnavailable(t *testing.T) {
	fake := newFakeKeyring(0)
	release, _ := blockingKeyring(fake, func(string, string) bool { return true })
	defer release()
	k := newKeyring(Options{Dir: t.TempDir(), Keyring: fake, KeyringTimeout: time.Hour})
	ctx, cancel := context.WithCancel(bg())
	cancel()
	_, err := k.Load(ctx, "dev")
	var u *UnavailableError
	if !errors.Is(err, context.Canceled) || errors.As(err, &u) {
		t.Fatalf("Load with a cancelled context = %v, want context.Canceled", err)
	}
}

func TestKeyringWriteThatLandsAfterItsTimeoutLeavesACompleteEntry(t *testing.T) {
	tests := []struct {
		name  string
		block func(op, user string) bool
		want  string // which token Load must return once the write lands
	}{
		{"a chunk write lands late", func(op, user string) bool { return op == "set" && strings.HasSuffix(user, "/1") }, "old"},
		{"the manifest switch lands late", func(op, user string) bool { return op == "set" && user == "dev" }, "new"},
	}
	for _, tt := range tests {
		// On the bubble's clock, only the hung call waits out the 200 ms
		// timeout: on a loaded machine's real clock, an earlier call of the
		// save could time out first, and the hung write never start.
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				k, fake := testKeyring(t)
				old, newTok := bigToken(), bigToken()
				old.ClientID, newTok.ClientID = "old", "new"
				if err := k.Save(bg(), "dev", old); err != nil {
					t.Fatal(err)
				}
				k.timeout = 200 * time.Millisecond
				release, finished := blockingKeyring(fake, tt.block)
				if err := k.Save(bg(), "dev", newTok); !errors.Is(err, ErrTimeout) {
					t.Fatalf("Save with a hung write = %v, want ErrTimeout", err)
				}
				release()
				select {
				case <-finished: // the abandoned write is under way; the next call waits for it
				case <-time.After(30 * time.Second):
					t.Fatal("the hung write never started: an earlier call of the save timed out first")
				}
				fake.setBefore(nil)
				k.timeout = 5 * time.Second
				got, err := k.Load(bg(), "dev")
				if err != nil {
					t.Fatalf("Load after the late write = %v, want a complete entry", err)
				}
				if got.ClientID != tt.want {
					t.Errorf("Load returned the %s token, want the %s one", got.ClientID, tt.want)
				}
				checkSame(t, got, map[string]*Token{"old": old, "new": newTok}[tt.want])
				if err := k.Delete(bg(), "dev"); err != nil {
					t.Fatal(err)
				}
				if users := fake.users(); len(users) != 0 {
					t.Errorf("after logout the keyring still holds %q", users)
				}
			})
		})
	}
}

func TestKeyringPanicBecomesAnError(t *testing.T) {
	for name, boom := range map[string]func(){
		"a string panic":  func() { panic("cannot store " + secretAccess) },
		"an error panic":  func() { panic(fmt.Errorf("cannot store %s", secretRefresh)) },
		"a runtime panic": func() { var m map[string]int; m["x"]++ },
	} {
		t.Run(name, func(t *testing.T) {
			fake := newFakeKeyring(0)
			fake.before = func(string, string, string) error { boom(); return nil }
			k := newKeyring(Options{Dir: t.TempDir(), Keyring: fake})
			err := k.Save(bg(), "dev", smallToken())
			if err == nil || !strings.Contains(err.Error(), "panicked") {
				t.Fatalf("Save through a panicking keyring = %v, want an error saying it panicked", err)
			}
			checkNoSecret(t, "panic error", err.Error())
		})
	}
}

func TestKeyringRefusesARecordLargerThanItsLimit(t *testing.T) {
	k, _ := testKeyring(t)
	tok := smallToken()
	tok.AccessToken = secretAccess + strings.Repeat("A", maxChunks*maxItemSize)
	err := k.Save(bg(), "dev", tok)
	if err == nil || !strings.Contains(err.Error(), "--token-store file") {
		t.Fatalf("Save of a token over the keyring limit = %v, want an error pointing to the file store", err)
	}
	checkNoSecret(t, "oversized token error", err.Error())
}

func TestClassifyUnavailableSaysWhyAndHowToFix(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantReason string
		wantFix    string
	}{
		{"no session bus", errNoSessionBus, "no D-Bus session bus", "dbus-run-session"},
		{"cannot connect to the bus", &net.OpError{Op: "dial", Net: "unix", Err: errors.New("connect: no such file or directory")},
			"cannot connect to the D-Bus session bus", "dbus-run-session"},
		{"no secret service on the bus", dbus.Error{Name: "org.freedesktop.DBus.Error.ServiceUnknown"},
			"no Secret Service provider", "gnome-keyring-daemon"},
		{"activation failed", &dbus.Error{Name: "org.freedesktop.DBus.Error.Spawn.ChildExited"},
			"no Secret Service provider", "gnome-keyring-daemon"},
		{"collection locked", dbus.Error{Name: "org.freedesktop.Secret.Error.IsLocked"}, "locked", "unlock"},
		{"no default collection", dbus.Error{Name: "org.freedesktop.Secret.Error.NoSuchObject"}, "no default keyring collection", "unlock"},
		{"go-keyring could not unlock", fmt.Errorf("failed to unlock correct collection '%v'", "/org/freedesktop/secrets/aliases/default"),
			"locked or missing", "unlock"},
		{"bad bus address", errors.New("dbus: invalid bus address (no transport)"), "not a valid D-Bus address", "dbus-run-session"},
		{"foreign bus", errors.New("dbus: authentication failed"), "refused", "dbus-run-session"},
		{"item too large", keyring.ErrSetDataTooBig, "too large", "--token-store file"},
		{"keychain tool missing", &exec.Error{Name: "/usr/bin/security", Err: exec.ErrNotFound}, "keyring tool", "--token-store file"},
		{"timeout", fmt.Errorf("x: %w", ErrTimeout), "did not answer", "unlock"},
		{"anything else", errors.New("element not found"), "the OS keyring failed", "--token-store file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := classifyUnavailable(tt.err)
			if !strings.Contains(u.Reason, tt.wantReason) || !strings.Contains(u.Fix, tt.wantFix) {
				t.Errorf("reason %q / fix %q, want them to mention %q / %q", u.Reason, u.Fix, tt.wantReason, tt.wantFix)
			}
			if !reflect.DeepEqual(u.Err, tt.err) {
				t.Error("the UnavailableError does not wrap the original error")
			}
			if !strings.Contains(u.Fix, "--token-store file") {
				t.Errorf("fix %q does not offer the file store", u.Fix)
			}
		})
	}
}
