package emulator

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// TestStandardLibrariesMeetTheIssuerMismatchAndThenWork runs a sign-in with
// go-oidc and golang.org/x/oauth2 as idcsctl does: strict discovery fails
// as it does against IDCS, the documented escape hatch works, and the
// tokens verify.
func TestStandardLibrariesMeetTheIssuerMismatchAndThenWork(t *testing.T) {
	v := newEnv(t, Options{Now: time.Now})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ctx = oidc.ClientContext(ctx, &http.Client{Timeout: 10 * time.Second})

	if _, err := oidc.NewProvider(ctx, v.srv.URL); err == nil || !strings.Contains(err.Error(), "did not match the issuer") {
		t.Fatalf("strict discovery: %v, want go-oidc's issuer mismatch as with IDCS", err)
	}
	provider, err := oidc.NewProvider(oidc.InsecureIssuerURLContext(ctx, DefaultIssuer), v.srv.URL)
	if err != nil {
		t.Fatalf("discovery with the declared issuer: %v", err)
	}

	conf := oauth2.Config{
		ClientID:    DemoPublicClientID,
		Endpoint:    provider.Endpoint(),
		RedirectURL: testRedirect,
		Scopes:      []string{oidc.ScopeOpenID, ScopeUserMe},
	}
	verifier := oauth2.GenerateVerifier()
	authURL, err := url.Parse(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n1")))
	if err != nil {
		t.Fatal(err)
	}
	code := v.code(authURL.Query())

	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if got := v.e.Counts()["token:authorization_code"]; got != 1 {
		t.Errorf("x/oauth2 needed %d token requests; the public client's Basic with an empty secret should be accepted at once", got)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: DemoPublicClientID}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("go-oidc verification: %v", err)
	}
	if idt.Nonce != "n1" || idt.Subject != DemoUserName {
		t.Errorf("nonce %q subject %q", idt.Nonce, idt.Subject)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil || info.Subject != DemoUserName {
		t.Errorf("userinfo: %v %+v", err, info)
	}

	// Refresh through x/oauth2 once the access token has expired.
	expired := *tok
	expired.Expiry = time.Now().Add(-time.Minute)
	next, err := conf.TokenSource(ctx, &expired).Token()
	if err != nil || next.AccessToken == tok.AccessToken {
		t.Errorf("refresh: %v", err)
	}
}
