package certificates

import "strings"

// Signing keys in a KMS are named by URI, the way cosign names them, and reached
// through sigstore's KMS registry (pkg/signature/kms). The URIs the full build knows
// (kms_sigstore.go):
//
//	awskms://[ENDPOINT]/[ID/ALIAS/ARN]   AWS KMS (credentials from the AWS SDK's usual chain)
//	azurekms://[VAULT_NAME][VAULT_URI]/[KEY]   Azure Key Vault
//	hashivault://[KEY]   HashiCorp Vault transit (VAULT_ADDR, VAULT_TOKEN)
//	openbao://[KEY]   OpenBao transit (registered with hashivault://)
//
// gcpkms:// is not built in: Google's SDK (gRPC and its API clients) would add about
// 10 MiB to the stripped static binary, more than the other three together (about
// 7 MiB). A URI whose scheme no provider registered falls through to sigstore's
// KMS plugins: an executable "sigstore-kms-NAME" on PATH serves NAME://… URIs.
//
// The boot image's decom is built with the tag agentimage (kms_none.go): it links no
// KMS client at all, since the boot agent has no way to hand a KMS its credentials,
// and refuses every KMS URI with ErrKey.

// isKMSRef reports whether ref names a KMS key rather than a file.
func isKMSRef(ref string) bool {
	scheme, _, ok := strings.Cut(ref, "://")
	return ok && scheme != "" && !strings.ContainsAny(scheme, `/\`)
}
