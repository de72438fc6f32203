package certificates

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"
	"google.golang.org/protobuf/encoding/protojson"
)

// Media types of what Sign writes.
const (
	// BundleMediaType is the media type of the Sigstore bundles Sign writes.
	BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// bundleMediaTypeAlt is the other spelling of v0.3 the Sigstore spec allows.
	bundleMediaTypeAlt = "application/vnd.dev.sigstore.bundle+json;version=0.3"
	// PayloadType is the DSSE payload type of an in-toto statement.
	PayloadType = "application/vnd.in-toto+json"
)

// Sign signs a certificate: it validates c, states it as an in-toto v1 Statement
// whose subjects are c.Subjects() (each a name, and the SHA-256 of its blob; the
// first is c.Subject(), the one subject of certificates signed before) and whose
// predicate is c, signs the statement as a DSSE envelope (the signature is over
// DSSE's PAE of PayloadType and the statement) and returns the Sigstore bundle v0.3
// JSON holding it, with the key's Fingerprint as the public key hint. The bundle
// carries no transparency log entry: decom's registry logs certificates. Before it
// returns, Sign verifies the bundle it made with the signer's public key.
//
// The statement is written with protojson, except its predicate: that is c's own
// JSON (encoding/json) spliced in, because protobuf's Struct holds numbers as
// float64 and would round the 64-bit sampling seeds and byte counts a certificate
// states.
func Sign(ctx context.Context, signer signature.SignerVerifier, c *Certificate) ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	payload, err := statement(c)
	if err != nil {
		return nil, err
	}
	if signedHook != nil {
		signedHook(payload)
	}
	sig, err := signer.SignMessage(bytes.NewReader(dsse.PAE(PayloadType, payload)), options.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("sign certificate: %w", err)
	}
	pub, err := signer.PublicKey(options.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("sign certificate: signer's public key: %w", err)
	}
	b := &protobundle.Bundle{
		MediaType: BundleMediaType,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_PublicKey{
				PublicKey: &protocommon.PublicKeyIdentifier{Hint: Fingerprint(pub)},
			},
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload:     payload,
			PayloadType: PayloadType,
			Signatures:  []*protodsse.Signature{{Sig: sig}},
		}},
	}
	out, err := protojson.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("sign certificate: encode bundle: %w", err)
	}
	if _, err := Verify(out, []crypto.PublicKey{pub}); err != nil {
		return nil, fmt.Errorf("sign certificate: the signed bundle does not verify with the signer's own key: %w", err)
	}
	return out, nil
}

// statement is the in-toto v1 Statement of c, as JSON.
func statement(c *Certificate) ([]byte, error) {
	st := &intoto.Statement{Type: intoto.StatementTypeUri, PredicateType: PredicateType}
	for _, s := range c.Subjects() {
		sum := sha256.Sum256(s.Blob)
		st.Subject = append(st.Subject, &intoto.ResourceDescriptor{
			Name:   s.Name,
			Digest: map[string]string{"sha256": hex.EncodeToString(sum[:])},
		})
	}
	head, err := protojson.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("encode statement: %w", err)
	}
	fields := map[string]json.RawMessage{}
	if err := json.Unmarshal(head, &fields); err != nil {
		return nil, fmt.Errorf("encode statement: %w", err)
	}
	if fields["predicate"], err = json.Marshal(c); err != nil {
		return nil, fmt.Errorf("encode certificate: %w", err)
	}
	// Keys sorted, no spaces: the same certificate always gives the same payload.
	payload, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("encode statement: %w", err)
	}
	// The result must still be a valid Statement to protojson.
	var check intoto.Statement
	if err := protojson.Unmarshal(payload, &check); err != nil {
		return nil, fmt.Errorf("encode statement: %w", err)
	}
	if err := check.Validate(); err != nil {
		return nil, fmt.Errorf("encode statement: %w", err)
	}
	return payload, nil
}
