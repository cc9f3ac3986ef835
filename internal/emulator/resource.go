package emulator

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// handleUserinfo is OpenID Connect's userinfo: the claims the granted scopes
// allow (Core 5.4), for a token that was granted openid.
func (e *Emulator) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	tok, bad := bearerToken(w, r, true)
	if bad != "" {
		bearerChallenge(w, "invalid_request", bad)
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": bad})
		return
	}
	rec, problem := e.lookupAccess(tok)
	if problem != "" {
		code := "invalid_token"
		if tok == "" {
			code = "" // RFC 6750 3.1: no error code when no token was sent
		}
		bearerChallenge(w, code, string(problem))
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": string(problem)})
		return
	}
	if rec.grant.user == nil || !hasScope(rec.scopes, "openid") {
		const desc = "The access token was not granted the openid scope."
		w.Header().Set("WWW-Authenticate", `Bearer realm="IDCS", error="insufficient_scope", scope="openid", error_description="`+desc+`"`)
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "insufficient_scope", "error_description": desc})
		return
	}
	u := rec.grant.user
	claims := map[string]any{"sub": u.UserName}
	if hasScope(rec.scopes, "profile") {
		claims["name"] = u.DisplayName
		claims["given_name"] = u.GivenName
		claims["family_name"] = u.FamilyName
		claims["preferred_username"] = u.UserName
		claims["zoneinfo"] = userTZ
		claims["locale"] = userLocale
	}
	if hasScope(rec.scopes, "email") && u.Email != "" {
		claims["email"] = u.Email
		claims["email_verified"] = true
	}
	if hasScope(rec.scopes, "groups") {
		claims["groups"] = groupRefs(u, "")
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, claims)
}

// SCIM answers use IDCS's media type.
const scimJSON = "application/scim+json;charset=UTF-8"

