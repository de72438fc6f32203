package certificates

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	"github.com/sigstore/sigstore/pkg/signature"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// sigTestCertificate is a certificate that passes Validate, with 64-bit numbers
// that float64 cannot hold exactly.
func sigTestCertificate() *Certificate {
	t0 := time.Date(2025, 11, 22, 9, 30, 0, 123456789, time.UTC)
	size := uint64(8_001_563_222_016)
	return &Certificate{
		SchemaVersion: SchemaVersion,
		ID:            "6f1c7c3e-3a55-4d55-9d1e-2f0e8a4b9c01",
		Status:        StatusCertificate,
		Outcome:       OutcomeSanitized,
		Issued:        t0.Add(3 * time.Hour),
		PerformedBy:   Person{Name: "Ada Technician", Title: "Datacenter technician", Organization: "Example DC"},
		Organization:  "Example DC",
		Media: Media{Kind: "drive", Path: "/dev/sdb", Manufacturer: "Example", Model: "EX-8000",
			Serial: "EX8K-TEST-000123", WWN: "0x5000c500a1b2c3d4", SizeBytes: size, LogicalSectorSize: 512,
			PhysicalSectorSize: 4096, MediaType: "hdd", Transport: "sata", HiddenAreas: "unknown"},
		Source: Source{Hostname: "rack12-node07"},
		Sanitization: Sanitization{Category: CategoryClear, Technique: "overwrite", Method: "nist-clear",
			MethodTitle: "NIST SP 800-88 Clear (one pass of zeros)", Standard: "NIST SP 800-88 Rev. 1", Rounds: 1,
			Passes: []Pass{{Number: 1, Pattern: "0x00", BytesWritten: size, Completed: true, Flushed: true,
				BadRanges: []Range{}, Errors: []string{}, Started: t0, Finished: t0.Add(2 * time.Hour)}},
			IOMode: "direct", Tool: Tool{Name: "decom", Version: "test", Commit: "0000000"},
			Started: t0, Finished: t0.Add(2 * time.Hour)},
		Verification: Verification{Method: "sample", Verified: true, Checks: []Check{{Pass: 1, Mode: "sample",
			Expected: "0x00", Seed: 0xfedcba9876543211, CoverageRequested: 0.01, Coverage: 0.0100000001,
			BytesRead: 80_015_632_384, Mismatches: []Mismatch{}, ReadErrors: []Range{}, Outcome: "passed",
			Started: t0.Add(2 * time.Hour), Finished: t0.Add(3 * time.Hour)}}},
		Destination:  Destination{Kind: DestInternalReuse},
		DataBackedUp: "no",
	}
}

