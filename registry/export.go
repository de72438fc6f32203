//go:build !agentimage

package registry

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/registry/store"
)

// Export formats of a search (format=csv or format=jsonl on GET /api/v1/search and
// on the search page): every matching certificate, newest first, from the cursor if
// one is given and up to limit if one is given, one row or line each, for ERP and
// ITAD systems that import erasure reports.
const (
	FormatCSV   = "csv"
	FormatJSONL = "jsonl"
)

// ExportRow is a certificate as exported: the CSV columns, in order, are its JSON
// names. Times are RFC 3339 in UTC; Logged is when the registry received a
// certificate it has logged, empty while it is not yet logged.
type ExportRow struct {
	CertificateID string `json:"certificate_id"`
	Issued        string `json:"issued"`
	Logged        string `json:"logged"`
	LogIndex      string `json:"log_index"`
	Serial        string `json:"serial"`
	WWN           string `json:"wwn"`
	AssetNumber   string `json:"asset_number"`
	Manufacturer  string `json:"manufacturer"`
	Model         string `json:"model"`
	SizeBytes     string `json:"size_bytes"`
	Method        string `json:"method"`
	Technique     string `json:"technique"`
	NISTCategory  string `json:"nist_category"`
	Outcome       string `json:"outcome"`
	Status        string `json:"status"`
	Verification  string `json:"verification"`
	Verified      string `json:"verified"`
	Host          string `json:"host"`
	Organization  string `json:"organization"`
	Customer      string `json:"customer"`
	Validity      string `json:"validity"`
	PageURL       string `json:"page_url"`
}

// exportColumns are the CSV header.
var exportColumns = []string{"certificate_id", "issued", "logged", "log_index", "serial", "wwn", "asset_number",
	"manufacturer", "model", "size_bytes", "method", "technique", "nist_category", "outcome", "status",
	"verification", "verified", "host", "organization", "customer", "validity", "page_url"}

func (r ExportRow) fields() []string {
	return []string{r.CertificateID, r.Issued, r.Logged, r.LogIndex, r.Serial, r.WWN, r.AssetNumber, r.Manufacturer,
		r.Model, r.SizeBytes, r.Method, r.Technique, r.NISTCategory, r.Outcome, r.Status, r.Verification,
		r.Verified, r.Host, r.Organization, r.Customer, r.Validity, r.PageURL}
}

func (s *Server) exportRow(rec store.Record, keys map[string]store.Key) ExportRow {
	ci := info(rec, keys, false)
	row := ExportRow{CertificateID: rec.ID, Issued: rec.Issued.UTC().Format(time.RFC3339Nano), Serial: rec.Serial,
		WWN: rec.WWN, AssetNumber: rec.AssetNumber, Method: rec.Method, Outcome: rec.Outcome, Status: rec.Status,
		Organization: rec.Organization, Customer: rec.Customer, Validity: ci.Validity, PageURL: CertificatePage(s.publicURL, rec.ID)}
	if rec.LogIndex != nil {
		row.LogIndex = strconv.FormatUint(*rec.LogIndex, 10)
		row.Logged = rec.Received.UTC().Format(time.RFC3339Nano)
	}
	if c, _, err := certificates.Inspect(rec.Bundle); err == nil {
		row.Manufacturer, row.Model = c.Media.Manufacturer, c.Media.Model
		row.SizeBytes = strconv.FormatUint(c.Media.SizeBytes, 10)
		row.Technique, row.NISTCategory = c.Sanitization.Technique, c.Sanitization.Category
		row.Verification, row.Verified = c.Verification.Method, strconv.FormatBool(c.Verification.Verified)
		row.Host = c.Source.Hostname
	}
	return row
}

// exportPage is how many certificates an export reads from the store at a time
// (a variable for tests).
var exportPage = store.MaxLimit

// export answers a search in an export format.
func (s *Server) export(w http.ResponseWriter, r *http.Request, format string) {
	if format != FormatCSV && format != FormatJSONL {
		writeError(w, http.StatusBadRequest, "format: want json, csv or jsonl")
		return
	}
	q, err := query(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	total := q.Limit // 0: all
	keys, err := s.keys.all(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	q.Limit = exportPage
	if total > 0 {
		q.Limit = min(total, exportPage)
	}
	page, ok := s.searchStore(w, r, q)
	if !ok {
		return
	}
	name := "decom-certificates-" + time.Now().UTC().Format("20060102T150405Z") + "." + format
	if format == FormatCSV {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8; header=present")
	} else {
		w.Header().Set("Content-Type", "application/jsonl; charset=utf-8")
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	cw := csv.NewWriter(w)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if format == FormatCSV {
		_ = cw.Write(exportColumns)
	}
	n := 0
	for {
		for _, rec := range page.Records {
			row := s.exportRow(rec, keys)
			if format == FormatCSV {
				err = cw.Write(row.fields())
			} else {
				err = enc.Encode(row)
			}
			if err != nil {
				return // the client went away
			}
			n++
			if total > 0 && n == total {
				cw.Flush()
				return
			}
		}
		cw.Flush()
		if page.Next == "" || r.Context().Err() != nil {
			return
		}
		q.Cursor = page.Next
		if page, err = s.store.Search(r.Context(), q); err != nil {
			// The answer has begun: the client sees a truncated file.
			s.logger.Error("export", "err", err)
			return
		}
	}
}

// exportLinks are the search page's links to download its search in full.
func exportLinks(r *http.Request) (csvURL, jsonlURL string) {
	v := r.URL.Query()
	v.Del("cursor")
	v.Del("limit")
	v.Set("format", FormatCSV)
	csvURL = "/?" + v.Encode()
	v.Set("format", FormatJSONL)
	return csvURL, "/?" + v.Encode()
}
