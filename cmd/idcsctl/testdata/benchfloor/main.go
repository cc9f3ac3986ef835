// Command benchfloor is the floor the cached `idcsctl token` is measured
// against: the least a Go program must do to print a stored access token.
// It reads the file store's record named by its argument, decodes it with
// encoding/json and prints the access token, with no flags, config,
// profile checks or error messages.
package main

import (
	"encoding/json"
	"os"
)

func main() {
	b, err := os.ReadFile(os.Args[1])
	if err != nil {
		os.Exit(1)
	}
	var rec struct {
		Token struct {
			AccessToken string `json:"access_token"`
		} `json:"token"`
	}
	if json.Unmarshal(b, &rec) != nil || rec.Token.AccessToken == "" {
		os.Exit(1)
	}
	os.Stdout.WriteString(rec.Token.AccessToken + "\n")
}
