package registry

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/registry/store"
)

// TestRevocationKeepsHistory: a key revoked with an effective time between two
// uploads leaves the certificate the registry received before valid, and the one
// it received after not valid; the certificate page, the API and both searches
// say the same, with the reason.
func TestRevocationKeepsHistory(t *testing.T) {
	reg := newTestRegistry(t)
	reg.Server.keys.mu.Lock()
	reg.Server.keys.ttl = 0 // see each revocation at once
	reg.Server.keys.mu.Unlock()
	ctx := t.Context()

	early := reg.certificate(t, testCert{Serial: "EARLY-0001", Organization: "ACME Corp"})
	late := reg.certificate(t, testCert{Serial: "LATE-0002", Organization: "ACME Corp"})
	reg.upload(t, early)
	time.Sleep(20 * time.Millisecond)
	reg.upload(t, late)
	received := func(id string) time.Time {
		rec, err := reg.Store.GetCertificate(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return rec.Received
	}
	recvEarly, recvLate := received(early.ID), received(late.ID)
	if !recvEarly.Before(recvLate) {
		t.Fatalf("received %v, then %v", recvEarly, recvLate)
	}
	for _, c := range []*certificates.Certificate{early, late} {
		checkValidity(t, reg, c, ValidityValid, reg.AgentFingerprint)
	}

	// The stick was copied between the two uploads; that is found out only now.
	effective := recvEarly.Add(recvLate.Sub(recvEarly) / 2).Truncate(time.Microsecond)
	const reason = "stick lost at the depot"
	if _, err := reg.Store.RevokeKey(ctx, reg.AgentFingerprint, store.Revocation{Reason: reason, Effective: effective}); err != nil {
		t.Fatal(err)
	}
	ci := checkValidity(t, reg, early, ValidityKeyRevokedLater, reason)
	if ci.KeyRevocation == nil || !ci.KeyRevocation.Effective.Equal(effective) || ci.KeyRevocation.Reason != reason ||
		ci.KeyRevocation.Revoked.Before(effective) {
		t.Errorf("%s: key revocation %+v, want effective %v for %q", early.ID, ci.KeyRevocation, effective, reason)
	}
	if ci.Status != certificates.StatusCertificate || ci.KeyName != "test-agent" {
		t.Errorf("%s: status %q, key name %q", early.ID, ci.Status, ci.KeyName)
	}
	ci = checkValidity(t, reg, late, ValidityKeyRevoked, reason)
	if ci.KeyRevocation == nil || !ci.KeyRevocation.Effective.Equal(effective) {
		t.Errorf("%s: key revocation %+v", late.ID, ci.KeyRevocation)
	}

	// Uploads signed with the revoked key are still refused.
	if _, err := reg.post(ctx, reg.sign(t, reg.certificate(t, testCert{Serial: "AFTER-0003"}))); err == nil ||
		!strings.Contains(err.Error(), "403") {
		t.Errorf("upload signed with a revoked key: %v, want a 403", err)
	}
}

// TestValidityUnknownKeyAndBadSignature: a stored certificate whose key the registry
// does not know, or whose bundle no longer verifies with its key, is not shown valid.
func TestValidityUnknownKeyAndBadSignature(t *testing.T) {
	reg := newTestRegistry(t)
	ctx := t.Context()
	other, _, err := certificates.GenerateKey(certificates.KeyEd25519, []byte("other"))
	if err != nil {
		t.Fatal(err)
	}
	otherSigner, err := certificates.LoadPrivateKey(other, []byte("other"))
	if err != nil {
		t.Fatal(err)
	}
	otherPub, err := otherSigner.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	// Stored behind the API's back, as a restored backup or a hand edit could.
	storeSigned := func(c *certificates.Certificate, fingerprint string) {
		b, err := certificates.Sign(ctx, otherSigner, c)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := reg.Store.PutCertificate(ctx, store.Record{ID: c.ID, Status: c.Status, Outcome: c.Outcome,
			Serial: c.Media.Serial, Method: c.Sanitization.Method, KeyFingerprint: fingerprint, Issued: c.Issued, Bundle: b}); err != nil {
			t.Fatal(err)
		}
	}
	unknown := reg.certificate(t, testCert{Serial: "UNKNOWN-0001"})
	storeSigned(unknown, certificates.Fingerprint(otherPub))
	checkValidity(t, reg, unknown, ValidityUnknownKey, "not enrolled")
	forged := reg.certificate(t, testCert{Serial: "FORGED-0002"})
	storeSigned(forged, reg.AgentFingerprint)
	ci := getInfo(t, reg, forged.ID)
	if ci.Validity != ValidityBadSignature || !strings.Contains(ci.ValidityReason, "does not verify") {
		t.Errorf("forged: validity %q: %s", ci.Validity, ci.ValidityReason)
	}
	page, _ := fetch(t, reg, reg.URL+"/certificates/"+forged.ID, http.StatusOK)
	if sig := signatureCell(t, page); sig.class != "bad" || sig.validity != ValidityBadSignature {
		t.Errorf("forged: page signature %+v", sig)
	}
}

func getInfo(t *testing.T, reg *testRegistry, id string) CertificateInfo {
	t.Helper()
	body, _ := fetch(t, reg, reg.URL+"/api/v1/certificates/"+url.PathEscape(id), http.StatusOK)
	var ci CertificateInfo
	if err := json.Unmarshal(body, &ci); err != nil {
		t.Fatalf("GET %s: %v", id, err)
	}
	return ci
}

type cell struct{ class, validity, text string }

var signatureRe = regexp.MustCompile(`<dd id="signature" class="([^"]*)" data-validity="([^"]*)">([^<]*)</dd>`)

// signatureCell reads the Signature line of a certificate page.
func signatureCell(t *testing.T, page []byte) cell {
	t.Helper()
	m := signatureRe.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no signature line in the page:\n%s", page)
	}
	return cell{string(m[1]), string(m[2]), html.UnescapeString(string(m[3]))}
}

