//go:build agentimage

package certificates

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// The boot image's build links no KMS client: every KMS URI is an unusable key, with
// a reason that says so, and no provider is listed.
func TestLoadSignerNoKMS(t *testing.T) {
	for _, ref := range []string{"awskms:///alias/decom", "azurekms://vault/key", "hashivault://decom", "gcpkms://projects/p"} {
		_, err := LoadSigner(context.Background(), ref, func() ([]byte, error) {
			t.Error("a KMS URI asked for a passphrase")
			return nil, nil
		})
		if !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), ref+": this decom is built for the boot image, without KMS support") {
			t.Errorf("%s: %v", ref, err)
		}
	}
	if s := KMSSchemes(); len(s) != 0 {
		t.Errorf("KMSSchemes %q", s)
	}
}
