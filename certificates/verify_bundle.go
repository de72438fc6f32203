package certificates

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	"github.com/sigstore/sigstore/pkg/signature"
	"google.golang.org/protobuf/encoding/protojson"
)

// Errors of Verify and Inspect; callers test them with errors.Is. A certificate
// whose content breaks the schema, or whose subject does not match its media, gives
// ErrInvalid.
var (
	// ErrFormat is input that is not a decom certificate bundle: not JSON, truncated,
	// not a Sigstore bundle v0.3, no DSSE envelope, no in-toto statement in it.
	ErrFormat = errors.New("not a certificate bundle")
	// ErrSignature is a signature that no trusted key verifies.
	ErrSignature = errors.New("bad signature")
	// ErrUntrusted is the case of ErrSignature where the bundle names its key and the
	// key is not trusted (or no key is trusted at all). It wraps ErrSignature:
	// errors.Is(err, ErrSignature) holds for it too.
	ErrUntrusted = fmt.Errorf("%w: key not trusted", ErrSignature)
	// ErrPredicateType is a signed statement about something other than a decom
	// certificate.
	ErrPredicateType = errors.New("not a decom certificate")
)

// Verified is a certificate whose bundle Verify accepted.
type Verified struct {
	Certificate *Certificate
	// KeyFingerprint is the Fingerprint of the trusted key that verified it.
	KeyFingerprint string
	// SubjectName is the statement's first subject, as Certificate.Subject names it.
	SubjectName string
	// SubjectDigest is "sha256:" and the hex SHA-256 of the subject's blob.
	SubjectDigest string
	// Subjects are the names of all the statement's subjects, SubjectName first.
	Subjects []string
}

// Verify checks a certificate bundle against the trusted public keys, and returns
// the certificate only when all of this holds:
//
//   - the input is a Sigstore bundle v0.3 in JSON with a DSSE envelope and one
//     signature, and nothing protojson does not know (else ErrFormat);
//   - the signature, over DSSE's PAE of the payload type and payload, verifies with
//     one of the trusted keys (else ErrSignature). The bundle's key hint, when there
//     is one, picks the key; a hint that names no trusted key is rejected at once
//     (ErrUntrusted), and a hint alone is never trusted;
//   - the payload is an in-toto v1 Statement (else ErrFormat) whose predicate type is
//     PredicateType (else ErrPredicateType);
//   - the predicate decodes into a Certificate with no unknown fields and passes
//     Validate, and the statement's subjects are the certificate's Subjects, all of
//     them or (certificates signed before there were several) only the first, each
//     with the same name and the SHA-256 of its blob (else ErrInvalid).
//
// A bundle's transparency log entries and timestamps, if any, are not checked:
// decom's registry logs certificates and proves their inclusion.
func Verify(bundleJSON []byte, trusted []crypto.PublicKey) (*Verified, error) {
	env, hint, err := parseBundle(bundleJSON)
	if err != nil {
		return nil, err
	}
	key, err := checkSignature(env, hint, trusted)
	if err != nil {
		return nil, err
	}
	v, err := readStatement(env)
	if err != nil {
		return nil, err
	}
	v.KeyFingerprint = Fingerprint(key)
	return v, nil
}

// Inspect reads the certificate in a bundle WITHOUT checking its signature, and the
// key hint the bundle carries: its result may be forged. It is for showing a
// certificate when no key is at hand; only Verify says that a certificate is
// genuine. Its errors are Verify's, but for ErrSignature.
func Inspect(bundleJSON []byte) (c *Certificate, hint string, err error) {
	env, hint, err := parseBundle(bundleJSON)
	if err != nil {
		return nil, "", err
	}
	v, err := readStatement(env)
	if err != nil {
		return nil, "", err
	}
	return v.Certificate, hint, nil
}

// rawBundle mirrors the envelope's base64 text, which protojson decodes leniently
// (either alphabet, padding or not, stray low bits): parseBundle holds it to the one
// form protojson writes, so that one certificate has one bundle form.
type rawBundle struct {
	DSSE    *rawEnvelope `json:"dsseEnvelope"`
	DSSEAlt *rawEnvelope `json:"dsse_envelope"` // protojson accepts the proto name too
}

type rawEnvelope struct {
	Payload    string `json:"payload"`
	Signatures []struct {
		Sig string `json:"sig"`
	} `json:"signatures"`
}

// parseBundle reads a bundle strictly and returns its envelope and key hint.
func parseBundle(b []byte) (*protodsse.Envelope, string, error) {
	var bundle protobundle.Bundle
	if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(b, &bundle); err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if mt := bundle.GetMediaType(); mt != BundleMediaType && mt != bundleMediaTypeAlt {
		return nil, "", fmt.Errorf("%w: media type %q, want %q", ErrFormat, mt, BundleMediaType)
	}
	env := bundle.GetDsseEnvelope()
	if env == nil {
		return nil, "", fmt.Errorf("%w: the bundle holds no DSSE envelope", ErrFormat)
	}
	vm := bundle.GetVerificationMaterial()
	if vm == nil || vm.GetPublicKey() == nil {
		return nil, "", fmt.Errorf("%w: the bundle names no public key (keyless bundles are not decom certificates)", ErrFormat)
	}
	if len(env.GetPayload()) == 0 {
		return nil, "", fmt.Errorf("%w: the envelope has no payload", ErrFormat)
	}
	if n := len(env.GetSignatures()); n != 1 {
		return nil, "", fmt.Errorf("%w: the envelope has %d signatures, want 1", ErrFormat, n)
	}
	var raw rawBundle
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrFormat, err)
	}
	re := raw.DSSE
	if re == nil {
		re = raw.DSSEAlt
	}
	if re == nil || len(re.Signatures) != 1 ||
		re.Payload != base64.StdEncoding.EncodeToString(env.GetPayload()) ||
		re.Signatures[0].Sig != base64.StdEncoding.EncodeToString(env.GetSignatures()[0].GetSig()) {
		return nil, "", fmt.Errorf("%w: the envelope's payload or signature is not in standard padded base64", ErrFormat)
	}
	return env, vm.GetPublicKey().GetHint(), nil
}