var resultRe = regexp.MustCompile(`(?s)<a href="/certificates/([^"]+)">.*?<td class="validity ([^"]*)" data-validity="([^"]*)" title="([^"]*)">([^<]*)</td>`)

// searchCells reads the Signature column of a search page, by certificate ID.
func searchCells(page []byte) map[string]cell {
	out := map[string]cell{}
	for _, m := range resultRe.FindAllSubmatch(page, -1) {
		out[string(m[1])] = cell{string(m[2]), string(m[3]), html.UnescapeString(string(m[4]))}
	}
	return out
}

// checkValidity checks that the API, the API's search, the certificate page and
// the search page all judge c as want, mentioning the words, and returns the API's
// view.
func checkValidity(t *testing.T, reg *testRegistry, c *certificates.Certificate, want, mention string) CertificateInfo {
	t.Helper()
	wantClass := "bad"
	if want == ValidityValid || want == ValidityKeyRevokedLater {
		wantClass = "ok"
	}
	ci := getInfo(t, reg, c.ID)
	if ci.Validity != want || !strings.Contains(ci.ValidityReason, mention) {
		t.Errorf("%s: API validity %q, %q; want %q mentioning %q", c.ID, ci.Validity, ci.ValidityReason, want, mention)
	}
	for _, q := range []string{"serial=" + url.QueryEscape(c.Media.Serial), "id=" + url.QueryEscape(c.ID), ""} {
		body, _ := fetch(t, reg, reg.URL+"/api/v1/search?"+q, http.StatusOK)
		var res SearchResult
		if err := json.Unmarshal(body, &res); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, r := range res.Certificates {
			if r.ID != c.ID {
				continue
			}
			found = true
			if r.Validity != ci.Validity || r.ValidityReason != ci.ValidityReason {
				t.Errorf("%s: API search %q says %q, %q; GET says %q, %q", c.ID, q, r.Validity, r.ValidityReason, ci.Validity, ci.ValidityReason)
			}
		}
		if !found {
			t.Errorf("%s: API search %q does not find it", c.ID, q)
		}

		page, _ := fetch(t, reg, reg.URL+"/?"+q, http.StatusOK)
		got, ok := searchCells(page)[c.ID]
		if !ok {
			t.Errorf("%s: search page %q does not list it:\n%s", c.ID, q, page)
		} else if got.validity != want || got.class != wantClass || got.text != ci.ValidityReason {
			t.Errorf("%s: search page %q shows %+v; want %s (%s): %s", c.ID, q, got, want, wantClass, ci.ValidityReason)
		}
	}
	page, _ := fetch(t, reg, reg.URL+"/certificates/"+url.PathEscape(c.ID), http.StatusOK)
	sig := signatureCell(t, page)
	if sig.validity != want || sig.class != wantClass || sig.text != ci.ValidityReason {
		t.Errorf("%s: certificate page shows %+v; want %s (%s): %s", c.ID, sig, want, wantClass, ci.ValidityReason)
	}
	if banner := strings.Contains(string(page), `id="validity-banner"`); banner != (wantClass == "bad") {
		t.Errorf("%s: validity banner shown: %v, want %v", c.ID, banner, wantClass == "bad")
	}
	return ci
}
