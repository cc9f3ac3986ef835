package emulator

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A small OCI-like API, served beside the domain so `fetch --oci` and the
// OCI SDKs can be proven end to end: every request must carry OCI's request
// signature (draft-cavage HTTP signatures, keyId "ST$<UPST>", rsa-sha256)
// made with the private key of a session the emulator exchanged, over the
// headers OCI requires for the method. It answers as OCI's Identity API does
// (/20160918/...), with OCI's error shape {"code", "message"}.

// OCIAPIPrefix is where the OCI-like API lives.
const OCIAPIPrefix = "/20160918/"

// maxSignatureSkew is how far a request's signed date (x-date or date) may
// be from the emulator's clock, as OCI allows.
const maxSignatureSkew = 5 * time.Minute

// compartmentCount is how many compartments the tenancy lists, so paging
// with opc-next-page has pages.
const compartmentCount = 7

func (e *Emulator) ociRoutes(m *http.ServeMux) {
	m.HandleFunc("GET "+OCIAPIPrefix+"tenancies/{id}", e.handleOCITenancy)
	m.HandleFunc("GET "+OCIAPIPrefix+"users/{id}", e.handleOCIUser)
	m.HandleFunc("GET "+OCIAPIPrefix+"compartments", e.handleOCICompartments)
	m.HandleFunc("POST "+OCIAPIPrefix+"compartments", e.handleOCICreateCompartment)
}

func ociError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("opc-request-id", randomToken(12))
	writeJSON(w, status, map[string]string{"code": code, "message": msg})
}

// verifyOCISignature checks r's OCI request signature and returns the
// session it was made with; on failure it has written a 401 already.
func (e *Emulator) verifyOCISignature(w http.ResponseWriter, r *http.Request, body []byte) (*upstRecord, bool) {
	fail := func(msg string) (*upstRecord, bool) {
		ociError(w, http.StatusUnauthorized, "NotAuthenticated", msg)
		return nil, false
	}
	params, ok := parseSignatureHeader(r.Header.Get("Authorization"))
	if !ok {
		return fail("The required information to complete authentication was not provided or was incorrect.")
	}
	if params["version"] != "1" || params["algorithm"] != "rsa-sha256" {
		return fail("The signature must be version 1 with algorithm rsa-sha256.")
	}
	keyID := params["keyId"]
	if !strings.HasPrefix(keyID, "ST$") {
		return fail("The keyId must be ST$ followed by a security token.")
	}
	rec, problem := e.lookupUPST(strings.TrimPrefix(keyID, "ST$"))
	if problem != "" {
		return fail(problem)
	}
	signed := strings.Fields(strings.ToLower(params["headers"]))
	required := []string{"(request-target)", "host"}
	if r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
		required = append(required, "content-length", "content-type", "x-content-sha256")
		sum := sha256.Sum256(body)
		if r.Header.Get("x-content-sha256") != base64.StdEncoding.EncodeToString(sum[:]) {
			return fail("The x-content-sha256 header does not match the body.")
		}
		if r.Header.Get("content-length") != strconv.Itoa(len(body)) {
			return fail("The content-length header does not match the body.")
		}
	}
	for _, h := range required {
		if !slices.Contains(signed, h) {
			return fail(fmt.Sprintf("The signature must cover the %s header.", h))
		}
	}
	dateHeader, ok := signedDateHeader(signed)
	if !ok {
		return fail("The signature must cover the date or x-date header.")
	}
	date, err := http.ParseTime(r.Header.Get(dateHeader))
	if err != nil {
		return fail(fmt.Sprintf("The %s header is missing or not an HTTP date.", dateHeader))
	}
	if d := e.now().Sub(date); d > maxSignatureSkew || d < -maxSignatureSkew {
		return fail(fmt.Sprintf("The %s header is more than 5 minutes from the server's clock.", dateHeader))
	}
	lines := make([]string, len(signed))
	for i, h := range signed {
		var v string
		switch h {
		case "(request-target)":
			v = strings.ToLower(r.Method) + " " + r.URL.RequestURI()
		case "host":
			v = r.Host
		default:
			v = r.Header.Get(h)
		}
		lines[i] = h + ": " + v
	}
	sig, err := base64.StdEncoding.DecodeString(params["signature"])
	if err != nil {
		return fail("The signature is not base64.")
	}
	digest := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	if rsa.VerifyPKCS1v15(rec.key, crypto.SHA256, digest[:], sig) != nil {
		return fail("The signature does not verify with the session's key.")
	}
	return rec, true
}

