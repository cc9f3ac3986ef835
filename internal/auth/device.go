package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2/clientcredentials"
)

// defaultDeviceInterval is RFC 8628's polling interval when the provider
// names none; slowDownStep is what each slow_down adds.
const (
	defaultDeviceInterval = 5 * time.Second
	slowDownStep          = 5 * time.Second
	defaultDeviceTimeout  = 15 * time.Minute
)

// DeviceOptions tune a device code sign-in.
type DeviceOptions struct {
	// Stderr receives the verification URI and the user code; nil = discard.
	Stderr io.Writer
	// OpenBrowser opens the verification URI on this machine, when there is
	// a browser here at all; nil = only print it.
	OpenBrowser func(string) error
	// Timeout bounds the whole sign-in; the device code's own expires_in
	// ends it sooner. Default: the code's lifetime, or 15 minutes.
	Timeout time.Duration
}

// deviceAuth is the device authorization response (RFC 8628 3.2).
type deviceAuth struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURL         string `json:"verification_url"` // an older draft's name, still seen
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
}

// DeviceLogin signs a person in with the device authorization grant (RFC
// 8628), for a terminal with no browser: it prints a URL and a code, then
// polls the token endpoint at the provider's interval, five seconds slower
// after each slow_down, until the person has signed in elsewhere. The code's
// expiry or opts.Timeout give ErrTimeout, a cancelled ctx ErrCancelled, and a
// refusal (access_denied) a *ProviderError.
func (c *Client) DeviceLogin(ctx context.Context, opts DeviceOptions) (*Result, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	endpoint, err := c.deviceEndpoint(ctx)
	if err != nil {
		return nil, err
	}
	stderr := opts.Stderr
	if stderr == nil {
		stderr = io.Discard
	}
	da, err := c.deviceAuthorize(ctx, endpoint, c.IsIDCS(ctx))
	if err != nil {
		return nil, err
	}

	start := c.now()
	deadline := start.Add(defaultDeviceTimeout)
	if da.ExpiresIn > 0 {
		deadline = start.Add(time.Duration(da.ExpiresIn) * time.Second)
	}
	if opts.Timeout > 0 && start.Add(opts.Timeout).Before(deadline) {
		deadline = start.Add(opts.Timeout)
	}
	interval := defaultDeviceInterval
	if da.Interval > 0 {
		interval = time.Duration(da.Interval) * time.Second
	}

	fmt.Fprintf(stderr, "To sign in, open %s\nand enter the code: %s\n", Printable(da.VerificationURI, 300), Printable(da.UserCode, 64))
	open := da.VerificationURI
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(stderr, "Or open %s (the code is filled in).\n", Printable(da.VerificationURIComplete, 300))
		open = da.VerificationURIComplete
	}
	// Only an https (or loopback) page is handed to the browser opener: the
	// provider's answer must not make it open a file or run a program.
	if opts.OpenBrowser != nil {
		if _, err := checkURL(open); err == nil {
			if open == da.VerificationURIComplete {
				// The person must know that the code on the page came from
				// here, and check it is the one printed above.
				fmt.Fprintln(stderr, "Opening that page in the browser here, with the code filled in: check that it shows the code above.")
			} else {
				fmt.Fprintln(stderr, "Opening that page in the browser here.")
			}
			if err := opts.OpenBrowser(open); err != nil {
				fmt.Fprintf(stderr, "Could not open a browser (%v); open the URL above yourself. Waiting...\n", err)
			}
		}
	}

	for {
		if err := c.wait(ctx, interval); err != nil {
			return nil, interrupted(ctx)
		}
		if !c.now().Before(deadline) {
			return nil, fmt.Errorf("the device code expired before the sign-in finished: %w", ErrTimeout)
		}
		res, err := c.pollDevice(ctx, da.DeviceCode)
		var pe *ProviderError
		switch {
		case err == nil:
			return res, nil
		case ctx.Err() != nil:
			return nil, interrupted(ctx)
		case !errors.As(err, &pe):
			return nil, err
		case pe.Code == "authorization_pending":
		case pe.Code == "slow_down":
			interval += slowDownStep
			fmt.Fprintf(stderr, "The provider asked idcsctl to poll more slowly; asking every %s now.\n", interval)
		case pe.Code == "expired_token":
			return nil, fmt.Errorf("the device code expired before the sign-in finished: %w", ErrTimeout)
		default:
			return nil, err
		}
	}
}

