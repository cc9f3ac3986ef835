package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// What idcsctl makes of a token answer's expires_in (RFC 6749 5.1), as
// providers really send it:
//
//   - a number of seconds, as an integer (3600), a float (3600.0; a
//     fraction is dropped) or a numeric string ("3600"): the token expires
//     that long from now, capped at maxExpiresIn (about 68 years), so a
//     huge value (1e30, 10^20) never overflows into the past;
//   - zero or negative: the provider says the token is already expired: it
//     is handed out to the command that got it, and the next command that
//     needs a token refreshes it;
//   - missing, or not a number (a word, a boolean, null): the provider does
//     not say, and RFC 6749 lets it document a default: idcsctl uses the
//     access token's own exp claim when it is a JWT (IDCS's are), else
//     assumes defaultAccessTokenLifetime (IDCS's default lifetime).
const (
	maxExpiresIn               = math.MaxInt32
	defaultAccessTokenLifetime = time.Hour
)

// parseExpiresIn reads an expires_in value: a JSON number or string (raw
// JSON), or a form value. ok is false when there is no number to read.
// The result is in [0, maxExpiresIn]: zero for zero or negative values.
func parseExpiresIn(v any) (secs int64, ok bool) {
	var s string
	switch x := v.(type) {
	case json.RawMessage:
		var str string
		if json.Unmarshal(x, &str) == nil {
			s = str
		} else {
			s = string(x)
		}
	case string:
		s = x
	case float64:
		s = strconv.FormatFloat(x, 'g', -1, 64)
	case int64:
		s = strconv.FormatInt(x, 10)
	case json.Number:
		s = x.String()
	default:
		return 0, false
	}
	s = strings.TrimSpace(s)
	f, err := strconv.ParseFloat(s, 64)
	// A JSON number beyond float64 (1e400) parses as ±Inf with ErrRange:
	// it is still a number, only a huge one. "Inf" and "NaN" as words are
	// not numbers a provider means.
	if err != nil && !errors.Is(err, strconv.ErrRange) || math.IsNaN(f) || strings.ContainsAny(s, "iInN") {
		return 0, false
	}
	switch {
	case f <= 0:
		return 0, true
	case f >= maxExpiresIn:
		return maxExpiresIn, true
	}
	return int64(f), true
}

// normalizeTokenJSON rewrites expires_in in a JSON token answer to the whole
// number of seconds parseExpiresIn reads (or drops it when it is not a
// number), because x/oauth2 refuses the whole answer, a good access token
// included, when expires_in is anything but an integer that fits int64.
// Anything that is not a JSON object is left as it is.
func normalizeTokenJSON(body []byte) []byte {
	if !bytes.Contains(body, []byte(`"expires_in"`)) {
		return body
	}
	var doc map[string]json.RawMessage
	if json.Unmarshal(body, &doc) != nil {
		return body
	}
	raw, present := doc["expires_in"]
	if !present {
		return body
	}
	if secs, ok := parseExpiresIn(raw); ok {
		doc["expires_in"] = json.RawMessage(strconv.FormatInt(secs, 10))
	} else {
		delete(doc, "expires_in")
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return body
	}
	return out
}

// expiry is when an access token from a token answer expires; see the
// rules above.
func (c *Client) expiry(tok *oauth2.Token) time.Time {
	now := c.now()
	if v := tok.Extra("expires_in"); v != nil {
		if secs, ok := parseExpiresIn(v); ok {
			return now.Add(time.Duration(secs) * time.Second)
		}
	}
	if exp, ok := jwtExpiry(tok.AccessToken); ok {
		if limit := now.Add(maxExpiresIn * time.Second); exp.After(limit) {
			return limit
		}
		return exp
	}
	return now.Add(defaultAccessTokenLifetime)
}

// jwtExpiry reads the exp claim of an access token that is a JWT, without
// verifying it: it only tells when to refresh, and the token came straight
// from the token endpoint.
func jwtExpiry(token string) (time.Time, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp json.Number `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp == "" {
		return time.Time{}, false
	}
	exp, err := claims.Exp.Float64()
	if err != nil || exp <= 0 || exp > math.MaxInt64/2 {
		return time.Time{}, false
	}
	return time.Unix(int64(exp), 0), true
}
