//go:build !agentimage

package tlog

import (
	"bytes"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/transparency-dev/tessera/api/layout"
)

// TileHandler returns a read-only handler for the tlog-tiles HTTP API, relative to the log's
// root:
//
//	GET /checkpoint                   text/plain; charset=utf-8, Cache-Control: no-cache
//	GET /tile/<L>/<N>[.p/<W>]         application/octet-stream, immutable
//	GET /tile/entries/<N>[.p/<W>]     application/octet-stream, immutable
//
// Mount it under a prefix with http.StripPrefix. Paths are parsed into numbers and must be in
// canonical form (three-digit groups, "x" prefixes, 1 ≤ W ≤ 255, L ≤ 63); the file read is
// rebuilt from those numbers, so nothing outside the tiles can be reached. Anything else is 404;
// methods other than GET and HEAD are 405. A partial tile that has been replaced by its full tile
// is 404: tlog-tiles clients then fetch the full tile.
func (l *Log) TileHandler() http.Handler {
	return http.HandlerFunc(l.serveTiles)
}

func (l *Log) serveTiles(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := strings.TrimPrefix(r.URL.Path, "/")
	if p == layout.CheckpointPath {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(l.pub.Load().raw))
		return
	}
	rel, ok := tileResourcePath(p)
	if !ok {
		http.NotFound(w, r)
		return
	}
	f, err := os.Open(filepath.Join(l.dir, filepath.FromSlash(rel)))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			http.NotFound(w, r)
			return
		}
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

// tileResourcePath validates a request path (without leading slash) for a tile or entry bundle
// and returns the canonical relative file path for it.
func tileResourcePath(p string) (string, bool) {
	rest, ok := strings.CutPrefix(p, "tile/")
	if !ok {
		return "", false
	}
	var canonical string
	if nPath, ok := strings.CutPrefix(rest, "entries/"); ok {
		n, w, ok := parseTileN(nPath)
		if !ok {
			return "", false
		}
		canonical = layout.EntriesPath(n, w)
	} else {
		levelStr, nPath, ok := strings.Cut(rest, "/")
		if !ok || len(levelStr) == 0 || len(levelStr) > 2 {
			return "", false
		}
		level, err := strconv.ParseUint(levelStr, 10, 8)
		if err != nil || level > 63 {
			return "", false
		}
		n, w, ok := parseTileN(nPath)
		if !ok {
			return "", false
		}
		canonical = layout.TilePath(level, n, w)
	}
	// Only the canonical spelling is served (no leading zeros in L, no "+", no empty groups).
	if canonical != p {
		return "", false
	}
	return canonical, true
}

// parseTileN parses a tlog-tiles "N[.p/W]" path: groups of three digits, all but the last
// prefixed with "x".
func parseTileN(s string) (n uint64, w uint8, ok bool) {
	if i := strings.Index(s, ".p/"); i >= 0 {
		wv, err := strconv.ParseUint(s[i+3:], 10, 8)
		if err != nil || wv == 0 {
			return 0, 0, false
		}
		w, s = uint8(wv), s[:i]
	}
	groups := strings.Split(s, "/")
	if len(groups) > 7 { // 20 decimal digits at most
		return 0, 0, false
	}
	for i, g := range groups {
		if i < len(groups)-1 {
			var found bool
			if g, found = strings.CutPrefix(g, "x"); !found {
				return 0, 0, false
			}
		}
		if len(g) != 3 {
			return 0, 0, false
		}
		for _, c := range []byte(g) {
			if c < '0' || c > '9' {
				return 0, 0, false
			}
		}
		v, _ := strconv.ParseUint(g, 10, 64)
		if n > (^uint64(0)-v)/1000 {
			return 0, 0, false
		}
		n = n*1000 + v
	}
	return n, w, true
}
