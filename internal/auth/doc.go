// Package auth is idcsctl's OpenID Connect client for Oracle Identity Cloud
// Service (OCI IAM identity domains): discovery with a cache, the
// authorization code flow with PKCE S256 and a loopback callback server
// (RFC 8252), the device grant (RFC 8628), refresh, client credentials, ID
// token verification, userinfo and revocation (RFC 7009).
//
// It knows nothing of the command line or of where tokens are kept: callers
// give it a Client and receive Results.
//
// IDCS serves its discovery document from the domain URL but declares the
// issuer https://identity.oraclecloud.com/, which strict libraries refuse.
// This package takes the declared issuer as it is and checks every ID
// token's iss against it, so the mismatch is accepted for that issuer only.
//
// No error of this package holds a token, a code, a PKCE verifier or a
// client secret, nor a response body that might.
package auth
