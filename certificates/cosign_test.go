package certificates

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore/pkg/signature"
	"google.golang.org/protobuf/encoding/protojson"
)

// The auditor's recipe: a decom certificate bundle verifies with stock cosign.
//
//	cosign verify-blob-attestation --key PUB --bundle BUNDLE --type PREDICATE_TYPE \
//	    --insecure-ignore-tlog BLOB
//
// where BLOB is a file holding the media identity the certificate's subject names
// (the drive's serial number, else its WWN, else its path: Certificate.Subject).
// cosign is built by the Makefile (make tools), which sets DECOM_COSIGN to it.

// cosignBinary finds cosign, or skips (fails, under CI=true) without it.
func cosignBinary(t *testing.T) string {
	t.Helper()
	path := os.Getenv("DECOM_COSIGN")
	if path == "" {
		path = filepath.Join("..", ".cache", "tools", "cosign")
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cosign not found at %s (make tools installs it): %v", path, err)
		}
		t.Skipf("cosign not found at %s (make tools installs it; or set DECOM_COSIGN)", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// cosignVerify runs the auditor's recipe and returns its error and output.
func cosignVerify(t *testing.T, cosign, pub, bundle, predicateType, blob string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cosign, "verify-blob-attestation", "--key", pub, "--bundle", bundle,
		"--type", predicateType, "--insecure-ignore-tlog", blob)
	// No network here; cosign must not need it for a key-signed bundle. Keep its
	// TUF cache out of $HOME.
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "TUF_ROOT="+t.TempDir())
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func TestCosignVerifiesCertificates(t *testing.T) {
	cosign := cosignBinary(t)
	for _, kind := range []string{KeyECDSAP256, KeyEd25519} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			pass := []byte("cosign-test")
			priv, pubPEM, err := GenerateKey(kind, pass)
			if err != nil {
				t.Fatal(err)
			}
			signer, err := LoadPrivateKey(priv, pass)
			if err != nil {
				t.Fatal(err)
			}
			_, otherPEM, err := GenerateKey(kind, pass)
			if err != nil {
				t.Fatal(err)
			}
			c := sigTestCertificate()
			b, err := Sign(context.Background(), signer, c)
			if err != nil {
				t.Fatal(err)
			}
			_, blob := c.Subject()
			write := func(name string, data []byte) string {
				p, err := WriteFileAtomic(dir, name, data, 0o644)
				if err != nil {
					t.Fatal(err)
				}
				return p
			}
			bundle := write("cert.sigstore.json", b)
			pub := write("decom.pub", pubPEM)
			other := write("other.pub", otherPEM)
			blobFile := write("serial.txt", blob)
			otherBlob := write("other-serial.txt", []byte("EX8K-TEST-000124"))

			out, err := cosignVerify(t, cosign, pub, bundle, PredicateType, blobFile)
			if err != nil {
				t.Fatalf("cosign rejects a good certificate: %v\n%s", err, out)
			}
			t.Logf("good certificate: %s", out)

			// Change one base64 character to another, so the bundle still parses and
			// only the signature can catch it.
			flip := func(field string, at int) []byte {
				m := slices.Clone(b)
				i := strings.Index(string(b), field) + len(field) + at
				if m[i] == 'A' {
					m[i] = 'B'
				} else {
					m[i] = 'A'
				}
				return m
			}
			flipped := flip(`"sig":"`, 10)
			cases := []struct{ what, pub, bundle, typ, blob string }{
				{"flipped signature byte", pub, write("flipped.json", flipped), PredicateType, blobFile},
				{"untrusted key", other, bundle, PredicateType, blobFile},
				{"wrong --type", pub, bundle, "https://slsa.dev/provenance/v1", blobFile},
				{"different blob", pub, bundle, PredicateType, otherBlob},
			}
			cases = append(cases, struct{ what, pub, bundle, typ, blob string }{
				"flipped payload byte", pub, write("flipped-payload.json", flip(`"payload":"`, 40)), PredicateType, blobFile})
			for _, tc := range cases {
				out, err := cosignVerify(t, cosign, tc.pub, tc.bundle, tc.typ, tc.blob)
				if err == nil {
					t.Errorf("%s: cosign accepted it:\n%s", tc.what, out)
					continue
				}
				t.Logf("%s: rejected: %s", tc.what, lastLine(out))
			}
		})
	}
}

