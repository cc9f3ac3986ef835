package signer

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/idcsctl/idcsctl/internal/oci"
)

// Main is the program idcsctl-ocisign: args are its arguments; the request
// comes on stdin and the headers go to stdout. See cmd/idcsctl-ocisign.
func Main(args []string, stdin io.Reader, stdout io.Writer, now func() time.Time) error {
	fs := flag.NewFlagSet("idcsctl-ocisign", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	config := fs.String("config", "", "OCI config file")
	profile := fs.String("profile", "", "section of the OCI session")
	check := fs.Bool("check", false, "only check the session and print its realm domain")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *config == "" || *profile == "" {
		return errors.New("usage: idcsctl-ocisign --config FILE --profile NAME [--check] < request.json")
	}
	s, err := New(*config, *profile, now)
	if err != nil {
		return err
	}
	if *check {
		return json.NewEncoder(stdout).Encode(oci.SignOutput{RealmDomain: s.RealmDomain()})
	}
	var in oci.SignInput
	dec := json.NewDecoder(io.LimitReader(stdin, 256<<20))
	if err := dec.Decode(&in); err != nil {
		return fmt.Errorf("read the request to sign: %w", err)
	}
	req, err := http.NewRequest(in.Method, in.URL, nil)
	if err != nil {
		return fmt.Errorf("the request to sign: %w", err)
	}
	if in.Header != nil {
		req.Header = in.Header
	}
	req.Host = in.Host
	if in.Body != nil {
		req.Body = io.NopCloser(bytes.NewReader(in.Body))
		req.ContentLength = int64(len(in.Body))
	}
	before := req.Header.Clone()
	if err := s.Sign(req); err != nil {
		return err
	}
	out := oci.SignOutput{Header: http.Header{}}
	for k, vs := range req.Header {
		if !slices.Equal(before[k], vs) {
			out.Header[k] = vs
		}
	}
	if in.Body != nil && out.Header.Get("Content-Length") == "" {
		out.Header.Set("Content-Length", strconv.Itoa(len(in.Body)))
	}
	return json.NewEncoder(stdout).Encode(out)
}
