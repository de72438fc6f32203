package registry

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/decom-project/decom/wipe"
)

// get fetches a page or API path of the test registry and returns its body.
func (r *testRegistry) get(t *testing.T, path string) string {
	t.Helper()
	resp, err := r.HTTP.Get(r.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}

// A wipe nobody read back is shown, searched and served as a record of
// unverified sanitization: its own title, banner and outcome badge, never as a
// certificate.
func TestUnverifiedRecordPages(t *testing.T) {
	reg := newTestRegistry(t)
	good := reg.certificate(t, testCert{Serial: "S6PTNM0T000001A"})
	unread := reg.certificate(t, testCert{Serial: "S6PTNM0T000002A", NotReadBack: true, Method: "nist-clear"})
	custom := reg.certificate(t, testCert{Serial: "S6PTNM0T000003A", Method: "custom", Class: wipe.ClassNone})
	reg.upload(t, good, unread, custom)

	page := reg.get(t, "/certificates/"+unread.ID)
	for _, want := range []string{
		`<h1 id="title">Record of an unverified sanitization — NOT a certificate of sanitization</h1>`,
		`id="banner-unverified"`, "does not certify", "never read back", "although its method requires it",
		`<dd id="outcome">unverified</dd>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the record's page lacks %q", want)
		}
	}
	if strings.Contains(page, "did not succeed") {
		t.Error("the record's page calls an unverified wipe a failure")
	}

	if page := reg.get(t, "/certificates/"+good.ID); strings.Contains(page, `class="banner`) || !strings.Contains(page, `<dd id="category">clear</dd>`) {
		t.Error("a certificate's page has a banner, or no method type clear")
	}
	// A custom pass sequence claims no NIST class, and its page says so.
	if page := reg.get(t, "/certificates/"+custom.ID); !strings.Contains(page, `<dd id="category">none (no NIST SP 800-88 class claimed)</dd>`) {
		t.Error("a custom sequence's page does not say that it claims no NIST class")
	}

	// The search's outcome filter offers "unverified", and its result has its own badge.
	search := reg.get(t, "/?outcome=unverified")
	if !strings.Contains(search, `<option value="unverified" selected>unverified</option>`) {
		t.Error("the outcome filter does not offer unverified")
	}
	rows := regexp.MustCompile(`<td class="([a-z-]+)"[^>]*>([a-z-]+)</td>`).FindAllStringSubmatch(search, -1)
	if len(rows) != 1 || rows[0][1] != "unverified" || rows[0][2] != "unverified" {
		t.Errorf("search for unverified: outcome cells %q", rows)
	}

	// The API says the same.
	var res SearchResult
	if err := json.Unmarshal([]byte(reg.get(t, "/api/v1/search?outcome=unverified")), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Certificates) != 1 || res.Certificates[0].ID != unread.ID ||
		res.Certificates[0].Status != "record-of-unverified-sanitization" {
		t.Errorf("API search for unverified: %+v", res.Certificates)
	}
}