// sigTestKey loads a committed test-only key from testdata.
func sigTestKey(t testing.TB, name string) (signature.SignerVerifier, crypto.PublicKey) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".key"))
	if err != nil {
		t.Fatal(err)
	}
	sv, err := LoadPrivateKey(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := LoadPublicKeys(filepath.Join("testdata", name+".pub"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := sv.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	if Fingerprint(pub) != Fingerprint(keys[0]) {
		t.Fatalf("%s: .key and .pub do not match", name)
	}
	return sv, keys[0]
}

var (
	sigTestBundleOnce sync.Once
	sigTestBundles    map[string][]byte
	sigTestPubs       []crypto.PublicKey
	sigTestBundleErr  error
)

// sigTestBundle signs sigTestCertificate with the committed test-only key of that
// name; bundles are made once per process.
func sigTestBundle(t testing.TB, name string) []byte {
	t.Helper()
	sigTestBundleOnce.Do(func() {
		sigTestBundles = map[string][]byte{}
		for _, n := range []string{"test-only-ecdsa-p256", "test-only-ed25519"} {
			sv, pub := sigTestKey(t, n)
			sigTestPubs = append(sigTestPubs, pub)
			b, err := Sign(context.Background(), sv, sigTestCertificate())
			if err != nil {
				sigTestBundleErr = err
				return
			}
			sigTestBundles[n] = b
		}
	})
	if sigTestBundleErr != nil {
		t.Fatal(sigTestBundleErr)
	}
	return sigTestBundles[name]
}

func sigJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sigSignStatement signs an arbitrary statement payload with the same DSSE and
// bundle code Sign uses, so tests can make well-signed bundles of wrong content.
func sigSignStatement(t testing.TB, sv signature.SignerVerifier, payloadType string, payload []byte) []byte {
	t.Helper()
	sig, err := sv.SignMessage(bytes.NewReader(dsse.PAE(payloadType, payload)))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := sv.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := protojson.Marshal(&protobundle.Bundle{
		MediaType: BundleMediaType,
		VerificationMaterial: &protobundle.VerificationMaterial{Content: &protobundle.VerificationMaterial_PublicKey{
			PublicKey: &protocommon.PublicKeyIdentifier{Hint: Fingerprint(pub)}}},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: payload, PayloadType: payloadType, Signatures: []*protodsse.Signature{{Sig: sig}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sigStatement is an in-toto statement of c with the given predicate type and
// subject, written with protojson and structpb.
func sigStatement(t testing.TB, c *Certificate, predicateType, subjectName, digest string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(sigJSON(t, c)), &m); err != nil {
		t.Fatal(err)
	}
	pred, err := structpb.NewStruct(m)
	if err != nil {
		t.Fatal(err)
	}
	b, err := protojson.Marshal(&intoto.Statement{Type: intoto.StatementTypeUri, PredicateType: predicateType, Predicate: pred,
		Subject: []*intoto.ResourceDescriptor{{Name: subjectName, Digest: map[string]string{"sha256": digest}}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sigSubjectDigest(c *Certificate) string {
	_, blob := c.Subject()
	sum := sha256.Sum256(blob)
	return hex.EncodeToString(sum[:])
}

func TestSignWritesABundleCosignReads(t *testing.T) {
	b := sigTestBundle(t, "test-only-ecdsa-p256")
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	var mt, hint string
	json.Unmarshal(top["mediaType"], &mt)
	var vm struct {
		PublicKey struct{ Hint string } `json:"publicKey"`
	}
	json.Unmarshal(top["verificationMaterial"], &vm)
	hint = vm.PublicKey.Hint
	if mt != "application/vnd.dev.sigstore.bundle.v0.3+json" {
		t.Errorf("mediaType %q", mt)
	}
	if !strings.HasPrefix(hint, "SHA256:") || len(hint) != len("SHA256:")+64 {
		t.Errorf("hint %q", hint)
	}
	var env struct {
		Payload     []byte `json:"payload"`
		PayloadType string `json:"payloadType"`
		Signatures  []struct {
			Sig []byte `json:"sig"`
		} `json:"signatures"`
	}
	if err := json.Unmarshal(top["dsseEnvelope"], &env); err != nil {
		t.Fatal(err)
	}
	if env.PayloadType != "application/vnd.in-toto+json" || len(env.Signatures) != 1 {
		t.Fatalf("envelope %+v", env)
	}
	var st struct {
		Type          string `json:"_type"`
		PredicateType string `json:"predicateType"`
		Subject       []struct {
			Name   string            `json:"name"`
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
		Predicate json.RawMessage `json:"predicate"`
	}
	if err := json.Unmarshal(env.Payload, &st); err != nil {
		t.Fatal(err)
	}
	c := sigTestCertificate()
	if st.Type != "https://in-toto.io/Statement/v1" || st.PredicateType != PredicateType {
		t.Errorf("statement %q %q", st.Type, st.PredicateType)
	}
	// The serial first, as before the further forms; then the WWN and the
	// vendor/model/serial form, each with the SHA-256 of its blob.
	wantSubjects := []struct{ name, blob string }{
		{"serial:EX8K-TEST-000123", "EX8K-TEST-000123"},
		{"wwn:0x5000c500a1b2c3d4", "0x5000c500a1b2c3d4"},
		{"drive:Example/EX-8000/EX8K-TEST-000123", "Example/EX-8000/EX8K-TEST-000123"},
	}
	if len(st.Subject) != len(wantSubjects) || st.Subject[0].Digest["sha256"] != sigSubjectDigest(c) {
		t.Errorf("subject %+v", st.Subject)
	}
	for i, w := range wantSubjects {
		sum := sha256.Sum256([]byte(w.blob))
		if i >= len(st.Subject) || st.Subject[i].Name != w.name || len(st.Subject[i].Digest) != 1 ||
			st.Subject[i].Digest["sha256"] != hex.EncodeToString(sum[:]) {
			t.Errorf("subject %d: %+v, want %s with the sha256 of %q", i, st.Subject, w.name, w.blob)
		}
	}
	// The predicate is the certificate's own JSON, 64-bit seed and all (a string, for
	// readers that hold numbers as float64).
	if got, want := string(st.Predicate), sigJSON(t, c); got != want {
		t.Errorf("predicate\n got %s\nwant %s", got, want)
	}
	if !strings.Contains(string(st.Predicate), `"seed":"18364758544493064721"`) {
		t.Errorf("seed not exact in %s", st.Predicate)
	}
	// sigstore's own DSSE verifier accepts the envelope too.
	_, pub := sigTestKey(t, "test-only-ecdsa-p256")
	v, err := signature.LoadDefaultVerifier(pub)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.VerifySignature(bytes.NewReader(env.Signatures[0].Sig), bytes.NewReader(dsse.PAE(env.PayloadType, env.Payload))); err != nil {
		t.Errorf("sigstore verifier: %v", err)
	}
}

func TestSignIsDeterministicInContent(t *testing.T) {
	a, err := statement(sigTestCertificate())
	if err != nil {
		t.Fatal(err)
	}
	b, err := statement(sigTestCertificate())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("statement differs between runs:\n%s\n%s", a, b)
	}
}

func TestSignRefusesInvalidCertificate(t *testing.T) {
	sv, _ := sigTestKey(t, "test-only-ecdsa-p256")
	c := sigTestCertificate()
	c.Status = StatusFailureRecord // does not match "sanitized"
	if _, err := Sign(context.Background(), sv, c); !errors.Is(err, ErrInvalid) {
		t.Fatalf("got %v, want ErrInvalid", err)
	}
}

// failingSigner signs with one key and claims another.
type failingSigner struct {
	signature.SignerVerifier
	claim signature.SignerVerifier
}

func (f failingSigner) PublicKey(opts ...signature.PublicKeyOption) (crypto.PublicKey, error) {
	return f.claim.PublicKey(opts...)
}

func TestSignChecksItsOwnSignature(t *testing.T) {
	a, _ := sigTestKey(t, "test-only-ecdsa-p256")
	b, _ := sigTestKey(t, "test-only-ed25519")
	_, err := Sign(context.Background(), failingSigner{a, b}, sigTestCertificate())
	if !errors.Is(err, ErrSignature) {
		t.Fatalf("got %v, want ErrSignature", err)
	}
}
