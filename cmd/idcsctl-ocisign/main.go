// Command idcsctl-ocisign signs one HTTP request as OCI's request signature
// scheme asks, with an OCI session that `idcsctl oci session` wrote, using
// the OCI Go SDK's own session-token configuration provider and signer.
// `idcsctl fetch --oci` runs it for each request; it is a program of its
// own so that idcsctl itself does not link the SDK (docs/performance.md).
//
//	idcsctl-ocisign --config FILE --profile NAME < request.json > headers.json
//	idcsctl-ocisign --config FILE --profile NAME --check
//
// The request is internal/oci's SignInput as JSON; the answer its
// SignOutput. The session's key and token are read from the files the
// config section names, never from argv or stdin.
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/idcsctl/idcsctl/internal/oci/signer"
)

func main() {
	if err := signer.Main(os.Args[1:], os.Stdin, os.Stdout, time.Now); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
