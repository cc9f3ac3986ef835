package oci

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofrs/flock"
)

// KeeperRecord says which process keeps which session fresh, for
// `idcsctl oci session --status`.
type KeeperRecord struct {
	PID        int    `json:"pid"`
	Profile    string `json:"profile"`
	Name       string `json:"name"`
	ConfigPath string `json:"config_path"`
	// Command is how the keeper runs: "exec" or "keep-fresh".
	Command string    `json:"command"`
	Since   time.Time `json:"since"`
}

// Announce records r in dir for as long as the process runs or until
// release is called. The record is a JSON file beside a lock file the
// process holds: a record whose lock nobody holds is of a process that
// ended without saying so (kill -9), and Keepers removes it.
func Announce(dir string, r KeeperRecord) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	base := filepath.Join(dir, strconv.Itoa(r.PID))
	fl := flock.New(base+".lock", flock.SetPermissions(0o600))
	// Locked first, so that the record is never seen without its lock.
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", fl.Path(), err)
	}
	if !ok {
		return nil, fmt.Errorf("lock %s: another process holds it", fl.Path())
	}
	// Written in place, without the fsyncs of an atomic write: the record
	// lives only as long as the process, and Keepers skips a record it
	// cannot read yet.
	data, err := json.Marshal(r)
	if err == nil {
		err = os.WriteFile(base+".json", append(data, '\n'), 0o600)
	}
	if err != nil {
		_ = fl.Unlock()
		return nil, err
	}
	return func() {
		_ = os.Remove(base + ".json")
		_ = os.Remove(base + ".lock")
		_ = fl.Unlock()
	}, nil
}

// Keepers lists the keepers recorded in dir that still run, by profile,
// session and process; the records of processes that ended are removed.
func Keepers(dir string) ([]KeeperRecord, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	var out []KeeperRecord
	for _, file := range files {
		base := strings.TrimSuffix(file, ".json")
		fl := flock.New(base+".lock", flock.SetPermissions(0o600))
		if ok, err := fl.TryLock(); err == nil && ok {
			_ = os.Remove(file)
			_ = os.Remove(base + ".lock")
			_ = fl.Unlock()
			continue
		}
		data, err := os.ReadFile(file)
		if errors.Is(err, fs.ErrNotExist) {
			continue // it ended just now
		}
		var r KeeperRecord
		if err != nil || json.Unmarshal(data, &r) != nil {
			continue // being written, or not ours to judge
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Profile != b.Profile {
			return a.Profile < b.Profile
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.PID < b.PID
	})
	return out, nil
}
