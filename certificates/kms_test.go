//go:build !agentimage

package certificates

import (
	"context"
	"crypto"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"
)

// testKMS is a KMS provider backed by an in-memory key: it records the references
// it is asked for, so the test sees LoadSigner dispatch through sigstore's registry.
type testKMS struct {
	signature.SignerVerifier
	signed int
}

func (k *testKMS) SignMessage(r io.Reader, opts ...signature.SignOption) ([]byte, error) {
	k.signed++
	return k.SignerVerifier.SignMessage(r, opts...)
}

func (*testKMS) CreateKey(context.Context, string) (crypto.PublicKey, error) {
	return nil, errors.New("not supported")
}

func (*testKMS) CryptoSigner(context.Context, func(error)) (crypto.Signer, crypto.SignerOpts, error) {
	return nil, nil, errors.New("not supported")
}

func (*testKMS) SupportedAlgorithms() []string { return []string{"ecdsa-p256-sha256"} }
func (*testKMS) DefaultAlgorithm() string      { return "ecdsa-p256-sha256" }

const testKMSScheme = "decomtestkms://"

var (
	testKMSMu   sync.Mutex
	testKMSRefs []string
	testKMSKey  *testKMS
)

func registerTestKMS(t *testing.T) {
	sv, _ := sigTestKey(t, "test-only-ecdsa-p256")
	testKMSMu.Lock()
	defer testKMSMu.Unlock()
	testKMSKey = &testKMS{SignerVerifier: sv}
	kms.AddProvider(testKMSScheme, func(_ context.Context, ref string, h crypto.Hash, _ ...signature.RPCOption) (kms.SignerVerifier, error) {
		testKMSMu.Lock()
		defer testKMSMu.Unlock()
		testKMSRefs = append(testKMSRefs, ref)
		if h != crypto.SHA256 {
			return nil, errors.New("unexpected hash")
		}
		if strings.HasSuffix(ref, "/missing") {
			return nil, errors.New("key not found")
		}
		return testKMSKey, nil
	})
}

func TestLoadSignerKMS(t *testing.T) {
	registerTestKMS(t)
	ref := testKMSScheme + "projects/p/keys/decom"
	sv, err := LoadSigner(context.Background(), ref, func() ([]byte, error) {
		t.Error("a KMS key asked for a passphrase")
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Sign(context.Background(), sv, sigTestCertificate())
	if err != nil {
		t.Fatal(err)
	}
	testKMSMu.Lock()
	refs, signed := testKMSRefs, testKMSKey.signed
	testKMSMu.Unlock()
	if len(refs) != 1 || refs[0] != ref || signed != 1 {
		t.Fatalf("provider saw %q, signed %d times", refs, signed)
	}
	_, pub := sigTestKey(t, "test-only-ecdsa-p256")
	if _, err := Verify(b, []crypto.PublicKey{pub}); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range KMSSchemes() {
		found = found || s == testKMSScheme
	}
	if !found {
		t.Errorf("KMSSchemes %q", KMSSchemes())
	}

	if _, err := LoadSigner(context.Background(), testKMSScheme+"missing", nil); !errors.Is(err, ErrKey) {
		t.Errorf("provider error: %v", err)
	}
	_, err = LoadSigner(context.Background(), "nosuchkms://key", nil)
	if !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), "no KMS provider") {
		t.Errorf("unknown scheme: %v", err)
	}
	t.Log(err)
}

func TestIsKMSRef(t *testing.T) {
	for ref, want := range map[string]bool{
		"awskms:///alias/decom": true, "gcpkms://projects/p": true, "hashivault://decom": true,
		"decom.key": false, "/etc/decom/decom.key": false, "./a://b": false, "://x": false,
	} {
		if got := isKMSRef(ref); got != want {
			t.Errorf("isKMSRef(%q) = %v", ref, got)
		}
	}
}

// The built-in providers are registered, and a Vault URI really reaches Vault's
// client: here a Vault that is not listening, on the loopback.
func TestBuiltInKMSProviders(t *testing.T) {
	for _, want := range []string{"awskms://", "azurekms://", "hashivault://"} {
		if !slices.Contains(KMSSchemes(), want) {
			t.Errorf("%s not registered: %q", want, KMSSchemes())
		}
	}
	t.Setenv("VAULT_ADDR", "http://127.0.0.1:1")
	t.Setenv("VAULT_TOKEN", "test-token")
	t.Setenv("VAULT_MAX_RETRIES", "0")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	_, err := LoadSigner(ctx, "hashivault://decom", nil)
	if !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("got %v, want ErrKey from the Vault client", err)
	}
	t.Logf("%v (%v)", err, time.Since(start).Round(time.Millisecond))
}
