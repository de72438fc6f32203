//go:build !agentimage

package registry

import (
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/internal/humanize"
	"github.com/decom-project/decom/registry/store"
)

//go:embed templates/*.html
var templateFS embed.FS

type uiTemplates struct {
	search, certificate, log, notFound, history, jobs, job *template.Template
}

func loadTemplates() (*uiTemplates, error) {
	funcs := template.FuncMap{
		// time is empty for a zero time: the page says "not recorded" (template v).
		"time": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format("2006-01-02 15:04:05 UTC")
		},
		// join joins the parts that are not blank (strings or string slices) with
		// sep, so that a missing part leaves no stray separator.
		"join": func(sep string, parts ...any) string {
			var out []string
			add := func(s string) {
				if s = strings.TrimSpace(s); s != "" {
					out = append(out, s)
				}
			}
			for _, p := range parts {
				switch p := p.(type) {
				case string:
					add(p)
				case []string:
					for _, s := range p {
						add(s)
					}
				}
			}
			return strings.Join(out, sep)
		},
		"prefixed": func(prefix, s string) string {
			if strings.TrimSpace(s) == "" {
				return ""
			}
			return prefix + s
		},
		"bytes": humanize.Bytes,
		"outcomes": func() []string {
			return []string{certificates.OutcomeSanitized, certificates.OutcomeExceptions, certificates.OutcomeUnverified,
				certificates.OutcomeFailed, certificates.OutcomeAborted, certificates.OutcomeDestroyed}
		},
		// badge is the class of an outcome's cell in the search results.
		"badge": func(outcome string) string {
			switch outcome {
			case certificates.OutcomeSanitized, certificates.OutcomeDestroyed:
				return "ok"
			case certificates.OutcomeExceptions:
				return "warn"
			case certificates.OutcomeUnverified:
				return "unverified"
			}
			return "bad"
		},
		"validityOK": validityOK,
		"validityLabel": func(v string) string {
			switch v {
			case ValidityValid:
				return "valid"
			case ValidityKeyRevokedLater:
				return "valid (key revoked later)"
			case ValidityKeyRevoked:
				return "NOT valid: key revoked"
			case ValidityUnknownKey:
				return "unknown key"
			case ValidityBadSignature:
				return "NOT valid: bad signature"
			}
			return v
		},
		"pct":     certificates.Percent,
		"jobPage": func(name string) string { return JobPage("", name) },
	}
	parse := func(name string) (*template.Template, error) {
		return template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name)
	}
	var t uiTemplates
	var err error
	for _, p := range []struct {
		dst  **template.Template
		name string
	}{{&t.search, "search.html"}, {&t.certificate, "certificate.html"}, {&t.log, "log.html"}, {&t.notFound, "notfound.html"},
		{&t.history, "history.html"}, {&t.jobs, "jobs.html"}, {&t.job, "job.html"}} {
		if *p.dst, err = parse(p.name); err != nil {
			return nil, err
		}
	}
	return &t, nil
}

func (s *Server) uiRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /{$}", s.uiSearch)
	m.HandleFunc("GET /certificates/{id}", s.uiCertificate)
	m.HandleFunc("GET /log", s.uiLog)
	m.HandleFunc("GET /history", s.uiHistory)
	s.jobRoutes(m)
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, t *template.Template, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if err := t.Execute(w, data); err != nil {
		s.logger.Error("render page", "path", r.URL.Path, "err", err)
	}
}

type searchPage struct {
	Query   store.Query
	Params  map[string]string
	Results []listRow
	Next    string
	NextURL string
	// ExportCSV and ExportJSONL download the whole search (export.go).
	ExportCSV, ExportJSONL string
	Error                  string
	Asked                  bool
}

