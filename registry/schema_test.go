//go:build !agentimage

package registry

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/internal/schematest"
	"github.com/decom-project/decom/wipe"
)

// TestSchemaPublished: the registry serves the certificate schema, and the bundles
// it serves match it, for every outcome.
func TestSchemaPublished(t *testing.T) {
	r := newTestRegistry(t)
	resp, err := r.HTTP.Get(r.URL + SchemaPath)
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/schema+json" || !bytes.Equal(doc, certificates.JSONSchema) {
		t.Fatalf("GET %s: %d %q, %d bytes", SchemaPath, resp.StatusCode, resp.Header.Get("Content-Type"), len(doc))
	}
	served, err := schematest.Compile(doc)
	if err != nil {
		t.Fatal(err)
	}
	cs := []*certificates.Certificate{
		r.certificate(t, testCert{}),
		r.certificate(t, testCert{Outcome: wipe.OutcomeExceptions}),
		r.certificate(t, testCert{Outcome: wipe.OutcomeAborted}),
		r.certificate(t, testCert{Unverified: true}),
		r.certificate(t, testCert{NotReadBack: true, NoAsset: true, Class: wipe.ClassPurge}),
	}
	r.upload(t, cs...)
	outcomes := map[string]bool{}
	for _, c := range cs {
		resp, err := r.HTTP.Get(r.URL + "/api/v1/certificates/" + c.ID + "/bundle")
		if err != nil {
			t.Fatal(err)
		}
		bundle, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("bundle of %s: %d", c.ID, resp.StatusCode)
		}
		got, _, err := certificates.Inspect(bundle)
		if err != nil {
			t.Fatal(err)
		}
		outcomes[got.Outcome] = true
		if err := schematest.ValidateBundle(bundle); err != nil {
			t.Errorf("%s (%s): %v", c.ID, c.Outcome, err)
		}
		// And with the schema as served, not only as built in.
		raw, err := schematest.BundlePredicate(bundle)
		if err != nil {
			t.Fatal(err)
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if err := served.Validate(inst); err != nil {
			t.Errorf("%s against the served schema: %v", c.ID, err)
		}
	}
	if len(outcomes) < 4 {
		t.Errorf("outcomes covered: %v", outcomes)
	}
}
