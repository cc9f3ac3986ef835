// Package kube is kubectl's side of idcsctl: the ExecCredential documents a
// client-go credential plugin reads and writes (client.authentication.k8s.io
// v1 and v1beta1), the kubeconfig user entry that runs the plugin, and the
// API server's OpenID Connect settings that accept its tokens.
//
// It knows nothing of how a token is obtained or kept: the kube command asks
// internal/session for one and hands it here to be written.
package kube

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// The API versions of the client.authentication.k8s.io group a plugin
// speaks; kubectl names the one of the kubeconfig's exec entry.
const (
	APIVersionV1      = "client.authentication.k8s.io/v1"
	APIVersionV1beta1 = "client.authentication.k8s.io/v1beta1"
)

// EnvExecInfo is the variable in which kubectl passes the plugin its
// ExecCredential request.
const EnvExecInfo = "KUBERNETES_EXEC_INFO"

// kindExecCredential is the kind of the request and the answer.
const kindExecCredential = "ExecCredential"

// maxExecInfo bounds the request read from the environment; a cluster's CA
// bundle, the largest thing it may carry, is a few kilobytes.
const maxExecInfo = 1 << 20

// ExecInfo is what kubectl asks of the plugin.
type ExecInfo struct {
	// APIVersion is the version to answer in.
	APIVersion string
	// Interactive says that kubectl gave the plugin its stdin and a person
	// may be asked something; false means no prompt may be shown.
	Interactive bool
}

// ErrExecInfo marks a KUBERNETES_EXEC_INFO that is not an ExecCredential
// request this plugin can answer.
var ErrExecInfo = errors.New("KUBERNETES_EXEC_INFO is not a valid ExecCredential request")

// execInfoWire is the request as kubectl writes it. Unknown fields are
// refused, so that a request from another tool is not half understood.
type execInfoWire struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Spec       *struct {
		Interactive *bool `json:"interactive"`
		// Cluster is present when the kubeconfig sets provideClusterInfo;
		// the plugin does not need it, but it must be an object.
		Cluster json.RawMessage `json:"cluster"`
	} `json:"spec"`
}

// ParseExecInfo reads kubectl's request. An empty raw means no request (a
// person running the plugin by hand, or a client older than 1.22): answer in
// v1beta1, and never interactively. Anything else must be one ExecCredential
// object of a known version, else the error wraps ErrExecInfo and says what
// is wrong.
func ParseExecInfo(raw string) (ExecInfo, error) {
	if raw == "" {
		return ExecInfo{APIVersion: APIVersionV1beta1}, nil
	}
	if len(raw) > maxExecInfo {
		return ExecInfo{}, fmt.Errorf("%w: it is %d bytes, more than the %d a request can be", ErrExecInfo, len(raw), maxExecInfo)
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	dec.DisallowUnknownFields()
	var w execInfoWire
	if err := dec.Decode(&w); err != nil {
		return ExecInfo{}, fmt.Errorf("%w: %v", ErrExecInfo, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return ExecInfo{}, fmt.Errorf("%w: there is more after the JSON object", ErrExecInfo)
	}
	if w.Kind != kindExecCredential {
		return ExecInfo{}, fmt.Errorf("%w: kind is %q, not %q", ErrExecInfo, w.Kind, kindExecCredential)
	}
	switch w.APIVersion {
	case APIVersionV1, APIVersionV1beta1:
	default:
		return ExecInfo{}, fmt.Errorf("%w: apiVersion %q is not one idcsctl speaks (%s or %s); set the kubeconfig's exec apiVersion to %s",
			ErrExecInfo, w.APIVersion, APIVersionV1, APIVersionV1beta1, APIVersionV1)
	}
	if w.Spec == nil {
		return ExecInfo{}, fmt.Errorf("%w: it has no spec", ErrExecInfo)
	}
	if len(w.Spec.Cluster) > 0 && !bytes.Equal(w.Spec.Cluster, []byte("null")) && w.Spec.Cluster[0] != '{' {
		return ExecInfo{}, fmt.Errorf("%w: spec.cluster is not an object", ErrExecInfo)
	}
	info := ExecInfo{APIVersion: w.APIVersion}
	switch {
	case w.Spec.Interactive != nil:
		info.Interactive = *w.Spec.Interactive
	case w.APIVersion == APIVersionV1:
		// v1 made the field required; a v1 request without it is not
		// kubectl's, and guessing "interactive" could hang a script.
		return ExecInfo{}, fmt.Errorf("%w: spec.interactive is required in %s", ErrExecInfo, APIVersionV1)
	}
	return info, nil
}

// Credential is the token the plugin hands kubectl.
type Credential struct {
	Token string
	// Expiry is when kubectl must ask again; zero means never, which
	// makes kubectl ask only when the API server refuses the token.
	Expiry time.Time
}

type credentialWire struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Spec       struct{}       `json:"spec"`
	Status     credentialBody `json:"status"`
}

type credentialBody struct {
	ExpirationTimestamp string `json:"expirationTimestamp,omitempty"`
	Token               string `json:"token"`
}

// Write writes c as the ExecCredential answer to info on w: one JSON
// document, in the request's API version, with the expiry in RFC 3339 UTC
// as Kubernetes' metav1.Time writes it.
func Write(w io.Writer, info ExecInfo, c Credential) error {
	if c.Token == "" {
		return errors.New("no token to hand to kubectl")
	}
	out := credentialWire{APIVersion: info.APIVersion, Kind: kindExecCredential, Status: credentialBody{Token: c.Token}}
	if out.APIVersion == "" {
		out.APIVersion = APIVersionV1beta1
	}
	if !c.Expiry.IsZero() {
		out.Status.ExpirationTimestamp = c.Expiry.UTC().Format(time.RFC3339)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