// wait pauses between polls, or returns early when ctx ends.
func (c *Client) wait(ctx context.Context, d time.Duration) error {
	if c.sleep != nil {
		return c.sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pollDevice asks the token endpoint once whether the person has signed in.
// x/oauth2's clientcredentials package sends it: its grant_type may be
// overridden by design, and it gives the same error handling as every other
// grant here.
func (c *Client) pollDevice(ctx context.Context, deviceCode string) (*Result, error) {
	conf := &clientcredentials.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		TokenURL:     c.Metadata.TokenEndpoint,
		EndpointParams: url.Values{
			"grant_type":  {deviceCodeGrant},
			"device_code": {deviceCode},
		},
		AuthStyle: c.authStyle(),
	}
	tctx, rec := c.tokenContext(ctx)
	tok, err := conf.Token(tctx)
	if err != nil {
		return nil, tokenError(ctx, "token", err, rec)
	}
	// Unlike Login, a device sign-in sends no nonce that a dropped ID
	// token could dodge, so an answer without one is accepted.
	return c.result(ctx, tok, "", false)
}

// deviceAuthorize asks for a device code and a user code.
//
// On IDCS the request is the one Oracle documents ("Generate Device Code
// and User Code"): response_type=device_code, which it requires, and no
// client authentication, which it does not use here; the secret of a
// confidential client goes to the token endpoint only. Elsewhere it is
// RFC 8628's, with a confidential client's credentials.
func (c *Client) deviceAuthorize(ctx context.Context, endpoint string, idcs bool) (*deviceAuth, error) {
	form := url.Values{
		"client_id": {c.ClientID},
		"scope":     {strings.Join(c.signInScopes(), " ")},
	}
	if idcs {
		form.Set("response_type", "device_code")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("build the device authorization request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if c.ClientSecret != "" && !idcs {
		req.SetBasicAuth(url.QueryEscape(c.ClientID), url.QueryEscape(c.ClientSecret))
	}
	const name = "device authorization"
	body, resp, err := c.do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, interrupted(ctx)
		}
		var (
			ue *url.Error
			de *DeadlineError
		)
		if errors.As(err, &ue) || errors.As(err, &de) {
			// No code was shown and no browser opened: the sign-in did
			// not begin.
			return nil, &UnreachableError{URL: endpointURL(req.URL), Err: err}
		}
		return nil, fmt.Errorf("%s request failed: %w", name, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, endpointError(name, req, resp, body)
	}
	var da deviceAuth
	if err := json.Unmarshal(body, &da); err != nil {
		return nil, notJSON(name, resp)
	}
	if da.VerificationURI == "" {
		da.VerificationURI = da.VerificationURL
	}
	if da.DeviceCode == "" || da.UserCode == "" || da.VerificationURI == "" {
		return nil, fmt.Errorf("the %s endpoint's answer lacks device_code, user_code or verification_uri", name)
	}
	return &da, nil
}

// do sends req with the client's HTTP client and reads a bounded body.
func (c *Client) do(req *http.Request) ([]byte, *http.Response, error) {
	resp, err := httpClient(c.HTTP).Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := readLimited(resp.Body)
	if err != nil {
		if isCut(err) { // already names the URL
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("read the answer of %s: %w", req.URL.Redacted(), err)
	}
	return body, resp, nil
}

// endpointError reads an RFC 6749 error answer, or describes a broken one
// without quoting it.
func endpointError(endpoint string, req *http.Request, resp *http.Response, body []byte) error {
	var e struct {
		Code        string `json:"error"`
		Description string `json:"error_description"`
		URI         string `json:"error_uri"`
	}
	if json.Unmarshal(body, &e) == nil && e.Code != "" {
		return RedactError(&ProviderError{Code: e.Code, Description: e.Description, URI: e.URI, Status: resp.StatusCode, Endpoint: endpoint}, requestSecrets(req)...)
	}
	if !isJSON(contentType(resp)) {
		return notJSON(endpoint, resp)
	}
	return fmt.Errorf("the %s endpoint answered %d without an OAuth error code", endpoint, resp.StatusCode)
}

func notJSON(endpoint string, resp *http.Response) error {
	return badBody(endpoint, resp.StatusCode, contentType(resp))
}

// badBody describes an answer that is not the JSON it should be, by status
// and media type only: the body may hold secrets, or a whole HTML page.
func badBody(endpoint string, status int, media string) error {
	if isJSON(media) {
		return fmt.Errorf("the %s endpoint answered %d with a body that is not valid JSON", endpoint, status)
	}
	return fmt.Errorf("the %s endpoint answered %d with %s, not JSON; the provider may be down or the domain URL wrong", endpoint, status, media)
}
