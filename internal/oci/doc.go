// Package oci turns an identity domain sign-in into an OCI session that the
// oci CLI, the OCI SDKs and Terraform use as their own: it exchanges the
// domain's JWT for a UPST (user principal session token) bound to a key pair
// it makes, and writes the files `oci session authenticate` writes
// (~/.oci/sessions/<name>/token, oci_api_key.pem, oci_api_key_public.pem and
// a [<name>] section of ~/.oci/config), keeping every other byte of the
// user's OCI config.
//
// It knows nothing of where idcsctl keeps its tokens or of cobra: the
// command hands it a function that performs the exchange with a fresh
// domain token, and it decides when one is needed.
package oci
