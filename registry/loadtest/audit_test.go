package loadtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/transparency-dev/tessera/api"
	"github.com/transparency-dev/tessera/api/layout"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/registry"
	"github.com/decom-project/decom/registry/tlog"
)

// logEntries reads the first size entries of the log through its tlog-tiles API, as a monitor
// would: GET /log/tile/entries/N[.p/W].
func (s *server) logEntries(c *http.Client, size uint64) ([][]byte, error) {
	out := make([][]byte, 0, size)
	for n := uint64(0); n*layout.EntryBundleWidth < size; n++ {
		p := layout.PartialTileSize(0, n, size)
		raw, err := get(c, s.URL+"/log/"+layout.EntriesPath(n, p))
		if err != nil && p != 0 { // the partial bundle was replaced by the full one
			raw, err = get(c, s.URL+"/log/"+layout.EntriesPath(n, 0))
		}
		if err != nil {
			return nil, err
		}
		var eb api.EntryBundle
		if err := eb.UnmarshalText(raw); err != nil {
			return nil, fmt.Errorf("entry bundle %d: %w", n, err)
		}
		want := int(p)
		if p == 0 {
			want = layout.EntryBundleWidth
		}
		if len(eb.Entries) < want {
			return nil, fmt.Errorf("entry bundle %d holds %d entries, want %d", n, len(eb.Entries), want)
		}
		out = append(out, eb.Entries[:want]...)
	}
	return out, nil
}

// stored lists every certificate the registry stores, paging through GET /api/v1/search.
func (s *server) stored(c *http.Client) ([]registry.CertificateInfo, error) {
	var all []registry.CertificateInfo
	cursor := ""
	for {
		var page registry.SearchResult
		req, err := http.NewRequest(http.MethodGet, s.URL+"/api/v1/search?limit=500&cursor="+url.QueryEscape(cursor), nil)
		if err != nil {
			return nil, err
		}
		if s.ReadToken != "" {
			req.Header.Set("Authorization", "Bearer "+s.ReadToken)
		}
		code, b, err := do(c, req)
		if err != nil {
			return nil, err
		}
		if code != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %d: %s", req.URL, code, b)
		}
		if err := json.Unmarshal(b, &page); err != nil {
			return nil, fmt.Errorf("GET %s: %w", req.URL, err)
		}
		all = append(all, page.Certificates...)
		if page.Next == "" {
			return all, nil
		}
		cursor = page.Next
	}
}

// audit checks the log of size cp.Size against the store, the way an auditor with the whole
// log would: each entry is a distinct certificate, each stored certificate is in the log once, at
// the index the store records, and there are as many entries as stored certificates. It returns
// the log's entries by certificate ID.
func (s *server) audit(t testing.TB, cp tlog.Checkpoint) map[string]uint64 {
	t.Helper()
	c := agentClient()
	defer c.CloseIdleConnections()
	entries, err := s.logEntries(c, cp.Size)
	if err != nil {
		t.Fatalf("read the log: %v", err)
	}
	inLog := make(map[string]uint64, len(entries))
	for i, e := range entries {
		cert, _, err := certificates.Inspect(e)
		if err != nil {
			t.Errorf("log entry %d is not a certificate: %v", i, err)
			continue
		}
		if j, dup := inLog[cert.ID]; dup {
			t.Errorf("certificate %s is in the log twice: entries %d and %d", cert.ID, j, i)
			continue
		}
		inLog[cert.ID] = uint64(i)
	}
	recs, err := s.stored(c)
	if err != nil {
		t.Fatalf("list stored certificates: %v", err)
	}
	byIndex := make(map[uint64]string, len(recs))
	for _, r := range recs {
		switch {
		case r.LogIndex == nil:
			t.Errorf("certificate %s is stored but not in the log", r.ID)
		case byIndex[*r.LogIndex] != "":
			t.Errorf("log index %d is recorded for two certificates: %s and %s", *r.LogIndex, byIndex[*r.LogIndex], r.ID)
		default:
			byIndex[*r.LogIndex] = r.ID
			if idx, ok := inLog[r.ID]; !ok {
				t.Errorf("certificate %s is stored with log index %d, but is not in the log of size %d", r.ID, *r.LogIndex, cp.Size)
			} else if idx != *r.LogIndex {
				t.Errorf("certificate %s is stored with log index %d, but is entry %d of the log", r.ID, *r.LogIndex, idx)
			}
		}
	}
	if len(recs) != len(entries) || len(inLog) != len(entries) {
		t.Errorf("%d certificates stored, %d distinct certificates in a log of %d entries: want all equal", len(recs), len(inLog), len(entries))
	}
	return inLog
}