// signedDateHeader says which header dates a request whose signature
// covers the headers signed: OCI takes `date` or `x-date` (browsers and
// Oracle's JavaScript SDK cannot set `date`, so they sign `x-date`) and,
// when both are signed, x-date. A header the signature does not cover
// never dates the request, so a fresh unsigned x-date cannot revive an old
// signed request.
func signedDateHeader(signed []string) (string, bool) {
	switch {
	case slices.Contains(signed, "x-date"):
		return "x-date", true
	case slices.Contains(signed, "date"):
		return "date", true
	}
	return "", false
}

// parseSignatureHeader reads `Signature k="v",k="v"...`.
func parseSignatureHeader(h string) (map[string]string, bool) {
	rest, ok := strings.CutPrefix(h, "Signature ")
	if !ok {
		return nil, false
	}
	out := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
			return nil, false
		}
		out[k] = v[1 : len(v)-1]
	}
	return out, true
}

// readOCIRequest reads the body (bounded) and verifies the signature.
func (e *Emulator) readOCIRequest(w http.ResponseWriter, r *http.Request) (*upstRecord, []byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		ociError(w, http.StatusBadRequest, "InvalidParameter", "The body cannot be read.")
		return nil, nil, false
	}
	rec, ok := e.verifyOCISignature(w, r, body)
	return rec, body, ok
}

func (e *Emulator) handleOCITenancy(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := e.readOCIRequest(w, r); !ok {
		return
	}
	if r.PathValue("id") != tenancyOCID {
		ociError(w, http.StatusNotFound, "NotAuthorizedOrNotFound", "Authorization failed or requested resource not found.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": tenancyOCID, "name": "emulator", "description": "The tenancy of the idcsctl emulator",
		"homeRegionKey": "IAD", "freeformTags": map[string]string{}, "definedTags": map[string]any{},
	})
}

func (e *Emulator) handleOCIUser(w http.ResponseWriter, r *http.Request) {
	rec, _, ok := e.readOCIRequest(w, r)
	if !ok {
		return
	}
	if r.PathValue("id") != userOCID(rec.user) {
		ociError(w, http.StatusNotFound, "NotAuthorizedOrNotFound", "Authorization failed or requested resource not found.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": userOCID(rec.user), "compartmentId": tenancyOCID, "name": rec.user.UserName,
		"description": rec.user.DisplayName, "email": rec.user.Email, "lifecycleState": "ACTIVE",
	})
}

// handleOCICompartments lists the tenancy's compartments a page at a time:
// limit (default 3) and page, with opc-next-page naming the next page.
func (e *Emulator) handleOCICompartments(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := e.readOCIRequest(w, r); !ok {
		return
	}
	q := r.URL.Query()
	if q.Get("compartmentId") != tenancyOCID {
		ociError(w, http.StatusBadRequest, "InvalidParameter", "compartmentId must be the tenancy's OCID.")
		return
	}
	limit, start := 3, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			ociError(w, http.StatusBadRequest, "InvalidParameter", "limit must be 1 to 1000.")
			return
		}
		limit = n
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(v, "page-"))
		if err != nil || n < 0 || n > compartmentCount {
			ociError(w, http.StatusBadRequest, "InvalidParameter", "page is not a page token of this list.")
			return
		}
		start = n
	}
	items := []map[string]any{}
	end := min(start+limit, compartmentCount)
	for i := start; i < end; i++ {
		items = append(items, map[string]any{
			"id":             fmt.Sprintf("ocid1.compartment.oc1..aaaaaaaaemulator%02d", i),
			"compartmentId":  tenancyOCID,
			"name":           fmt.Sprintf("compartment-%02d", i),
			"lifecycleState": "ACTIVE",
		})
	}
	if end < compartmentCount {
		w.Header().Set("opc-next-page", fmt.Sprintf("page-%d", end))
	}
	writeJSON(w, http.StatusOK, items)
}

// handleOCICreateCompartment answers a signed POST with the compartment it
// would create, so body signing (x-content-sha256) is proven.
func (e *Emulator) handleOCICreateCompartment(w http.ResponseWriter, r *http.Request) {
	_, body, ok := e.readOCIRequest(w, r)
	if !ok {
		return
	}
	if !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		ociError(w, http.StatusBadRequest, "InvalidParameter", "The body must be a JSON object.")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// AuthenticateOCI checks r's OCI request signature as the OCI-like API
// does, for a server beside the emulator (the OCIR-like registry of
// internal/emulator/registry); on failure it has answered 401 in OCI's
// error shape. It returns the user the session belongs to.
func (e *Emulator) AuthenticateOCI(w http.ResponseWriter, r *http.Request) (string, bool) {
	rec, _, ok := e.readOCIRequest(w, r)
	if !ok {
		return "", false
	}
	return rec.user.UserName, true
}
