package registry

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"golang.org/x/mod/sumdb/note"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/internal/schematest"
	"github.com/decom-project/decom/registry/store"
	"github.com/decom-project/decom/registry/tlog"
	"github.com/decom-project/decom/verify"
	"github.com/decom-project/decom/wipe"
)

// testRegistry is a real registry behind httptest: a SQLite store and a tessera
// log in a temporary directory, a generated log key, one enrolled agent key and
// an API token. Everything is closed when the test ends.
type testRegistry struct {
	URL    string // the server's base URL, http://127.0.0.1:PORT
	Server *Server
	Store  store.Store
	Log    *tlog.Log
	// LogKey is the log's note verifier key; Origin its name.
	LogKey, Origin string
	// Agent signs certificates with the key enrolled as AgentFingerprint.
	Agent            signature.SignerVerifier
	AgentFingerprint string
	Token            string
	HTTP             *http.Client
}

// testOrigin is the origin of the test registries' logs.
const testOrigin = "registry.test/decom"

// Its reads are public (Config.PublicReads), as every read was before tokens had
// scopes, so that tests of what the registry shows need no token; opts change the
// server's Config (access_test.go turns reads private).
func newTestRegistry(t *testing.T, opts ...func(*Config)) *testRegistry {
	t.Helper()
	skey, vkey, err := tlog.GenerateKey(testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	return newTestRegistryWithLogKey(t, skey, vkey, opts...)
}

// newTestRegistryWithLogKey is newTestRegistry with a given log key pair (from
// tlog.GenerateKey): registries that share it sign each other's checkpoints, the
// way a registry rolled back or forked would.
func newTestRegistryWithLogKey(t *testing.T, skey, vkey string, opts ...func(*Config)) *testRegistry {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	st, err := store.OpenSQLite(ctx, filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })

	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	timeSigner, err := tlog.NewTimeSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	lg, err := tlog.Open(ctx, filepath.Join(dir, "log"), signer, timeSigner)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := lg.Close(); err != nil {
			t.Errorf("close the log: %v", err)
		}
	})

	privPEM, pubPEM, err := certificates.GenerateKey(certificates.KeyECDSAP256, nil)
	if err != nil {
		t.Fatal(err)
	}
	agent, err := certificates.LoadPrivateKey(privPEM, nil)
	if err != nil {
		t.Fatal(err)
	}
	fp, err := st.AddKey(ctx, pubPEM, "test-agent")
	if err != nil {
		t.Fatal(err)
	}
	token, err := st.CreateToken(ctx, "test-agent")
	if err != nil {
		t.Fatal(err)
	}

	cfg := Config{Store: st, Log: lg, LogKey: vkey, PublicReads: true}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &testRegistry{URL: hs.URL, Server: srv, Store: st, Log: lg, LogKey: vkey, Origin: signer.Name(),
		Agent: agent, AgentFingerprint: fp, Token: token, HTTP: hs.Client()}
}

// testCert describes a certificate to make; the zero value of a field gets a
// plausible default.
type testCert struct {
	Serial       string
	Organization string
	Customer     string
	Method       string // a wipe method name; "dod-3" by default
	// Outcome is the wipe's outcome (wipe.OutcomeCompleted by default); Unverified
	// makes its read-back check fail, so a completed wipe becomes a failure record.
	Outcome    string
	Unverified bool
	// NotReadBack leaves the wipe without any read-back: a record of unverified
	// sanitization.
	NotReadBack bool
	// Class is the wipe's NIST class (wipe.ClassClear by default).
	Class  string
	Issued time.Time
	// Path, Model and Asset are the media's (/dev/sdb, a Samsung SSD and
	// "A-" and the serial by default); NoAsset leaves the asset number out.
	Path, Model, Asset string
	NoAsset            bool
}

