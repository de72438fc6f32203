//go:build !agentimage

package certificates

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"
	"github.com/sigstore/sigstore/pkg/signature/options"

	// The KMS providers built in, registered with sigstore's KMS registry.
	_ "github.com/sigstore/sigstore/pkg/signature/kms/aws"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/azure"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/hashivault"
)

// KMSSchemes lists the URI prefixes of the KMS providers this build registers.
func KMSSchemes() []string {
	s := kms.SupportedProviders()
	slices.Sort(s)
	return s
}

// loadKMSSigner opens a KMS key through sigstore's registry. It asks the key for its
// public key at once, so that a wrong URI or missing credentials fail here, before
// any media are wiped.
func loadKMSSigner(ctx context.Context, ref string) (signature.SignerVerifier, error) {
	sv, err := kms.Get(ctx, ref, crypto.SHA256)
	if err != nil {
		var nf *kms.ProviderNotFoundError
		if errors.As(err, &nf) {
			known := "none is built in"
			if s := KMSSchemes(); len(s) > 0 {
				known = "this build knows " + strings.Join(s, ", ")
			}
			return nil, fmt.Errorf("%w: %s: no KMS provider for this URI (%s)", ErrKey, ref, known)
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrKey, ref, err)
	}
	if _, err := sv.PublicKey(options.WithContext(ctx)); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrKey, ref, err)
	}
	return sv, nil
}
