package certificates

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

func TestGenerateKeySignVerify(t *testing.T) {
	for _, kind := range []string{KeyECDSAP256, KeyEd25519} {
		t.Run(kind, func(t *testing.T) {
			pass := []byte("correct horse battery staple")
			priv, pub, err := GenerateKey(kind, pass)
			if err != nil {
				t.Fatal(err)
			}
			if block, _ := pem.Decode(priv); block == nil || block.Type != "ENCRYPTED SIGSTORE PRIVATE KEY" {
				t.Fatalf("private key PEM: %.40q", priv)
			}
			if strings.Contains(string(priv), "PRIVATE KEY-----\nMI") {
				t.Fatal("private key looks unencrypted")
			}
			dir := t.TempDir()
			keyPath, err := WriteFileAtomic(dir, "decom.key", priv, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			pubPath, err := WriteFileAtomic(dir, "decom.pub", pub, 0o644)
			if err != nil {
				t.Fatal(err)
			}

			// sigstore's own loader (cosign's) opens it with the passphrase.
			k, err := cryptoutils.UnmarshalPEMToPrivateKey(priv, cryptoutils.StaticPasswordFunc(pass))
			if err != nil {
				t.Fatalf("sigstore cannot read the key: %v", err)
			}
			switch k.(type) {
			case *ecdsa.PrivateKey:
				if kind != KeyECDSAP256 {
					t.Errorf("%s made %T", kind, k)
				}
			case ed25519.PrivateKey:
				if kind != KeyEd25519 {
					t.Errorf("%s made %T", kind, k)
				}
			}

			calls := 0
			signer, err := LoadSigner(context.Background(), keyPath, func() ([]byte, error) { calls++; return pass, nil })
			if err != nil {
				t.Fatal(err)
			}
			if calls != 1 {
				t.Errorf("passphrase asked %d times", calls)
			}
			b, err := Sign(context.Background(), signer, sigTestCertificate())
			if err != nil {
				t.Fatal(err)
			}
			keys, err := LoadPublicKeys(pubPath)
			if err != nil {
				t.Fatal(err)
			}
			v, err := Verify(b, keys)
			if err != nil {
				t.Fatal(err)
			}
			if v.KeyFingerprint != Fingerprint(keys[0]) || v.Certificate.ID != sigTestCertificate().ID {
				t.Errorf("verified %+v", v)
			}

			_, err = LoadSigner(context.Background(), keyPath, func() ([]byte, error) { return []byte("Correct horse battery staple"), nil })
			if !errors.Is(err, ErrPassphrase) || !strings.Contains(err.Error(), keyPath) {
				t.Errorf("wrong passphrase: %v", err)
			}
			if _, err := LoadPrivateKey(priv, nil); !errors.Is(err, ErrPassphrase) {
				t.Errorf("no passphrase: %v", err)
			}
		})
	}
}

func TestGenerateKeyEmptyPassphrase(t *testing.T) {
	priv, _, err := GenerateKey(KeyEd25519, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPrivateKey(priv, []byte{}); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPrivateKey(priv, []byte("x")); !errors.Is(err, ErrPassphrase) {
		t.Fatalf("got %v, want ErrPassphrase", err)
	}
	if _, _, err := GenerateKey("rsa-2048", nil); !errors.Is(err, ErrKey) {
		t.Fatalf("unknown kind: %v", err)
	}
}

func TestLoadPrivateKeyRejectsGarbage(t *testing.T) {
	priv, pub, err := GenerateKey(KeyECDSAP256, []byte("p"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(priv)
	damaged := pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: block.Bytes[:len(block.Bytes)/2]})
	notKey := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("not DER")})
	for what, b := range map[string][]byte{
		"empty": nil, "text": []byte("hello"), "public key": pub, "truncated json": damaged, "not der": notKey,
	} {
		_, err := LoadPrivateKey(b, []byte("p"))
		if !errors.Is(err, ErrKey) || errors.Is(err, ErrPassphrase) {
			t.Errorf("%s: got %v, want ErrKey", what, err)
		}
	}
}

func TestLoadSignerUnencryptedAsksNoPassphrase(t *testing.T) {
	called := false
	sv, err := LoadSigner(context.Background(), filepath.Join("testdata", "test-only-ed25519.key"), func() ([]byte, error) {
		called = true
		return nil, errors.New("no terminal")
	})
	if err != nil || called {
		t.Fatalf("err %v, passphrase asked: %v", err, called)
	}
	if _, err := Sign(context.Background(), sv, sigTestCertificate()); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "nope.key")
	if _, err := LoadSigner(context.Background(), missing, nil); !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v", err)
	}
	// An encrypted key and a passphrase function that fails: its error comes back.
	priv, _, _ := GenerateKey(KeyEd25519, []byte("p"))
	path, _ := WriteFileAtomic(t.TempDir(), "k.key", priv, 0o600)
	boom := errors.New("no terminal")
	if _, err := LoadSigner(context.Background(), path, func() ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("passphrase error: %v", err)
	}
}

