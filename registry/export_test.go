//go:build !agentimage

package registry

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/registry/store"
)

func getExport(t *testing.T, r *testRegistry, path string) (*http.Response, []byte) {
	t.Helper()
	resp, err := r.HTTP.Get(r.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// TestExport: the search as CSV and as JSON Lines, parsed back, holds every
// certificate with its fields intact, commas, quotes and line breaks included.
func TestExport(t *testing.T) {
	r := newTestRegistry(t)
	tricky := []testCert{
		{Serial: `S,1 "quoted"`, Organization: "ACME, Inc.", Customer: "line one\nline two", Model: `Disk "X", 2TB`},
		{Serial: "S2", Organization: "ACME, Inc.", Customer: `"leading quote`, Model: "plain"},
		{Serial: "S3", Organization: "ACME, Inc.", Customer: "tab\there\r\nCRLF", Model: "élan ü"},
		{Serial: "S4", Organization: "Other", Customer: "c"},
	}
	byID := map[string]*certificates.Certificate{}
	var cs []*certificates.Certificate
	for _, tc := range tricky {
		c := r.certificate(t, tc)
		byID[c.ID] = c
		cs = append(cs, c)
	}
	r.upload(t, cs...)
	// check compares a row with its certificate. fromCSV: encoding/csv's reader
	// gives a CR LF inside a quoted field back as LF.
	check := func(t *testing.T, row ExportRow, fromCSV bool) {
		t.Helper()
		c, ok := byID[row.CertificateID]
		if !ok {
			t.Fatalf("row of unknown certificate %q", row.CertificateID)
		}
		customer := c.Customer
		if fromCSV {
			customer = strings.ReplaceAll(customer, "\r\n", "\n")
		}
		want := map[string][2]string{
			"serial": {row.Serial, c.Media.Serial}, "model": {row.Model, c.Media.Model}, "organization": {row.Organization, c.Organization},
			"customer": {row.Customer, customer}, "asset": {row.AssetNumber, c.Media.AssetNumber}, "method": {row.Method, c.Sanitization.Method},
			"technique": {row.Technique, c.Sanitization.Technique}, "nist": {row.NISTCategory, c.Sanitization.Category},
			"outcome": {row.Outcome, c.Outcome}, "verification": {row.Verification, c.Verification.Method},
			"host": {row.Host, c.Source.Hostname}, "size": {row.SizeBytes, strconv.FormatUint(c.Media.SizeBytes, 10)},
			"validity": {row.Validity, ValidityValid}, "page": {row.PageURL, "/certificates/" + c.ID},
		}
		for name, v := range want {
			if v[0] != v[1] {
				t.Errorf("%s %s: %q, want %q", c.ID, name, v[0], v[1])
			}
		}
		if row.Issued == "" || row.Logged == "" || row.LogIndex == "" {
			t.Errorf("%s: issued %q, logged %q, log index %q", c.ID, row.Issued, row.Logged, row.LogIndex)
		}
	}
	q := "organization=" + url.QueryEscape("acme, inc.")
	for _, base := range []string{"/api/v1/search?", "/?"} {
		t.Run("csv "+base, func(t *testing.T) {
			resp, body := getExport(t, r, base+q+"&format=csv")
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
				!strings.HasPrefix(resp.Header.Get("Content-Disposition"), `attachment; filename="decom-certificates-`) {
				t.Fatalf("%d %v: %s", resp.StatusCode, resp.Header, body)
			}
			recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
			if err != nil {
				t.Fatalf("parse the CSV: %v\n%s", err, body)
			}
			if len(recs) != 4 || strings.Join(recs[0], ",") != strings.Join(exportColumns, ",") {
				t.Fatalf("%d records, header %q", len(recs), recs[0])
			}
			for _, rec := range recs[1:] {
				m := map[string]string{}
				for i, col := range recs[0] {
					m[col] = rec[i]
				}
				raw, _ := json.Marshal(m)
				var row ExportRow
				if err := json.Unmarshal(raw, &row); err != nil {
					t.Fatal(err)
				}
				check(t, row, true)
			}
		})
		t.Run("jsonl "+base, func(t *testing.T) {
			resp, body := getExport(t, r, base+q+"&format=jsonl")
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/jsonl") ||
				!strings.Contains(resp.Header.Get("Content-Disposition"), `.jsonl"`) {
				t.Fatalf("%d %v", resp.StatusCode, resp.Header)
			}
			sc := bufio.NewScanner(bytes.NewReader(body))
			n := 0
			for sc.Scan() {
				var row ExportRow
				dec := json.NewDecoder(strings.NewReader(sc.Text()))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&row); err != nil {
					t.Fatalf("line %d: %v: %s", n+1, err, sc.Text())
				}
				check(t, row, false)
				n++
			}
			if n != 3 {
				t.Errorf("%d lines, want 3", n)
			}
		})
	}
	// An export walks every page of the store's search.
	exportPage = 1
	_, body := getExport(t, r, "/api/v1/search?format=jsonl&"+q)
	exportPage = store.MaxLimit
	if n := bytes.Count(body, []byte("\n")); n != 3 {
		t.Errorf("export one store page at a time: %d lines, want 3", n)
	}
	// limit caps the export.
	if _, body := getExport(t, r, "/api/v1/search?format=jsonl&limit=2"); bytes.Count(body, []byte("\n")) != 2 {
		t.Errorf("limit=2: %s", body)
	}
	if resp, _ := getExport(t, r, "/api/v1/search?format=xml"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("format=xml: %d, want 400", resp.StatusCode)
	}
	// The search page links to both.
	_, page := getExport(t, r, "/?"+q)
	if !bytes.Contains(page, []byte(`id="export-csv"`)) || !bytes.Contains(page, []byte("format=jsonl")) {
		t.Errorf("the search page has no export links")
	}
}