func (s *Server) uiSearch(w http.ResponseWriter, r *http.Request) {
	if f := r.URL.Query().Get("format"); f != "" {
		s.export(w, r, f)
		return
	}
	page := searchPage{Params: map[string]string{}}
	for _, k := range []string{"serial", "wwn", "asset", "id", "outcome", "method", "organization", "customer", "from", "to"} {
		page.Params[k] = r.URL.Query().Get(k)
		if page.Params[k] != "" {
			page.Asked = true
		}
	}
	q, err := query(r)
	if err != nil {
		page.Error = err.Error()
		s.render(w, r, http.StatusBadRequest, s.uiTemplates.search, page)
		return
	}
	if q.Limit == 0 {
		q.Limit = 50
	}
	res, err := s.store.Search(r.Context(), q)
	switch {
	case errors.Is(err, store.ErrInvalid):
		page.Error = "bad search: " + err.Error()
		s.render(w, r, http.StatusBadRequest, s.uiTemplates.search, page)
		return
	case err != nil:
		s.internal(w, r, err)
		return
	}
	keys, err := s.keys.all(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	for _, rec := range res.Records {
		page.Results = append(page.Results, s.newListRow(rec, keys))
	}
	page.ExportCSV, page.ExportJSONL = exportLinks(r)
	if res.Next != "" {
		v := r.URL.Query()
		v.Set("cursor", res.Next)
		page.NextURL = "/?" + v.Encode()
	}
	s.render(w, r, http.StatusOK, s.uiTemplates.search, page)
}

// listRow is a certificate in a list: what the store indexes, and the media's
// model and path read from the signed certificate, so that drives without a
// serial number can be told apart.
type listRow struct {
	CertificateInfo
	Model, Path string
}

func (s *Server) newListRow(rec store.Record, keys map[string]store.Key) listRow {
	row := listRow{CertificateInfo: s.info(rec, keys, false)}
	if c, _, err := certificates.Inspect(rec.Bundle); err == nil {
		row.Model, row.Path = c.Media.Model, c.Media.Path
	}
	return row
}

type certificatePage struct {
	Info        CertificateInfo
	Cert        *certificates.Certificate
	Signature   string
	SignatureOK bool
	Inclusion   string
	InclusionOK bool
	Receipt     *Receipt
	// Logged says what the signed logged time proved, checked as an auditor would.
	Logged   string
	LoggedOK bool
}

func (s *Server) uiCertificate(w http.ResponseWriter, r *http.Request) {
	rec, err := s.store.GetCertificate(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrInvalid):
		s.render(w, r, http.StatusNotFound, s.uiTemplates.notFound, r.PathValue("id"))
		return
	case err != nil:
		s.internal(w, r, err)
		return
	}
	keys, err := s.keys.all(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	// The same judgement as the API's: by the time the registry received the
	// certificate, against its key's revocation.
	p := certificatePage{Info: s.info(rec, keys, true)}
	p.Cert = p.Info.Certificate
	p.SignatureOK = validityOK(p.Info.Validity)
	p.Signature = p.Info.ValidityReason
	p.Inclusion = "not yet in the log"
	p.Logged = "not yet in the log"
	if rec.LogIndex != nil {
		receipt, err := s.receipt(r.Context(), rec, *rec.LogIndex)
		if err == nil {
			p.Receipt = &receipt
			p.InclusionOK, p.Inclusion = checkReceipt(receipt, rec.Bundle, s.logKey)
			p.LoggedOK, p.Logged = checkLogged(receipt, rec.Bundle, s.logKey)
		} else {
			p.Inclusion = "proof unavailable: " + err.Error()
		}
	}
	s.render(w, r, http.StatusOK, s.uiTemplates.certificate, p)
}

// checkReceipt checks a receipt as an auditor would, and says what it proved.
func checkReceipt(rc Receipt, bundle []byte, logKey string) (bool, string) {
	cp, err := VerifyReceipt(rc, bundle, logKey)
	if err != nil {
		return false, err.Error()
	}
	return true, "included: entry " + itoa(rc.LogIndex) + " of " + itoa(cp.Size) + " in the log " + cp.Origin + ", proof verified against its signed checkpoint"
}

type logPage struct {
	Checkpoint string
	Origin     string
	Size       uint64
	Hash       string
	Key        string
}

func (s *Server) uiLog(w http.ResponseWriter, r *http.Request) {
	raw, err := s.log.Checkpoint(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	cp, err := s.parsed.checkpoint(raw, s.logKey)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, s.uiTemplates.log, logPage{Checkpoint: string(raw), Origin: cp.Origin, Size: cp.Size,
		Hash: base64.StdEncoding.EncodeToString(cp.Hash), Key: s.logKey})
}

// validityOK reports whether a Validity value means the certificate is valid.
func validityOK(v string) bool { return v == ValidityValid || v == ValidityKeyRevokedLater }
