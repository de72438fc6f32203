package certificates

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore/pkg/signature"
	sigdsse "github.com/sigstore/sigstore/pkg/signature/dsse"
	"google.golang.org/protobuf/encoding/protojson"
)

func TestVerifyAcceptsWhatSignWrote(t *testing.T) {
	for _, name := range []string{"test-only-ecdsa-p256", "test-only-ed25519"} {
		t.Run(name, func(t *testing.T) {
			b := sigTestBundle(t, name)
			_, pub := sigTestKey(t, name)
			v, err := Verify(b, []crypto.PublicKey{pub})
			if err != nil {
				t.Fatal(err)
			}
			c := sigTestCertificate()
			if got, want := sigJSON(t, v.Certificate), sigJSON(t, c); got != want {
				t.Errorf("certificate changed in the round trip\n got %s\nwant %s", got, want)
			}
			if v.Certificate.Verification.Checks[0].Seed != 0xfedcba9876543211 {
				t.Errorf("seed %d", v.Certificate.Verification.Checks[0].Seed)
			}
			if v.KeyFingerprint != Fingerprint(pub) {
				t.Errorf("fingerprint %q, want %q", v.KeyFingerprint, Fingerprint(pub))
			}
			if v.SubjectName != "serial:EX8K-TEST-000123" || v.SubjectDigest != "sha256:"+sigSubjectDigest(c) {
				t.Errorf("subject %q %q", v.SubjectName, v.SubjectDigest)
			}
			// With every trusted key offered, the hint picks the right one.
			v, err = Verify(b, sigTestPubs)
			if err != nil || v.KeyFingerprint != Fingerprint(pub) {
				t.Errorf("with all keys: %v, %+v", err, v)
			}
		})
	}
}