// checkSignature verifies the envelope's signature with the trusted keys the hint
// picks (all of them when there is no hint), and returns the key that verified it.
func checkSignature(env *protodsse.Envelope, hint string, trusted []crypto.PublicKey) (crypto.PublicKey, error) {
	if len(trusted) == 0 {
		return nil, fmt.Errorf("%w: no trusted public key was given", ErrUntrusted)
	}
	candidates := trusted
	if hint != "" {
		candidates = nil
		for _, k := range trusted {
			if slices.Contains(keyHints(k), hint) {
				candidates = append(candidates, k)
			}
		}
		if len(candidates) == 0 {
			return nil, fmt.Errorf("%w: signed by key %q, which is not one of the %d trusted keys", ErrUntrusted, hint, len(trusted))
		}
	}
	pae := dsse.PAE(env.GetPayloadType(), env.GetPayload())
	sig := env.GetSignatures()[0].GetSig()
	for _, k := range candidates {
		v, err := signature.LoadDefaultVerifier(k)
		if err != nil {
			continue // a trusted key of a type sigstore cannot verify with
		}
		if v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(pae)) == nil {
			return k, nil
		}
	}
	if hint != "" {
		return nil, fmt.Errorf("%w: the signature does not verify with key %s: the bundle was altered, or signed by another key", ErrSignature, Fingerprint(candidates[0]))
	}
	return nil, fmt.Errorf("%w: the signature verifies with none of the %d trusted keys: the bundle was altered, or signed by another key", ErrSignature, len(trusted))
}

// statementJSON is an in-toto v1 statement as decom signs it: protojson's member
// names, subjects with a name and a digest set only.
type statementJSON struct {
	Type          string         `json:"_type"`
	Subject       []subjectJSON  `json:"subject"`
	PredicateType string         `json:"predicateType"`
	Predicate     jsontext.Value `json:"predicate"`
}

type subjectJSON struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// readStatement decodes and checks the in-toto statement in the envelope.
func readStatement(env *protodsse.Envelope) (*Verified, error) {
	if env.GetPayloadType() != PayloadType {
		return nil, fmt.Errorf("%w: payload type %q, want %q", ErrFormat, env.GetPayloadType(), PayloadType)
	}
	payload := env.GetPayload()
	// The statement and its predicate are read with encoding/json/v2's semantics:
	// names match exactly, an unknown member, a name given twice in any object or
	// invalid UTF-8 is an error, and 64-bit integers stay exact. So one payload has
	// one reading, whatever reads it, and no member is seen by one reader and
	// skipped by another.
	var st statementJSON
	if err := jsonv2.Unmarshal(payload, &st, jsonv2.RejectUnknownMembers(true)); err != nil {
		return nil, fmt.Errorf("%w: the payload is not an in-toto statement: %v", ErrFormat, err)
	}
	if st.Type != intoto.StatementTypeUri {
		return nil, fmt.Errorf("%w: statement type %q, want %q", ErrFormat, st.Type, intoto.StatementTypeUri)
	}
	if st.PredicateType != PredicateType {
		return nil, fmt.Errorf("%w: predicate type %q, want %q", ErrPredicateType, st.PredicateType, PredicateType)
	}
	if len(st.Subject) == 0 {
		return nil, fmt.Errorf("%w: in-toto statement: no subject", ErrInvalid)
	}
	if st.Predicate.Kind() != '{' {
		return nil, fmt.Errorf("%w: in-toto statement: the predicate is not an object", ErrInvalid)
	}
	c := new(Certificate)
	if err := jsonv2.Unmarshal(st.Predicate, c, jsonv2.RejectUnknownMembers(true)); err != nil {
		return nil, fmt.Errorf("%w: predicate: %v", ErrInvalid, err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}

	// The subjects are the certificate's Subjects, all of them (certificates signed
	// since the WWN and drive forms were added) or only the first (those signed
	// before): never a name the media do not have, nor a partial or reordered list.
	subjects := st.Subject
	forms := c.Subjects()
	if len(subjects) != 1 && len(subjects) != len(forms) {
		return nil, fmt.Errorf("%w: the statement has %d subjects, want %d (or 1)", ErrInvalid, len(subjects), len(forms))
	}
	var want string
	var names []string
	for i, s := range subjects {
		names = append(names, s.Name)
		sum := sha256.Sum256(forms[i].Blob)
		digest := hex.EncodeToString(sum[:])
		if i == 0 {
			want = digest
		}
		if s.Name != forms[i].Name {
			return nil, fmt.Errorf("%w: the statement is about %q, but the certificate about %q", ErrInvalid, s.Name, forms[i].Name)
		}
		if d := s.Digest; len(d) != 1 || d["sha256"] != digest {
			return nil, fmt.Errorf("%w: the subject digest is not the sha256 of the media identity %q", ErrInvalid, forms[i].Name)
		}
	}
	name := forms[0].Name
	return &Verified{Certificate: c, SubjectName: name, SubjectDigest: "sha256:" + want, Subjects: names}, nil
}
