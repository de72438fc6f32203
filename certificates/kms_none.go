//go:build agentimage

package certificates

import (
	"context"
	"fmt"

	"github.com/sigstore/sigstore/pkg/signature"
)

// KMSSchemes lists the URI prefixes of the KMS providers this build registers: none.
func KMSSchemes() []string { return nil }

// loadKMSSigner refuses every KMS URI: the boot image's build links no KMS client.
func loadKMSSigner(_ context.Context, ref string) (signature.SignerVerifier, error) {
	return nil, fmt.Errorf("%w: %s: this decom is built for the boot image, without KMS support: use a key file", ErrKey, ref)
}
