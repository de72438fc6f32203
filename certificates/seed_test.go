package certificates

import (
	"context"
	"crypto"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// bigSeed is a sampling seed above 2^53: float64 cannot hold it.
const bigSeed = 1<<63 + 12345

// The seed is written as a JSON string, so that readers that hold numbers as
// float64 (jq, JavaScript, protobuf's Struct) read it exactly; Go reads it back
// exactly through Sign, Verify and Inspect.
func TestSeedSurvivesFloatReaders(t *testing.T) {
	c := sigTestCertificate()
	c.Verification.Checks[0].Seed = bigSeed
	sv, pub := sigTestKey(t, "test-only-ecdsa-p256")
	b, err := Sign(context.Background(), sv, c)
	if err != nil {
		t.Fatal(err)
	}
	v, err := Verify(b, []crypto.PublicKey{pub})
	if err != nil {
		t.Fatal(err)
	}
	if got := uint64(v.Certificate.Verification.Checks[0].Seed); got != bigSeed {
		t.Errorf("verified seed %d, want %d", got, uint64(bigSeed))
	}
	ic, _, err := Inspect(b)
	if err != nil || uint64(ic.Verification.Checks[0].Seed) != bigSeed {
		t.Errorf("inspected seed: %v %v", err, ic)
	}
	payload := sigPayload(t, b)

	// A generic JSON reader (float64 numbers, as jq and JavaScript).
	var generic struct {
		Predicate struct {
			Verification struct {
				Checks []map[string]any `json:"checks"`
			} `json:"verification"`
		} `json:"predicate"`
	}
	if err := json.Unmarshal(payload, &generic); err != nil {
		t.Fatal(err)
	}
	if got := generic.Predicate.Verification.Checks[0]["seed"]; got != "9223372036854788153" {
		t.Errorf("a float64 JSON reader sees the seed as %v (%T), want the string 9223372036854788153", got, got)
	}
	// protojson, as in-toto tooling reads a statement: the predicate is a Struct.
	var st intoto.Statement
	if err := protojson.Unmarshal(payload, &st); err != nil {
		t.Fatal(err)
	}
	checks := st.GetPredicate().AsMap()["verification"].(map[string]any)["checks"].([]any)
	if got := checks[0].(map[string]any)["seed"]; got != "9223372036854788153" {
		t.Errorf("protojson's Struct holds the seed as %v (%T)", got, got)
	}
	// The certificate's own JSON, as decom cert show -o json and the registry's API
	// write it.
	out, err := json.Marshal(v.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"seed":"9223372036854788153"`) {
		t.Errorf("seed not a string in %s", out)
	}
}

// sigPayload is the DSSE payload of a bundle.
func sigPayload(t *testing.T, bundle []byte) []byte {
	t.Helper()
	var top struct {
		DSSE struct {
			Payload []byte `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(bundle, &top); err != nil {
		t.Fatal(err)
	}
	return top.DSSE.Payload
}

// Certificates signed by earlier versions (schema 1: numeric seeds, no
// verify_required) still verify, with their seed exact.
func TestLegacyCertificatesVerify(t *testing.T) {
	_, pub := sigTestKey(t, "test-only-ecdsa-p256")
	for _, name := range []string{"schema1-sampled", "schema1-not-read-back"} {
		b, err := os.ReadFile(filepath.Join("testdata", "legacy", name+".sigstore.json"))
		if err != nil {
			t.Fatal(err)
		}
		v, err := Verify(b, []crypto.PublicKey{pub})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		c := v.Certificate
		if c.SchemaVersion != "1" || c.Status != StatusCertificate || c.Outcome != OutcomeSanitized {
			t.Errorf("%s: schema %q status %q outcome %q", name, c.SchemaVersion, c.Status, c.Outcome)
		}
		switch name {
		case "schema1-sampled":
			if uint64(c.Verification.Checks[0].Seed) != 0xfedcba9876543211 || c.Caveat() != "" {
				t.Errorf("%s: seed %d, caveat %q", name, c.Verification.Checks[0].Seed, c.Caveat())
			}
		case "schema1-not-read-back":
			// Genuine, and still what it says it is; the caveat tells the reader.
			if !strings.Contains(c.Caveat(), "without reading the media back") {
				t.Errorf("%s: caveat %q", name, c.Caveat())
			}
		}
	}
}