// cosignRun runs cosign with the passphrase in COSIGN_PASSWORD.
func cosignRun(t *testing.T, dir, pass string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cosignBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "TUF_ROOT="+t.TempDir(), "COSIGN_PASSWORD="+pass)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Keys go both ways: decom signs with a key cosign generated, and cosign signs with a
// key decom generated.
func TestCosignKeysInterchange(t *testing.T) {
	cosign := cosignBinary(t)
	dir := t.TempDir()
	cosignRun(t, dir, "cosign-pass", "generate-key-pair")
	signer, err := LoadSigner(context.Background(), filepath.Join(dir, "cosign.key"), func() ([]byte, error) {
		return []byte("cosign-pass"), nil
	})
	if err != nil {
		t.Fatalf("decom cannot open cosign's key: %v", err)
	}
	c := sigTestCertificate()
	b, err := Sign(context.Background(), signer, c)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := LoadPublicKeys(filepath.Join(dir, "cosign.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(b, keys); err != nil {
		t.Fatal(err)
	}
	_, blob := c.Subject()
	bundle, _ := WriteFileAtomic(dir, "cert.sigstore.json", b, 0o644)
	blobFile, _ := WriteFileAtomic(dir, "serial.txt", blob, 0o644)
	if out, err := cosignVerify(t, cosign, filepath.Join(dir, "cosign.pub"), bundle, PredicateType, blobFile); err != nil {
		t.Fatalf("cosign: %v\n%s", err, out)
	}

	for _, kind := range []string{KeyECDSAP256, KeyEd25519} {
		priv, pub, err := GenerateKey(kind, []byte("decom-pass"))
		if err != nil {
			t.Fatal(err)
		}
		WriteFileAtomic(dir, kind+".key", priv, 0o600)
		WriteFileAtomic(dir, kind+".pub", pub, 0o644)
		WriteFileAtomic(dir, "pred.json", []byte(`{"note":"signed by cosign with a decom key"}`), 0o644)
		cosignRun(t, dir, "decom-pass", "attest-blob", "--key", kind+".key", "--predicate", "pred.json",
			"--type", "https://example.com/cosign-test", "--bundle", kind+".bundle.json",
			"--use-signing-config=false", "--tlog-upload=false", "-y", "serial.txt")
		bundlePath := filepath.Join(dir, kind+".bundle.json")
		out, err := cosignVerify(t, cosign, filepath.Join(dir, kind+".pub"), bundlePath, "https://example.com/cosign-test", blobFile)
		if kind == KeyECDSAP256 {
			if err != nil {
				t.Errorf("%s: cosign signed with a decom key, but does not verify it: %v\n%s", kind, err, out)
			}
			continue
		}
		// cosign v3.1.3 signs an ed25519 attestation with Ed25519ph but verifies it as
		// pure Ed25519, so it rejects its own; decom signs pure Ed25519, which cosign
		// verifies (TestCosignVerifiesCertificates). Check the Ed25519ph signature here
		// to show that cosign did sign with the decom key.
		if err == nil {
			t.Logf("%s: cosign now verifies its own ed25519 attestations", kind)
		}
		sigEd25519phCheck(t, filepath.Join(dir, kind+".pub"), bundlePath)
	}
}

// sigEd25519phCheck verifies a bundle's DSSE signature as Ed25519ph.
func sigEd25519phCheck(t *testing.T, pubPath, bundlePath string) {
	t.Helper()
	keys, err := LoadPublicKeys(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(bundlePath)
	if err != nil {
		t.Fatal(err)
	}
	var bundle protobundle.Bundle
	if err := protojson.Unmarshal(b, &bundle); err != nil {
		t.Fatal(err)
	}
	env := bundle.GetDsseEnvelope()
	v, err := signature.LoadED25519phVerifier(keys[0].(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.VerifySignature(bytes.NewReader(env.GetSignatures()[0].GetSig()),
		bytes.NewReader(dsse.PAE(env.GetPayloadType(), env.GetPayload()))); err != nil {
		t.Errorf("cosign's ed25519 attestation is not an Ed25519ph signature by the decom key: %v", err)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
