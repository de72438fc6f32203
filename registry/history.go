//go:build !agentimage

package registry

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/registry/store"
)

// A drive's history: every certificate and record the registry holds for one serial
// number (or WWN), oldest first, so that a failed wipe and the destruction that
// followed it read in order on one page. A certificate of destruction names the
// record it follows (Destruction.Follows); that record joins the history even when
// it does not carry the serial itself (a drive whose serial the wipe could not read,
// typed from its label at destruction).

// maxHistory bounds the certificates one history page gathers.
const maxHistory = 2000

type historyRow struct {
	listRow
	Title string
	// LinkedBy is the ID of the certificate of destruction that named this record
	// as the one it follows, when the record does not carry the serial itself.
	LinkedBy string
	// Follows is what a certificate of destruction follows.
	Follows string
	// Summary is a certificate of destruction's one-line account.
	Summary string
}

type historyPage struct {
	Key, Value string
	Rows       []historyRow
	Truncated  bool
}

// HistoryPage is the address of the history of the drive with this serial number
// on the registry at base.
func HistoryPage(base, serial string) string {
	return strings.TrimRight(base, "/") + "/history?serial=" + url.QueryEscape(serial)
}

func (s *Server) uiHistory(w http.ResponseWriter, r *http.Request) {
	var p historyPage
	q := store.Query{Limit: store.MaxLimit}
	if v := r.URL.Query().Get("serial"); v != "" {
		p.Key, p.Value, q.Serial = "serial", v, v
	} else if v := r.URL.Query().Get("wwn"); v != "" {
		p.Key, p.Value, q.WWN = "wwn", v, v
	} else {
		s.render(w, r, http.StatusBadRequest, s.uiTemplates.history, p)
		return
	}
	keys, err := s.keys.all(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	seen := map[string]bool{}
	var recs []store.Record
	for {
		page, err := s.store.Search(r.Context(), q)
		if err != nil {
			s.internal(w, r, err)
			return
		}
		for _, rec := range page.Records {
			seen[rec.ID] = true
			recs = append(recs, rec)
		}
		if page.Next == "" {
			break
		}
		if len(recs) >= maxHistory {
			p.Truncated = true
			break
		}
		q.Cursor = page.Next
	}
	for _, rec := range recs {
		p.Rows = append(p.Rows, s.newHistoryRow(rec, keys))
	}
	// The records the certificates of destruction follow.
	for _, row := range slices.Clone(p.Rows) {
		if row.Follows == "" || seen[row.Follows] {
			continue
		}
		rec, err := s.store.GetCertificate(r.Context(), row.Follows)
		switch {
		case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrInvalid):
			continue
		case err != nil:
			s.internal(w, r, err)
			return
		}
		seen[rec.ID] = true
		linked := s.newHistoryRow(rec, keys)
		linked.LinkedBy = row.ID
		p.Rows = append(p.Rows, linked)
	}
	slices.SortStableFunc(p.Rows, func(a, b historyRow) int {
		if c := a.Issued.Compare(b.Issued); c != 0 {
			return c
		}
		return a.Received.Compare(b.Received)
	})
	s.render(w, r, http.StatusOK, s.uiTemplates.history, p)
}

func (s *Server) newHistoryRow(rec store.Record, keys map[string]store.Key) historyRow {
	row := historyRow{listRow: s.newListRow(rec, keys), Title: rec.Status}
	if c, _, err := certificates.Inspect(rec.Bundle); err == nil {
		row.Title = c.Title()
		row.Summary = c.DestructionSummary()
		if c.Destruction != nil {
			row.Follows = c.Destruction.Follows
		}
	}
	return row
}
