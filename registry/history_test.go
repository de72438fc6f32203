//go:build !agentimage

package registry

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/wipe"
)

// destructionOf is the certificate of destruction of the media of c, issued at, and
// following c.
func destructionOf(t *testing.T, c *certificates.Certificate, serial string, at time.Time) *certificates.Certificate {
	t.Helper()
	m := c.Media
	if m.Serial == "" {
		m.Serial = serial
	}
	d, err := certificates.NewDestruction(m, certificates.Details{PerformedBy: certificates.Person{Name: "Ada"},
		ValidatedBy: &certificates.Person{Name: "Wes Witness"}},
		certificates.Destruction{Method: certificates.DestroyShred, ParticleSizeMM: 2, Place: "cage 3", Time: at, Follows: c.ID},
		certificates.Tool{Name: "decom"}, at)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// rowIDs are the certificate IDs of a history page's rows, in order.
func rowIDs(page string) []string {
	var ids []string
	for _, m := range regexp.MustCompile(`<tr data-id="([^"]+)"`).FindAllStringSubmatch(page, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// A serial's history lists its certificates oldest first, whatever order they came
// in: the failed wipe, then the destruction; a record that did not carry the serial
// joins it through the destruction that names it; other drives stay out.
func TestHistoryPage(t *testing.T) {
	reg := newTestRegistry(t)
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	failed := reg.certificate(t, testCert{Serial: "S6PTNM0T000001A", Outcome: wipe.OutcomeFailed, Issued: t0})
	other := reg.certificate(t, testCert{Serial: "S6PTNM0T000002A", Issued: t0.Add(time.Hour)})
	destroyed := destructionOf(t, failed, "", t0.Add(48*time.Hour))
	// A loop device's record has no serial; the destruction gives the label's.
	noSerial := reg.certificate(t, testCert{Serial: "", Outcome: wipe.OutcomeFailed, Path: "/dev/loop7", Issued: t0.Add(2 * time.Hour)})
	labelled := destructionOf(t, noSerial, "LABEL-77", t0.Add(3*time.Hour))
	reg.upload(t, destroyed, other, failed, labelled, noSerial)

	page := reg.get(t, "/history?serial=S6PTNM0T000001A")
	if got := rowIDs(page); len(got) != 2 || got[0] != failed.ID || got[1] != destroyed.ID {
		t.Errorf("history rows %q, want the failed record %s then the destruction %s", got, failed.ID, destroyed.ID)
	}
	for _, want := range []string{`id="history-title"`, "S6PTNM0T000001A", "Certificate of Destruction",
		"Record of a failed sanitization", "shred, particles up to 2 mm", "witnessed by Wes Witness"} {
		if !strings.Contains(page, want) {
			t.Errorf("the history page lacks %q", want)
		}
	}
	// Case and spaces do not matter, as in a search.
	if got := rowIDs(reg.get(t, "/history?serial=+s6ptnm0t000001a")); len(got) != 2 {
		t.Errorf("folded serial: %q", got)
	}
	page = reg.get(t, "/history?serial=LABEL-77")
	if got := rowIDs(page); len(got) != 2 || got[0] != noSerial.ID || got[1] != labelled.ID {
		t.Errorf("history of a labelled drive %q, want %s then %s", got, noSerial.ID, labelled.ID)
	}
	if !strings.Contains(page, "does not carry this serial") {
		t.Error("the linked record is not marked as linked")
	}
	if got := rowIDs(reg.get(t, "/history?serial=NOSUCH")); len(got) != 0 {
		t.Errorf("unknown serial: %q", got)
	}

	// Linked from the certificate page and the list.
	cp := reg.get(t, "/certificates/"+destroyed.ID)
	for _, want := range []string{`<a href="/history?serial=S6PTNM0T000001A" id="history-link">`, `<h2>Destruction</h2>`,
		`<dd id="destruction-place">cage 3</dd>`, `href="/certificates/` + failed.ID + `"`, `<dd id="outcome">destroyed</dd>`} {
		if !strings.Contains(cp, want) {
			t.Errorf("the certificate page lacks %q", want)
		}
	}
	if strings.Contains(cp, `class="banner bad"`) {
		t.Error("the certificate of destruction has a failure banner")
	}
	if list := reg.get(t, "/?serial=S6PTNM0T000001A"); !strings.Contains(list, `<a href="/history?serial=S6PTNM0T000001A" id="history-link">`) {
		t.Error("the search list does not link the serial to its history")
	}
	if list := reg.get(t, "/?organization=x"); strings.Contains(list, `id="history-link"`) {
		t.Error("a search for no serial links to a history")
	}
	resp, err := reg.HTTP.Get(reg.URL + "/history")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("/history without a drive: %d", resp.StatusCode)
	}
}

// A drive's history is a read like any other: refused without a read token when
// reads are not public, served with one.
func TestHistoryPageNeedsTheReadScope(t *testing.T) {
	reg := newTestRegistry(t, func(c *Config) { c.PublicReads = false })
	upload, read, _, _ := scopedTokens(t, reg)
	failed := reg.certificate(t, testCert{Serial: "S6PTNM0T000001A", Outcome: wipe.OutcomeFailed})
	if code, _, body := request(t, reg.HTTP, "POST", reg.URL+"/api/v1/certificates", upload, reg.sign(t, failed)); code != http.StatusCreated {
		t.Fatalf("upload: %d %s", code, body)
	}
	for _, tc := range []struct {
		who, token string
		want       int
	}{{"anonymous", "", 401}, {"an upload token", upload, 403}, {"a read token", read, 200}} {
		code, _, body := request(t, reg.HTTP, "GET", reg.URL+"/history?serial=S6PTNM0T000001A", tc.token, nil)
		if code != tc.want || (code != 200) == strings.Contains(body, failed.ID) {
			t.Errorf("GET /history by %s: %d, want %d; names the record: %v", tc.who, code, tc.want, strings.Contains(body, failed.ID))
		}
	}
}