// sigReplaceHint rewrites a bundle's key hint.
func sigReplaceHint(t *testing.T, b []byte, hint string) []byte {
	t.Helper()
	var bundle protobundle.Bundle
	if err := protojson.Unmarshal(b, &bundle); err != nil {
		t.Fatal(err)
	}
	bundle.GetVerificationMaterial().GetPublicKey().Hint = hint
	out, err := protojson.Marshal(&bundle)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestVerifyHint(t *testing.T) {
	b := sigTestBundle(t, "test-only-ecdsa-p256")
	_, pub := sigTestKey(t, "test-only-ecdsa-p256")
	_, other := sigTestKey(t, "test-only-ed25519")
	trusted := []crypto.PublicKey{other, pub}

	// No hint: every trusted key is tried.
	if v, err := Verify(sigReplaceHint(t, b, ""), trusted); err != nil || v.KeyFingerprint != Fingerprint(pub) {
		t.Errorf("no hint: %v", err)
	}
	// The hint sigstore-go writes (base64 of the SPKI's SHA-256) selects too.
	if _, err := Verify(sigReplaceHint(t, b, keyHints(pub)[1]), trusted); err != nil {
		t.Errorf("sigstore-go hint: %v", err)
	}
	// A hint naming an untrusted key is rejected without trying the others.
	_, err := Verify(sigReplaceHint(t, b, "SHA256:"+strings.Repeat("0", 64)), trusted)
	if !errors.Is(err, ErrUntrusted) || !errors.Is(err, ErrSignature) {
		t.Errorf("unknown hint: %v", err)
	}
	// A hint naming another trusted key does not make its signature valid: the hint
	// is never trusted alone.
	_, err = Verify(sigReplaceHint(t, b, Fingerprint(other)), trusted)
	if !errors.Is(err, ErrSignature) || errors.Is(err, ErrUntrusted) {
		t.Errorf("wrong hint: %v", err)
	}
}

func TestVerifyRejectsUntrustedKey(t *testing.T) {
	b := sigTestBundle(t, "test-only-ecdsa-p256")
	_, other := sigTestKey(t, "test-only-ed25519")
	_, otherPub, err := GenerateKey(KeyECDSAP256, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "other.pub"), otherPub, 0o644)
	keys, err := LoadPublicKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	for name, trusted := range map[string][]crypto.PublicKey{
		"ed25519": {other}, "ecdsa": keys, "both": {other, keys[0]}, "none": nil,
	} {
		v, err := Verify(b, trusted)
		if !errors.Is(err, ErrSignature) || v != nil {
			t.Errorf("%s: got %v, want ErrSignature", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
	// Without its hint, the bundle is checked against every key, and fails too.
	if _, err := Verify(sigReplaceHint(t, b, ""), []crypto.PublicKey{other, keys[0]}); !errors.Is(err, ErrSignature) {
		t.Errorf("no hint: got %v, want ErrSignature", err)
	}
}

func TestVerifyRejectsOtherPredicateType(t *testing.T) {
	sv, pub := sigTestKey(t, "test-only-ecdsa-p256")
	c := sigTestCertificate()
	name, _ := c.Subject()
	for _, pt := range []string{"https://slsa.dev/provenance/v1", PredicateType + "x", ""} {
		b := sigSignStatement(t, sv, PayloadType, sigStatement(t, c, pt, name, sigSubjectDigest(c)))
		_, err := Verify(b, []crypto.PublicKey{pub})
		if !errors.Is(err, ErrPredicateType) {
			t.Errorf("%q: got %v, want ErrPredicateType", pt, err)
		}
	}
	// The same statement with the right type verifies: the test signs correctly.
	b := sigSignStatement(t, sv, PayloadType, sigStatement(t, c, PredicateType, name, sigSubjectDigest(c)))
	if _, err := Verify(b, []crypto.PublicKey{pub}); err != nil {
		t.Errorf("control: %v", err)
	}
}

func TestVerifyRejectsWrongSubject(t *testing.T) {
	sv, pub := sigTestKey(t, "test-only-ecdsa-p256")
	c := sigTestCertificate()
	name, _ := c.Subject()
	other := sha256.Sum256([]byte("EX8K-TEST-000124"))
	cases := map[string][]byte{
		"digest of another drive": sigStatement(t, c, PredicateType, name, hex.EncodeToString(other[:])),
		"name of another drive":   sigStatement(t, c, PredicateType, "serial:EX8K-TEST-000124", sigSubjectDigest(c)),
		"wwn instead of serial":   sigStatement(t, c, PredicateType, "wwn:"+c.Media.WWN, sigSubjectDigest(c)),
	}
	// The subject is right, but the certificate inside names other media.
	c2 := sigTestCertificate()
	c2.Media.Serial = "EX8K-TEST-000124"
	cases["certificate of another drive"] = sigStatement(t, c2, PredicateType, name, sigSubjectDigest(c))
	for what, st := range cases {
		_, err := Verify(sigSignStatement(t, sv, PayloadType, st), []crypto.PublicKey{pub})
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", what, err)
		}
		t.Logf("%s: %v", what, err)
	}
}

func TestVerifyRejectsBadContent(t *testing.T) {
	sv, pub := sigTestKey(t, "test-only-ecdsa-p256")
	c := sigTestCertificate()
	name, _ := c.Subject()
	good := sigStatement(t, c, PredicateType, name, sigSubjectDigest(c))
	with := func(f func(m map[string]any)) []byte {
		var m map[string]any
		json.Unmarshal(good, &m)
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	pred := func(m map[string]any) map[string]any { return m["predicate"].(map[string]any) }
	cases := []struct {
		what        string
		payloadType string
		payload     []byte
		want        error
	}{
		{"payload type", "application/json", good, ErrFormat},
		{"not json", PayloadType, []byte("hello"), ErrFormat},
		{"statement v0.1", PayloadType, with(func(m map[string]any) { m["_type"] = "https://in-toto.io/Statement/v0.1" }), ErrFormat},
		{"unknown statement field", PayloadType, with(func(m map[string]any) { m["extra"] = 1 }), ErrFormat},
		{"unknown certificate field", PayloadType, with(func(m map[string]any) { pred(m)["extra"] = 1 }), ErrInvalid},
		{"invalid certificate", PayloadType, with(func(m map[string]any) { pred(m)["outcome"] = "failed" }), ErrInvalid},
		{"no predicate", PayloadType, with(func(m map[string]any) { delete(m, "predicate") }), ErrInvalid},
		{"two subjects", PayloadType, with(func(m map[string]any) {
			s := m["subject"].([]any)
			m["subject"] = append(s, s[0])
		}), ErrInvalid},
		{"second digest", PayloadType, with(func(m map[string]any) {
			m["subject"].([]any)[0].(map[string]any)["digest"].(map[string]any)["sha512"] = strings.Repeat("ab", 64)
		}), ErrInvalid},
		// One payload, one reading: a member named twice, or named so that a
		// case-insensitive reader would take it for another, is refused, wherever it is.
		{"predicate type twice", PayloadType, dupMember(t, good, `"predicateType":`, `"predicateType":"https://example.com/other",`), ErrFormat},
		{"outcome twice", PayloadType, dupMember(t, good, `"outcome":`, `"outcome":"failed",`), ErrFormat},
		{"outcome in capitals", PayloadType, dupMember(t, good, `"outcome":`, `"OUTCOME":"failed",`), ErrInvalid},
		{"statement field in capitals", PayloadType, dupMember(t, good, `"predicateType":`, `"PredicateType":"x",`), ErrFormat},
		{"proto name for the type", PayloadType, with(func(m map[string]any) { m["type"] = m["_type"]; delete(m, "_type") }), ErrFormat},
		{"invalid UTF-8", PayloadType, dupMember(t, good, `"outcome":`, "\"note\":\"\xff\","), ErrFormat},
		{"predicate not an object", PayloadType, with(func(m map[string]any) { m["predicate"] = []any{} }), ErrInvalid},
	}
	for _, tc := range cases {
		_, err := Verify(sigSignStatement(t, sv, tc.payloadType, tc.payload), []crypto.PublicKey{pub})
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.what, err, tc.want)
		}
		t.Logf("%s: %v", tc.what, err)
	}
}

// dupMember inserts extra right before the first occurrence of at in the statement.
func dupMember(t *testing.T, statement []byte, at, extra string) []byte {
	t.Helper()
	i := bytes.Index(statement, []byte(at))
	if i < 0 {
		t.Fatalf("%s is not in the statement", at)
	}
	return slices.Concat(statement[:i], []byte(extra), statement[i:])
}

func TestVerifyRejectsNonBundles(t *testing.T) {
	good := sigTestBundle(t, "test-only-ecdsa-p256")
	trusted := sigTestPubs
	// "unpadded base64" starts from an Ed25519 bundle: its 64-byte signature always
	// has base64 padding, where the payload and an ECDSA signature (70 to 72 bytes)
	// may have none.
	cases := map[string][]byte{
		"empty":          nil,
		"not json":       []byte("-----BEGIN PUBLIC KEY-----"),
		"json array":     []byte("[]"),
		"empty object":   []byte("{}"),
		"truncated":      good[:len(good)/2],
		"one byte short": good[:len(good)-1],
		"trailing data":  append(slices.Clone(good), "{}"...),
		"wrong media":    bytes.Replace(good, []byte("bundle.v0.3+json"), []byte("bundle.v0.2+json"), 1),
		"unknown field":  bytes.Replace(good, []byte(`{"mediaType"`), []byte(`{"extra":1,"mediaType"`), 1),
		"message signature": []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json",` +
			`"verificationMaterial":{"publicKey":{"hint":"x"}},"messageSignature":{"messageDigest":{"algorithm":"SHA2_256","digest":"AAAA"},"signature":"AAAA"}}`),
		"no envelope":        []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{}}}`),
		"unpadded base64":    sigUnpadded(t, sigTestBundle(t, "test-only-ed25519")),
		"url-safe base64":    sigURLSafe(t),
		"duplicate envelope": bytes.Replace(good, []byte(`"dsseEnvelope"`), []byte(`"dsse_envelope":{},"dsseEnvelope"`), 1),
	}
	for what, b := range cases {
		v, err := Verify(b, trusted)
		if !errors.Is(err, ErrFormat) || v != nil {
			t.Errorf("%s: got %v, want ErrFormat", what, err)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error of more than one line: %q", what, err)
		}
		if _, _, err := Inspect(b); !errors.Is(err, ErrFormat) {
			t.Errorf("Inspect %s: got %v, want ErrFormat", what, err)
		}
	}
}

// sigURLSafe is a good bundle whose payload is written in URL-safe base64, which
// protojson decodes to the same bytes. The certificate's notes make sure the
// standard encoding has a '+' or '/' to change.
func sigURLSafe(t *testing.T) []byte {
	sv, _ := sigTestKey(t, "test-only-ed25519")
	c := sigTestCertificate()
	c.Notes = "~~~???"
	good, err := Sign(context.Background(), sv, c)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	json.Unmarshal(good, &top)
	var env map[string]json.RawMessage
	json.Unmarshal(top["dsseEnvelope"], &env)
	var p string
	json.Unmarshal(env["payload"], &p)
	raw, _ := base64.StdEncoding.DecodeString(p)
	u := base64.URLEncoding.EncodeToString(raw)
	if u == p {
		t.Fatal("payload has no + or /")
	}
	if _, err := Verify(good, sigTestPubs); err != nil {
		t.Fatal(err)
	}
	return bytes.Replace(good, []byte(p), []byte(u), 1)
}

// sigUnpadded is a good bundle with the padding of its payload or signature removed.
func sigUnpadded(t *testing.T, good []byte) []byte {
	for _, field := range []string{`"payload":"`, `"sig":"`} {
		start := bytes.Index(good, []byte(field)) + len(field)
		end := start + bytes.IndexByte(good[start:], '"')
		if trimmed := bytes.TrimRight(good[start:end], "="); len(trimmed) < end-start {
			return slices.Concat(good[:start], trimmed, good[end:])
		}
	}
	t.Fatal("nothing padded")
	return nil
}

func TestInspect(t *testing.T) {
	b := sigTestBundle(t, "test-only-ed25519")
	c, hint, err := Inspect(b)
	if err != nil {
		t.Fatal(err)
	}
	_, pub := sigTestKey(t, "test-only-ed25519")
	if hint != Fingerprint(pub) || c.ID != sigTestCertificate().ID {
		t.Errorf("Inspect: %q %q", hint, c.ID)
	}
}

// sigFlipErr verifies b with one byte changed at i, and reports an error when the
// change was accepted. A panic fails the test on its own.
func sigFlipErr(b []byte, i int, mask byte, trusted []crypto.PublicKey) error {
	m := slices.Clone(b)
	m[i] ^= mask
	if v, err := Verify(m, trusted); err == nil {
		return fmt.Errorf("byte %d (%q) ^ %#x accepted: %+v", i, b[i], mask, v.SubjectName)
	}
	return nil
}

func TestVerifyRejectsEveryFlippedByte(t *testing.T) {
	for _, name := range []string{"test-only-ecdsa-p256", "test-only-ed25519"} {
		t.Run(name, func(t *testing.T) {
			b := sigTestBundle(t, name)
			_, pub := sigTestKey(t, name)
			trusted := []crypto.PublicKey{pub}
			var positions []int
			// Every Nth byte, for about 500 positions over the whole bundle…
			step := max(1, len(b)/500)
			for i := 0; i < len(b); i += step {
				positions = append(positions, i)
			}
			// …and every byte of the signature, the base64 payload, and the hint.
			for _, field := range []string{`"sig":"`, `"payload":"`, `"hint":"`} {
				start := bytes.Index(b, []byte(field))
				if start < 0 {
					t.Fatalf("no %s in %s", field, b)
				}
				start += len(field)
				end := start + bytes.IndexByte(b[start:], '"')
				for i := start; i < end; i++ {
					positions = append(positions, i)
				}
			}
			slices.Sort(positions)
			positions = slices.Compact(positions)
			t.Logf("%d positions of %d bytes", len(positions), len(b))
			failures := 0
			for _, i := range positions {
				for _, mask := range []byte{0x01, 0x20, 0x80} {
					if err := sigFlipErr(b, i, mask, trusted); err != nil {
						if failures++; failures < 20 {
							t.Error(err)
						}
					}
				}
			}
		})
	}
}

