// Command docker-credential-idcsctl is a docker credential helper for OCI
// Container Registry (OCIR): with credHelpers entries in docker's
// config.json (`idcsctl oci registry setup` writes them), docker, podman,
// skopeo and crane get a short-lived registry token minted from the
// idcsctl sign-in instead of a long-lived auth token.
//
//	echo iad.ocir.io | docker-credential-idcsctl get
//
// It speaks the docker credential helper protocol (get, store, erase,
// list, version); see internal/ocir/credhelper and docs/oci.md. It is a
// program of its own, beside idcsctl and idcsctl-ocisign, so that idcsctl
// links nothing of it.
package main

import (
	"os"

	"github.com/idcsctl/idcsctl/internal/ocir/credhelper"
)

func main() {
	os.Exit(credhelper.Run())
}
