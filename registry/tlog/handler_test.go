package tlog

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"
)

// get fetches path from srv exactly as written (no client-side cleaning).
func get(t *testing.T, srv *httptest.Server, method, path string) (int, http.Header, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: log\r\nConnection: close\r\n\r\n", method, path)
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

func TestTileHandler(t *testing.T) {
	s, _, vkey := testKey(t, testOrigin)
	dir := logDir(t)
	l := openLog(t, dir, s)
	defer l.Close()
	ctx := context.Background()
	appendAll(t, l, 600, 128)
	raw, cp := latest(t, l, vkey)

	srv := httptest.NewServer(l.TileHandler())
	defer srv.Close()

	code, h, body := get(t, srv, "GET", "/checkpoint")
	if code != 200 || !bytes.Equal(body, raw) || h.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("GET /checkpoint: %d %q, body equal %v", code, h.Get("Content-Type"), bytes.Equal(body, raw))
	}
	for _, p := range []string{layout.TilePath(0, 0, 0), layout.TilePath(0, 2, uint8(cp.Size%256)), layout.TilePath(1, 0, uint8(cp.Size/256)), layout.EntriesPath(1, 0)} {
		code, h, body := get(t, srv, "GET", "/"+p)
		want, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		if code != 200 || !bytes.Equal(body, want) || h.Get("Content-Type") != "application/octet-stream" {
			t.Errorf("GET /%s: %d %q, body equal %v", p, code, h.Get("Content-Type"), bytes.Equal(body, want))
		}
	}
	if code, h, body := get(t, srv, "HEAD", "/"+layout.TilePath(0, 0, 0)); code != 200 || len(body) != 0 || h.Get("Content-Length") != "8192" {
		t.Errorf("HEAD full tile: %d, %d body bytes, Content-Length %q", code, len(body), h.Get("Content-Length"))
	}
	if code, h, _ := get(t, srv, "POST", "/checkpoint"); code != http.StatusMethodNotAllowed || h.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /checkpoint: %d, Allow %q", code, h.Get("Allow"))
	}

	// Anything but a canonical tile path is refused, traversal above all.
	for _, p := range []string{
		"/",
		"/.state/treeState",
		"/" + lockFileName,
		"/tile/../.state/treeState",
		"/tile/0/../../.state/treeState",
		"/tile/%2e%2e/.state/treeState",
		"/tile/0/%2e%2e/%2e%2e/.state/treeState",
		"/tile/entries/..%2f..%2f.state%2ftreeState",
		"/%2e%2e/%2e%2e/etc/passwd",
		"/tile/0/000/../000",
		"/tile/0/000%2f..%2f000",
		"/tile/0/./000",
		"//tile/0/000",
		"/tile/0/000/",
		"/tile/0/0",
		"/tile/0/0000",
		"/tile/0/x000",
		"/tile/0/x0/000",
		"/tile/00/000",
		"/tile/+0/000",
		"/tile/64/000",
		"/tile/0/000.p/0",
		"/tile/0/000.p/256",
		"/tile/0/000.p/08",
		"/tile/0/000.p/",
		"/tile/0/-01",
		"/tile/0/00a",
		"/tile/entries/x/000",
		"/tile/entries/000.p/1/../../000",
		"/tile/data/000",
		"/checkpoint/",
		"/checkpoint.tmp",
		"/tile/0/x001/x002/x003/x004/x005/x006/x007/000",
	} {
		code, _, body := get(t, srv, "GET", p)
		if code != http.StatusNotFound && code != http.StatusBadRequest {
			t.Errorf("GET %s: %d, want 404 or 400 (body %.40q)", p, code, body)
		}
	}

	// A tessera client, fetching over HTTP only, verifies inclusion against the checkpoint.
	fetchTile := func(ctx context.Context, level, index uint64, p uint8) ([]byte, error) {
		code, _, body := get(t, srv, "GET", "/"+layout.TilePath(level, index, p))
		if code == http.StatusNotFound && p > 0 {
			code, _, body = get(t, srv, "GET", "/"+layout.TilePath(level, index, 0))
		}
		if code != 200 {
			return nil, fmt.Errorf("tile %d/%d.p/%d: HTTP %d", level, index, p, code)
		}
		return body, nil
	}
	pb, err := client.NewProofBuilder(ctx, cp.Size, fetchTile)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []uint64{0, 255, 256, 300, 599} {
		e := makeEntry(i)
		idx, ok := l.Lookup(e)
		if !ok {
			t.Fatalf("entry %d not logged", i)
		}
		p, err := pb.InclusionProof(ctx, idx)
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyInclusion(e, idx, p, cp); err != nil {
			t.Fatalf("proof built from served tiles: %v", err)
		}
	}

	// Mounted under a prefix, as the registry server does.
	mux := http.NewServeMux()
	mux.Handle("/log/", http.StripPrefix("/log", l.TileHandler()))
	srv2 := httptest.NewServer(mux)
	defer srv2.Close()
	if code, _, body := get(t, srv2, "GET", "/log/checkpoint"); code != 200 || !bytes.Equal(body, raw) {
		t.Errorf("GET /log/checkpoint through a mux: %d", code)
	}
	for _, p := range []string{"/log/%2e%2e/log/.state/treeState", "/log/tile/%2e%2e/.state/treeState", "/log/.state/treeState"} {
		code, _, body := get(t, srv2, "GET", p)
		if code == 200 || strings.Contains(string(body), `"size"`) {
			t.Errorf("GET %s through a mux: %d", p, code)
		}
	}
}

func TestParseTileN(t *testing.T) {
	for _, tc := range []struct {
		in string
		n  uint64
		w  uint8
		ok bool
	}{
		{"000", 0, 0, true},
		{"067", 67, 0, true},
		{"x001/x234/067", 1234067, 0, true},
		{"x001/x234/067.p/8", 1234067, 8, true},
		{"x018/x446/x744/x073/x709/x551/615", 18446744073709551615, 0, true},
		{"x018/x446/x744/x073/x709/x551/616", 0, 0, false},
		{"x999/x999/x999/x999/x999/x999/999", 0, 0, false},
		{"67", 0, 0, false},
		{"x67/000", 0, 0, false},
		{"001/000", 0, 0, false},
		{"000.p/x", 0, 0, false},
		{"", 0, 0, false},
	} {
		n, w, ok := parseTileN(tc.in)
		if ok != tc.ok || (ok && (n != tc.n || w != tc.w)) {
			t.Errorf("parseTileN(%q) = %d, %d, %v; want %d, %d, %v", tc.in, n, w, ok, tc.n, tc.w, tc.ok)
		}
	}
}

func FuzzTileResourcePath(f *testing.F) {
	for _, s := range []string{"tile/0/000", "tile/entries/x001/234.p/5", "tile/1/../../x", "checkpoint"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		rel, ok := tileResourcePath(p)
		if !ok {
			return
		}
		if rel != p || strings.Contains(rel, "..") || strings.Contains(rel, "//") || filepath.Clean(rel) != rel || !strings.HasPrefix(rel, "tile/") {
			t.Fatalf("tileResourcePath(%q) accepted %q", p, rel)
		}
	})
}
