// Package ocir mints credentials for OCI Container Registry (OCIR) from an
// OCI session: it knows OCIR's hosts and the regions they serve, asks a
// registry for a short-lived token with a request signed by the session's
// key (GET https://<host>/20180419/docker/token), keeps that token until
// shortly before it expires, and edits the credHelpers of docker's
// config.json so docker, podman, skopeo and crane ask for it.
//
// It is the room beside internal/oci: it reuses oci's session (made and
// kept fresh by `idcsctl oci session`) and its signer program, and knows
// nothing of where idcsctl keeps its domain tokens, of cobra, or of the
// docker credential helper protocol, which cmd/docker-credential-idcsctl
// speaks through internal/ocir/credhelper.
package ocir
