package kube

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// KubectlVersion is a kubectl client's version, as `kubectl version
// --client -o json` reports it. What a kubeconfig entry may hold depends on
// it: kubectl before 1.22 reads only exec entries of APIVersionV1beta1.
type KubectlVersion struct {
	Major, Minor int
	// GitVersion is the full version ("v1.20.2"), for messages.
	GitVersion string
}

// ErrKubectlVersion marks output of `kubectl version --client -o json`
// that does not say which version it is.
var ErrKubectlVersion = errors.New("kubectl did not say its version")

// ParseKubectlVersion reads the output of `kubectl version --client -o
// json`: its clientVersion's major and minor, where a minor may carry a
// suffix ("32+" from some builds).
func ParseKubectlVersion(out []byte) (KubectlVersion, error) {
	var w struct {
		ClientVersion *struct {
			Major      string `json:"major"`
			Minor      string `json:"minor"`
			GitVersion string `json:"gitVersion"`
		} `json:"clientVersion"`
	}
	if err := json.Unmarshal(out, &w); err != nil {
		return KubectlVersion{}, fmt.Errorf("%w: %v", ErrKubectlVersion, err)
	}
	if w.ClientVersion == nil {
		return KubectlVersion{}, fmt.Errorf("%w: no clientVersion", ErrKubectlVersion)
	}
	major, err1 := leadingNumber(w.ClientVersion.Major)
	minor, err2 := leadingNumber(w.ClientVersion.Minor)
	if err := errors.Join(err1, err2); err != nil {
		return KubectlVersion{}, fmt.Errorf("%w: %v", ErrKubectlVersion, err)
	}
	return KubectlVersion{Major: major, Minor: minor, GitVersion: w.ClientVersion.GitVersion}, nil
}

// leadingNumber is the number at the start of s: 32 of "32+".
func leadingNumber(s string) (int, error) {
	digits := s[:len(s)-len(strings.TrimLeft(s, "0123456789"))]
	n, err := strconv.Atoi(digits)
	if err != nil {
		return 0, fmt.Errorf("version number %q: %w", s, err)
	}
	return n, nil
}

func (v KubectlVersion) String() string {
	if v.GitVersion != "" {
		return v.GitVersion
	}
	return fmt.Sprintf("%d.%d", v.Major, v.Minor)
}

func (v KubectlVersion) atLeast(major, minor int) bool {
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

// ExecAPIVersion is the exec API version to write for this kubectl:
// APIVersionV1 from 1.22, where it came in, APIVersionV1beta1 before.
func (v KubectlVersion) ExecAPIVersion() string {
	if v.atLeast(1, 22) {
		return APIVersionV1
	}
	return APIVersionV1beta1
}

// CannotWrite says why idcsctl does not let this kubectl's `config
// set-credentials` write the entry e, or "" when it may. Before 1.22
// (exec v1beta1 only) idcsctl writes the entry itself: the kubectl 1.20 that
// Debian ships (kubernetes-client, built with a newer Go than 1.20 was made
// for) crashes in set-credentials, whatever it is asked to set. From 1.22 it
// must read e's API version, and an interactiveMode needs its
// --exec-interactive-mode flag, which came with 1.30.
func (v KubectlVersion) CannotWrite(e Exec) string {
	if !v.atLeast(1, 22) {
		return fmt.Sprintf("kubectl %s predates 1.22, and idcsctl does not use its config set-credentials (Debian's 1.20 crashes in it)", v)
	}
	if e.InteractiveMode != "" && !v.atLeast(1, 30) {
		return fmt.Sprintf("kubectl %s cannot set interactiveMode (its --exec-interactive-mode came with 1.30)", v)
	}
	return ""
}

// ParseAPIVersion reads the exec API version a person names: v1 or
// v1beta1, with or without the client.authentication.k8s.io/ group.
func ParseAPIVersion(s string) (string, error) {
	switch strings.TrimPrefix(s, "client.authentication.k8s.io/") {
	case "v1":
		return APIVersionV1, nil
	case "v1beta1":
		return APIVersionV1beta1, nil
	}
	return "", fmt.Errorf("exec API version %q is not one idcsctl writes: v1 (kubectl 1.22 and later) or v1beta1 (older kubectl)", s)
}

// ExecFor is the exec entry that runs command with args in apiVersion:
// interactiveMode IfAvailable in v1, which requires the field; none in
// v1beta1, where kubectl from 1.22 takes IfAvailable by default and
// earlier kubectl has no such field.
func ExecFor(apiVersion, command string, args []string) Exec {
	e := Exec{APIVersion: apiVersion, Command: command, Args: args}
	if apiVersion == APIVersionV1 {
		e.InteractiveMode = InteractiveIfAvailable
	}
	return e
}