// scimError writes a SCIM error (RFC 7644 3.12) with IDCS's message id.
func scimError(w http.ResponseWriter, status int, scimType, messageID, detail string) {
	body := map[string]any{
		"schemas": []string{
			"urn:ietf:params:scim:api:messages:2.0:Error",
			"urn:ietf:params:scim:api:oracle:idcs:extension:messages:Error",
		},
		"detail": detail,
		"status": strconv.Itoa(status),
		"urn:ietf:params:scim:api:oracle:idcs:extension:messages:Error": map[string]string{"messageId": messageID},
	}
	if scimType != "" {
		body["scimType"] = scimType
	}
	if status == http.StatusUnauthorized {
		bearerChallenge(w, "invalid_token", detail)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSONType(w, status, scimJSON, body)
}

// scimAuth checks a SCIM request's bearer token: it must be live and hold
// one of the scopes. ok is false when the answer is already written.
func (e *Emulator) scimAuth(w http.ResponseWriter, r *http.Request, scopes ...string) (*accessRecord, bool) {
	tok, bad := bearerToken(w, r, false)
	if bad != "" {
		scimError(w, http.StatusUnauthorized, "", "error.common.common.invalidToken", bad)
		return nil, false
	}
	rec, problem := e.lookupAccess(tok)
	if problem != "" {
		scimError(w, http.StatusUnauthorized, "", "error.common.common.invalidToken", string(problem))
		return nil, false
	}
	if !slices.ContainsFunc(scopes, func(s string) bool { return hasScope(rec.scopes, s) }) {
		scimError(w, http.StatusForbidden, "", "error.common.common.insufficientScope",
			fmt.Sprintf("The access token does not have the scope this resource needs (%s).", strings.Join(scopes, " or ")))
		return nil, false
	}
	return rec, true
}

// handleMe is /admin/v1/Me: the SCIM user of a user's access token.
func (e *Emulator) handleMe(w http.ResponseWriter, r *http.Request) {
	rec, ok := e.scimAuth(w, r, ScopeUserMe, ScopeMyScopes)
	if !ok {
		return
	}
	if rec.grant.user == nil {
		scimError(w, http.StatusForbidden, "", "error.common.common.insufficientScope",
			"The access token belongs to an application, not to a user, so there is no Me.")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSONType(w, http.StatusOK, scimJSON, scimUser(rec.grant.user, baseURL(r)))
}

// handleUsers is /admin/v1/Users with SCIM paging (RFC 7644 3.4.2.4): 1-based
// startIndex, count defaulting to 50 as in IDCS and capped at 1000.
func (e *Emulator) handleUsers(w http.ResponseWriter, r *http.Request) {
	if _, ok := e.scimAuth(w, r, ScopeMyScopes); !ok {
		return
	}
	q := r.URL.Query()
	start, err1 := intParam(q.Get("startIndex"), 1)
	count, err2 := intParam(q.Get("count"), 50)
	if err1 != nil || err2 != nil {
		scimError(w, http.StatusBadRequest, "invalidValue", "error.common.validation.invalidValue", "startIndex and count must be integers.")
		return
	}
	start = max(start, 1)
	count = min(max(count, 0), 1000)
	e.mu.Lock()
	users := slices.Clone(e.users)
	e.mu.Unlock()
	base := baseURL(r)
	resources := []map[string]any{}
	for i := start - 1; i < len(users) && len(resources) < count; i++ {
		resources = append(resources, scimUser(users[i], base))
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSONType(w, http.StatusOK, scimJSON, map[string]any{
		"schemas":      []string{"urn:ietf:params:scim:api:messages:2.0:ListResponse"},
		"totalResults": len(users),
		"Resources":    resources,
		"startIndex":   start,
		"itemsPerPage": len(resources),
	})
}

// handleUser is /admin/v1/Users/{id}.
func (e *Emulator) handleUser(w http.ResponseWriter, r *http.Request) {
	if _, ok := e.scimAuth(w, r, ScopeMyScopes); !ok {
		return
	}
	id := r.PathValue("id")
	e.mu.Lock()
	i := slices.IndexFunc(e.users, func(u *User) bool { return u.ID == id })
	var u *User
	if i >= 0 {
		u = e.users[i]
	}
	e.mu.Unlock()
	if u == nil {
		scimError(w, http.StatusNotFound, "", "error.common.common.resourceNotFound", fmt.Sprintf("Resource %s of type User not found.", shorten(id)))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSONType(w, http.StatusOK, scimJSON, scimUser(u, baseURL(r)))
}

func intParam(s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	return strconv.Atoi(s)
}

// created is the fixed creation time of every user, so answers are stable.
const created = "2024-01-15T10:00:00.000Z"

// scimUser is a user as IDCS's SCIM API returns it: the core User schema
// with IDCS's user extension and the OCI identifiers of identity domains.
func scimUser(u *User, base string) map[string]any {
	emails := []map[string]any{}
	if u.Email != "" {
		emails = append(emails,
			map[string]any{"value": u.Email, "type": "work", "primary": true, "verified": true},
			map[string]any{"value": u.Email, "type": "recovery", "primary": false, "verified": true})
	}
	return map[string]any{
		"schemas": []string{
			"urn:ietf:params:scim:schemas:core:2.0:User",
			"urn:ietf:params:scim:schemas:oracle:idcs:extension:user:User",
		},
		"id":              u.ID,
		"ocid":            "ocid1.user.oc1..aaaaaaaa" + stableID("user-ocid", u.ID),
		"userName":        u.UserName,
		"displayName":     u.DisplayName,
		"name":            map[string]string{"givenName": u.GivenName, "familyName": u.FamilyName, "formatted": strings.TrimSpace(u.GivenName + " " + u.FamilyName)},
		"emails":          emails,
		"groups":          groupRefs(u, base),
		"active":          true,
		"domainOcid":      domainOCID,
		"tenancyOcid":     tenancyOCID,
		"compartmentOcid": tenancyOCID,
		"meta": map[string]string{
			"resourceType": "User",
			"created":      created,
			"lastModified": created,
			"location":     base + "/admin/v1/Users/" + u.ID,
			"version":      stableID("version", u.ID)[:16],
		},
		"urn:ietf:params:scim:schemas:oracle:idcs:extension:user:User": map[string]any{
			"isFederatedUser":           false,
			"isAuthenticationDelegated": false,
			"creationMechanism":         "api",
			"doNotShowGettingStarted":   false,
			"status":                    "active",
		},
	}
}

// groupRefs lists a user's groups as SCIM references; with base "" (for
// userinfo) only the names.
func groupRefs(u *User, base string) any {
	if base == "" {
		return slices.Clone(u.Groups)
	}
	refs := []map[string]string{}
	for _, g := range u.Groups {
		id := stableID("group", g)
		refs = append(refs, map[string]string{
			"value":   id,
			"display": g,
			"$ref":    base + "/admin/v1/Groups/" + id,
			"type":    "direct",
		})
	}
	return refs
}

// handleIntrospect is RFC 7662 introspection, for confidential clients.
func (e *Emulator) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	form, oe := readForm(w, r)
	if oe != nil {
		oe.write(w)
		return
	}
	c, authenticated, oe := e.authenticateClient(r, form)
	if oe != nil {
		oe.write(w)
		return
	}
	if !authenticated {
		invalidClient(fmt.Sprintf("The application %s is public and cannot introspect tokens.", shorten(c.ID))).write(w)
		return
	}
	tok := form.Get("token")
	if tok == "" {
		badRequest("invalid_request", "The token parameter is missing.").write(w)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, e.introspect(tok, e.issuerFor(baseURL(r))))
}

func (e *Emulator) introspect(tok, issuer string) map[string]any {
	inactive := map[string]any{"active": false}
	h := hashToken(tok)
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if rec, ok := e.access[h]; ok {
		if rec.revoked || rec.grant.revoked || !now.Before(rec.expires) {
			return inactive
		}
		out := map[string]any{
			"active":     true,
			"token_type": "Bearer",
			"tok_type":   "AT",
			"scope":      strings.Join(rec.scopes, " "),
			"client_id":  rec.grant.client.ID,
			"exp":        rec.expires.Unix(),
			"iat":        rec.issued.Unix(),
			"iss":        issuer,
			"jti":        rec.jti,
			"sub":        rec.grant.client.ID,
			"sub_type":   "client",
		}
		if u := rec.grant.user; u != nil {
			out["sub"] = u.UserName
			out["sub_type"] = "user"
			out["username"] = u.UserName
			out["user_id"] = u.ID
			out["user_displayname"] = u.DisplayName
		}
		return out
	}
	if rec, ok := e.refresh[h]; ok {
		if rec.used || rec.grant.revoked || !now.Before(rec.expires) {
			return inactive
		}
		out := map[string]any{
			"active":     true,
			"token_type": "refresh_token",
			"scope":      strings.Join(rec.grant.scopes, " "),
			"client_id":  rec.grant.client.ID,
			"exp":        rec.expires.Unix(),
			"iss":        issuer,
		}
		if u := rec.grant.user; u != nil {
			out["sub"] = u.UserName
			out["username"] = u.UserName
		}
		return out
	}
	return inactive
}

// handleRevoke is RFC 7009 revocation: a refresh token takes its grant's
// access tokens with it; unknown tokens are fine (200), another client's
// tokens are not.
func (e *Emulator) handleRevoke(w http.ResponseWriter, r *http.Request) {
	form, oe := readForm(w, r)
	if oe != nil {
		oe.write(w)
		return
	}
	c, _, oe := e.authenticateClient(r, form)
	if oe != nil {
		oe.write(w)
		return
	}
	tok := form.Get("token")
	if tok == "" {
		badRequest("invalid_request", "The token parameter is missing.").write(w)
		return
	}
	h := hashToken(tok)
	e.mu.Lock()
	var owner *grant
	if rec, ok := e.refresh[h]; ok {
		owner = rec.grant
		if owner.client.ID == c.ID {
			owner.revoked = true
		}
	} else if rec, ok := e.access[h]; ok {
		owner = rec.grant
		if owner.client.ID == c.ID {
			rec.revoked = true
		}
	}
	e.mu.Unlock()
	if owner != nil && owner.client.ID != c.ID {
		badRequest("unauthorized_client", "The token was issued to another application.").write(w)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}
