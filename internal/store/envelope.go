package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// recordVersion is the version of the JSON record both the file and the
// keyring backends store. A reader refuses versions it does not know rather
// than guess.
const recordVersion = 1

// record is what a backend stores for one profile. SavedAt lets the auto
// store prefer the newer of a keyring entry and a file entry left by an
// earlier fallback.
type record struct {
	Version int       `json:"version"`
	SavedAt time.Time `json:"saved_at"`
	Token   *Token    `json:"token"`
}

func encodeRecord(t *Token, now time.Time) ([]byte, error) {
	b, err := json.Marshal(record{Version: recordVersion, SavedAt: now.UTC(), Token: t})
	if err != nil {
		// Only an expiry outside the years 0-9999 can fail here, and
		// encoding/json's message for it quotes no token text.
		return nil, fmt.Errorf("encode token record: %w", err)
	}
	return b, nil
}

// decodeRecord parses a stored record. Its errors describe where the record is
// broken but never quote it: encoding/json's own messages can include parts
// of the input (a time.Time parse error quotes the value).
func decodeRecord(b []byte) (*Token, time.Time, error) {
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, time.Time{}, describeJSONError(err, len(b))
	}
	switch {
	case r.Version != recordVersion:
		return nil, time.Time{}, fmt.Errorf("record format version %d is not supported by this idcsctl (written by a newer version?)", r.Version)
	case r.Token == nil:
		return nil, time.Time{}, errors.New("record holds no token")
	}
	return r.Token, r.SavedAt, nil
}

func describeJSONError(err error, size int) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("not valid JSON at byte %d of %d", syn.Offset, size)
	case errors.As(err, &typ):
		return fmt.Errorf("field %q has the wrong type", typ.Field)
	}
	return fmt.Errorf("not a valid token record (%d bytes)", size)
}
