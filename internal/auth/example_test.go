package auth_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/idcsctl/idcsctl/internal/auth"
	"github.com/idcsctl/idcsctl/internal/browser"
	"github.com/idcsctl/idcsctl/internal/emulator"
	"github.com/idcsctl/idcsctl/internal/testnet"
)

// Signing in against the IDCS emulator, with the stand-in browser in place
// of a person: discovery, then Login, whose Result holds verified claims.
func ExampleClient_Login() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	idcs, err := emulator.Start(emulator.Options{}, "")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer idcs.Close()

	// IDCS matches redirect URIs exactly, port included: register the one
	// the callback server will listen on (a port no other test is handed
	// meanwhile; a program uses its own fixed one).
	port, release, err := testnet.Reserve()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer release()
	redirect := fmt.Sprintf("http://127.0.0.1:%d/callback", port)
	if err := idcs.AddRedirectURI(emulator.DemoPublicClientID, redirect); err != nil {
		fmt.Println(err)
		return
	}

	hc := &http.Client{Timeout: 10 * time.Second}
	md, err := (&auth.Discoverer{HTTP: hc}).Discover(ctx, idcs.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	client := &auth.Client{Metadata: md, ClientID: emulator.DemoPublicClientID, Scopes: []string{"urn:opc:idm:t.user.me", "openid"}, HTTP: hc}
	fb := &browser.FormBrowser{HTTP: hc, Username: emulator.DemoUser.UserName, Password: emulator.DemoUser.Password}
	res, err := client.Login(ctx, auth.LoginOptions{RedirectURL: redirect, OpenBrowser: fb.Open})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Claims.Issuer)
	fmt.Println(res.Claims.Subject, "-", res.Claims.UserDisplayName)
	// Output:
	// https://identity.oraclecloud.com/
	// demo.user@example.com - Demo User
}