// sigFuzzTrusted is the key set FuzzVerify verifies with.
func sigFuzzTrusted(t testing.TB) []crypto.PublicKey {
	sigTestBundle(t, "test-only-ecdsa-p256")
	return sigTestPubs
}

var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/fuzz/FuzzVerify from freshly signed bundles")

// TestWriteFuzzCorpus writes FuzzVerify's seed corpus: real bundles of both test-only
// keys, and a few near misses, in the go test fuzz v1 format.
func TestWriteFuzzCorpus(t *testing.T) {
	if !*updateCorpus {
		t.Skip("run with -update-corpus to rewrite the seed corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzVerify")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sv, pub := sigTestKey(t, "test-only-ecdsa-p256")
	c := sigTestCertificate()
	name, _ := c.Subject()
	seeds := map[string][]byte{
		"ecdsa-p256":     sigTestBundle(t, "test-only-ecdsa-p256"),
		"ed25519":        sigTestBundle(t, "test-only-ed25519"),
		"no-hint":        sigReplaceHint(t, sigTestBundle(t, "test-only-ecdsa-p256"), ""),
		"other-type":     sigSignStatement(t, sv, PayloadType, sigStatement(t, c, "https://slsa.dev/provenance/v1", name, sigSubjectDigest(c))),
		"structpb-style": sigSignStatement(t, sv, PayloadType, sigStatement(t, c, PredicateType, name, sigSubjectDigest(c))),
	}
	// A record of a failed wipe, path-named media.
	f := sigTestCertificate()
	f.Outcome, f.Status, f.Media.Serial, f.Media.WWN = OutcomeFailed, StatusFailureRecord, "", ""
	f.Verification.Verified = false
	fb, err := Sign(context.Background(), sv, f)
	if err != nil {
		t.Fatal(err)
	}
	seeds["failed-record"] = fb
	for n, b := range seeds {
		if _, err := Verify(b, []crypto.PublicKey{pub}); err != nil && n != "other-type" && n != "ed25519" {
			t.Fatalf("%s: %v", n, err)
		}
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, n), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzVerify feeds Verify arbitrary bytes. It must never panic, and whatever it
// accepts must really verify: a valid certificate, about its subject, signed by a
// trusted key as sigstore's own DSSE verifier sees it.
func FuzzVerify(f *testing.F) {
	trusted := sigFuzzTrusted(f)
	f.Add(sigTestBundle(f, "test-only-ecdsa-p256"))
	f.Add(sigTestBundle(f, "test-only-ed25519"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Verify(b, trusted)
		if err != nil {
			if v != nil {
				t.Fatalf("error %v with a result", err)
			}
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrSignature) && !errors.Is(err, ErrPredicateType) && !errors.Is(err, ErrInvalid) {
				t.Fatalf("error of no documented kind: %v", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error of more than one line: %q", err)
			}
			return
		}
		if v == nil || v.Certificate == nil {
			t.Fatal("accepted, with no certificate")
		}
		if err := v.Certificate.Validate(); err != nil {
			t.Fatalf("accepted an invalid certificate: %v", err)
		}
		name, blob := v.Certificate.Subject()
		sum := sha256.Sum256(blob)
		if v.SubjectName != name || v.SubjectDigest != "sha256:"+hex.EncodeToString(sum[:]) {
			t.Fatalf("accepted with subject %q %q", v.SubjectName, v.SubjectDigest)
		}
		// An independent check of the signature, through sigstore's DSSE verifier.
		var bundle protobundle.Bundle
		if err := protojson.Unmarshal(b, &bundle); err != nil {
			t.Fatalf("accepted, but protojson refuses it: %v", err)
		}
		env := bundle.GetDsseEnvelope()
		envJSON, _ := json.Marshal(dsse.Envelope{PayloadType: env.GetPayloadType(),
			Payload:    base64.StdEncoding.EncodeToString(env.GetPayload()),
			Signatures: []dsse.Signature{{Sig: base64.StdEncoding.EncodeToString(env.GetSignatures()[0].GetSig())}}})
		var key crypto.PublicKey
		for _, k := range trusted {
			if Fingerprint(k) == v.KeyFingerprint {
				key = k
			}
		}
		if key == nil {
			t.Fatalf("accepted with key %q, which is not trusted", v.KeyFingerprint)
		}
		sv, err := signature.LoadDefaultVerifier(key)
		if err != nil {
			t.Fatal(err)
		}
		if err := sigdsse.WrapVerifier(sv).VerifySignature(bytes.NewReader(envJSON), nil); err != nil {
			t.Fatalf("accepted, but sigstore's DSSE verifier refuses it: %v", err)
		}
	})
}

// BenchmarkVerify is what the registry spends checking one upload's bundle (an
// ECDSA P-256 signature), and what cert verify spends per certificate.
func BenchmarkVerify(b *testing.B) {
	bundle := sigTestBundle(b, "test-only-ecdsa-p256")
	_, pub := sigTestKey(b, "test-only-ecdsa-p256")
	trusted := []crypto.PublicKey{pub}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Verify(bundle, trusted); err != nil {
			b.Fatal(err)
		}
	}
}