// certificate builds the certificate of a simulated two-pass wipe, field by field as
// the agent's run fills it (package sanitize, which this package's tests may not
// import: it links the registry's client).
func (r *testRegistry) certificate(t *testing.T, tc testCert) *certificates.Certificate {
	t.Helper()
	if tc.Method == "" {
		tc.Method = "dod-3"
	}
	if tc.Outcome == "" {
		tc.Outcome = wipe.OutcomeCompleted
	}
	if tc.Class == "" {
		tc.Class = wipe.ClassClear
	}
	if tc.Issued.IsZero() {
		tc.Issued = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	}
	tc.Path = cmp.Or(tc.Path, "/dev/sdb")
	tc.Model = cmp.Or(tc.Model, "Samsung SSD 870 EVO 1TB")
	if tc.Asset == "" && !tc.NoAsset {
		tc.Asset = "A-" + tc.Serial
	}
	started, finished := tc.Issued.Add(-time.Hour), tc.Issued.Add(-time.Minute)
	const size = 1000204886016
	category := map[string]string{wipe.ClassClear: certificates.CategoryClear, wipe.ClassPurge: certificates.CategoryPurge}[tc.Class]
	if category == "" {
		category = certificates.CategoryNone
	}
	passes := []certificates.Pass{
		{Number: 1, Pattern: "0x00", BytesWritten: size, Completed: true, Flushed: true, BadRanges: []certificates.Range{}, Errors: []string{}},
		{Number: 2, Pattern: "random", Key: "0x" + strings.Repeat("00", 32), IV: "0x" + strings.Repeat("00", 16),
			BytesWritten: size, Completed: true, Flushed: true, BadRanges: []certificates.Range{}, Errors: []string{}},
	}
	check := certificates.Check{Pass: 2, Mode: verify.ModeSample, Seed: 42, Coverage: 0.01, Outcome: verify.OutcomePassed,
		Mismatches: []certificates.Mismatch{}, ReadErrors: []certificates.Range{}}
	outcome, sanError := certificates.OutcomeSanitized, ""
	switch tc.Outcome {
	case wipe.OutcomeExceptions:
		passes[0].BadRanges = []certificates.Range{{Offset: 4096, Length: 512}}
		outcome = certificates.OutcomeExceptions
	case wipe.OutcomeAborted:
		passes[1].Completed = false
		outcome = certificates.OutcomeAborted
	case wipe.OutcomeFailed:
		sanError = "write /dev/sdb at offset 1073741824: input/output error"
		outcome = certificates.OutcomeFailed
	}
	v := certificates.Verification{Method: verify.ModeSample, Verified: true, Checks: []certificates.Check{check}}
	switch {
	case tc.NotReadBack:
		v = certificates.Verification{Method: "none", Checks: []certificates.Check{}}
		if outcome == certificates.OutcomeSanitized || outcome == certificates.OutcomeExceptions {
			outcome = certificates.OutcomeUnverified
		}
	case tc.Unverified:
		v.Verified = false
		v.Checks[0].Outcome, v.Checks[0].MismatchedBytes = verify.OutcomeFailed, 3
		v.Checks[0].Mismatches = []certificates.Mismatch{{Offset: 7, Expected: "0x00", Found: "0x01"}}
		if tc.Outcome == wipe.OutcomeCompleted || tc.Outcome == wipe.OutcomeExceptions {
			outcome = certificates.OutcomeFailed
		}
	}
	c := &certificates.Certificate{
		SchemaVersion: certificates.SchemaVersion, ID: randomID(t),
		Outcome: outcome, Issued: tc.Issued,
		PerformedBy: certificates.Person{Name: "Jane Doe", Title: "Technician", Organization: tc.Organization,
			Location: "Building 4, room 12", Contact: "jane@example.com"},
		Organization: tc.Organization, Customer: tc.Customer,
		Destination: certificates.Destination{Kind: certificates.DestRecycling}, DataBackedUp: "unknown",
		Source: certificates.Source{Hostname: "node7", SystemVendor: "Dell Inc.", SystemProduct: "PowerEdge R640"},
		Media: certificates.Media{Kind: wipe.KindDrive, Path: tc.Path, Manufacturer: "ATA", Model: tc.Model,
			Serial: tc.Serial, WWN: "0x5002538f42a1b2c3", Firmware: "SVT02B6Q", Transport: "sata", MediaType: "ssd",
			SizeBytes: size, LogicalSectorSize: 512, PhysicalSectorSize: 512, HiddenAreas: "unknown",
			AssetNumber: tc.Asset},
		Sanitization: certificates.Sanitization{Category: category, Technique: "overwrite", Method: tc.Method,
			MethodTitle: "Overwrite, " + tc.Method, Rounds: 1, VerifyRequired: tc.NotReadBack, IOMode: "direct",
			Tool:    certificates.Tool{Name: "decom", Version: "v0.1.0", Commit: "abc1234"},
			Started: started, Finished: finished, Error: sanError, Passes: passes},
		Verification: v,
	}
	c.Status = certificates.StatusFor(c.Outcome)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

// randomID is a random (version 4) UUID, as certificate IDs are.
func randomID(t *testing.T) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// sign signs a certificate with the enrolled agent key and returns the bundle.
func (r *testRegistry) sign(t *testing.T, c *certificates.Certificate) []byte {
	t.Helper()
	b, err := certificates.Sign(t.Context(), r.Agent, c)
	if err != nil {
		t.Fatal(err)
	}
	// Every certificate the registry's tests make matches the published schema.
	if err := schematest.ValidateBundle(b); err != nil {
		t.Errorf("certificate %s does not match the certificate schema: %v", c.ID, err)
	}
	return b
}

// post uploads a bundle through the API and returns the receipt.
func (r *testRegistry) post(ctx context.Context, bundle []byte) (Receipt, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL+"/api/v1/certificates", bytes.NewReader(bundle))
	if err != nil {
		return Receipt{}, err
	}
	req.Header.Set("Authorization", "Bearer "+r.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.HTTP.Do(req)
	if err != nil {
		return Receipt{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return Receipt{}, err
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return Receipt{}, fmt.Errorf("upload: %s: %s", resp.Status, body)
	}
	var rc Receipt
	if err := json.Unmarshal(body, &rc); err != nil {
		return Receipt{}, fmt.Errorf("upload: decode the receipt: %w", err)
	}
	return rc, nil
}

// upload signs and uploads certificates, a few at a time (the log batches
// concurrent appends), and returns the bundles as uploaded, in the order of cs.
func (r *testRegistry) upload(t *testing.T, cs ...*certificates.Certificate) [][]byte {
	t.Helper()
	bundles := make([][]byte, len(cs))
	for i, c := range cs {
		bundles[i] = r.sign(t, c)
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, b := range bundles {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			rc, err := r.post(t.Context(), b)
			if err != nil {
				t.Errorf("certificate %s: %v", cs[i].ID, err)
			} else if rc.ID != cs[i].ID || !rc.Created {
				t.Errorf("certificate %s: receipt %+v", cs[i].ID, rc)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return bundles
}