func TestLoadPublicKeys(t *testing.T) {
	dir := t.TempDir()
	_, a, _ := GenerateKey(KeyEd25519, nil)
	_, b, _ := GenerateKey(KeyECDSAP256, nil)
	os.WriteFile(filepath.Join(dir, "a.pub"), a, 0o644)
	os.WriteFile(filepath.Join(dir, "b.pub"), b, 0o644)
	os.WriteFile(filepath.Join(dir, "README"), []byte("not a key"), 0o644)
	keys, err := LoadPublicKeys(dir, filepath.Join("testdata", "test-only-ecdsa-p256.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 3 {
		t.Fatalf("%d keys", len(keys))
	}
	if _, ok := keys[0].(ed25519.PublicKey); !ok {
		t.Errorf("a.pub first: %T", keys[0])
	}

	bad := filepath.Join(dir, "bad")
	os.MkdirAll(bad, 0o755)
	garbage := filepath.Join(bad, "garbage.pub")
	os.WriteFile(garbage, []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), 0o644)
	empty := t.TempDir()
	missing := filepath.Join(dir, "missing.pub")
	for what, c := range map[string]struct{ path, mention string }{
		"garbage": {bad, garbage}, "empty dir": {empty, empty}, "missing": {missing, missing},
		"private key": {filepath.Join("testdata", "test-only-ed25519.key"), "test-only-ed25519.key"},
	} {
		_, err := LoadPublicKeys(c.path)
		if !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), c.mention) {
			t.Errorf("%s: got %v, want ErrKey naming %s", what, err, c.mention)
		}
	}
	if _, err := LoadPublicKeys(); !errors.Is(err, ErrKey) {
		t.Errorf("no paths: %v", err)
	}
}

func TestFingerprint(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "test-only-ecdsa-p256.pub"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	sum := sha256.Sum256(block.Bytes) // the SPKI DER as openssl wrote it
	keys, err := LoadPublicKeys(filepath.Join("testdata", "test-only-ecdsa-p256.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := Fingerprint(keys[0]), "SHA256:"+hex.EncodeToString(sum[:]); got != want {
		t.Errorf("Fingerprint %s, want %s", got, want)
	}
	if Fingerprint(crypto.PublicKey("not a key")) != "" {
		t.Error("fingerprint of a non-key")
	}
}

// TestGenerateUnencryptedKey: an unencrypted key is plain PKCS #8 PEM, and
// LoadSigner opens it without asking for a passphrase.
func TestGenerateUnencryptedKey(t *testing.T) {
	for _, kind := range []string{KeyECDSAP256, KeyEd25519} {
		t.Run(kind, func(t *testing.T) {
			priv, pub, err := GenerateUnencryptedKey(kind)
			if err != nil {
				t.Fatal(err)
			}
			block, rest := pem.Decode(priv)
			if block == nil || block.Type != "PRIVATE KEY" || len(block.Headers) != 0 || len(rest) != 0 {
				t.Fatalf("private key PEM: %q", priv)
			}
			if strings.Contains(string(priv), "ENCRYPTED") {
				t.Errorf("an unencrypted key says ENCRYPTED:\n%s", priv)
			}
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			keyPath, err := WriteFileAtomic(dir, "lab.key", priv, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			pubPath, err := WriteFileAtomic(dir, "lab.pub", pub, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			signer, err := LoadSigner(context.Background(), keyPath, func() ([]byte, error) {
				t.Error("a passphrase was asked for an unencrypted key")
				return nil, errors.New("no terminal")
			})
			if err != nil {
				t.Fatal(err)
			}
			keys, err := LoadPublicKeys(pubPath)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := Fingerprint(keys[0]), Fingerprint(k.(crypto.Signer).Public()); got != want {
				t.Errorf("public key %s, private key's %s", got, want)
			}
			b, err := Sign(context.Background(), signer, sigTestCertificate())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Verify(b, keys); err != nil {
				t.Errorf("a certificate signed with the unencrypted key: %v", err)
			}
		})
	}
	if _, _, err := GenerateUnencryptedKey("rsa-2048"); !errors.Is(err, ErrKey) {
		t.Errorf("unknown kind: %v", err)
	}
}

// TestLoadPrivateKeyRefusesOpenSSLEncryption: a "PRIVATE KEY" or "EC PRIVATE KEY"
// block with OpenSSL's encryption headers is not taken for an unencrypted key.
func TestLoadPrivateKeyRefusesOpenSSLEncryption(t *testing.T) {
	priv, _, err := GenerateUnencryptedKey(KeyECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(priv)
	for _, typ := range []string{"PRIVATE KEY", "EC PRIVATE KEY"} {
		enc := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: block.Bytes,
			Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00112233445566778899AABBCCDDEEFF"}})
		path, err := WriteFileAtomic(t.TempDir(), "k.key", enc, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		_, err = LoadSigner(context.Background(), path, func() ([]byte, error) { return []byte("p"), nil })
		if !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), "OpenSSL-encrypted") {
			t.Errorf("%s with Proc-Type: %v, want ErrKey naming OpenSSL encryption", typ, err)
		}
	}
}
