package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/decom-project/decom/internal/sysfstest"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files of decom wipe's JSON lines")

// The JSON lines of decom wipe are an interface: programs parse them. These runs on
// image files (one target each, so that the order of lines is fixed; progress only
// at each pass's end) must print the same bytes as the golden files, once what
// differs from run to run — times, rates, paths, device and inode numbers, seeds,
// keys and IDs — is replaced by a placeholder.
func TestWipeJSONLinesGolden(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "site")
	t.Setenv("DECOM_KEY_PASSWORD", "golden-test")
	if code, _, stderr := decom(t, context.Background(), "keys", "generate", "--out", key); code != 0 {
		t.Fatalf("keys generate: exit %d: %s", code, stderr)
	}
	certs := filepath.Join(dir, "certs")
	ar, err := txtar.ParseFile(filepath.Join("..", "..", "inventory", "testdata", "hosts", "loops.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	sysroot := filepath.Join(dir, "sysroot")
	if err := sysfstest.Materialize(sysroot, ar); err != nil {
		t.Fatal(err)
	}
	img := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, make([]byte, 3<<20+512), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	common := []string{"--output", "json", "--progress-interval", "1h", "--key", key + ".key", "--cert-dir", certs, "--operator", "Golden Tester"}
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"dod3-full-each-pass", []string{"wipe", img("a.img"), "--yes", "--method", "dod-3", "--verify", "full", "--verify-passes", "all"}, 0},
		{"custom-sample", []string{"wipe", img("b.img"), "--yes", "--passes", "0x55,random", "--coverage", "50%", "--block-size", "64KiB"}, 0},
		{"unverified", []string{"wipe", img("c.img"), "--yes", "--method", "zero", "--verify", "none", "--pdf"}, 0},
		{"purge-refused-dry-run", []string{"wipe", img("d.img"), "--method", "nist-purge", "--dry-run"}, 4},
		{"no-certificate", []string{"wipe", img("e.img"), "--yes", "--method", "one", "--no-certificate"}, 0},
		{"all-left-out", []string{"--sysroot", sysroot, "wipe", "--all", "--dry-run", "--no-certificate"}, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append(append([]string{}, c.args...), common...)
			if slicesContain(args, "--no-certificate") {
				args = args[:len(args)-6] // no key, certificate directory or operator
			}
			code, stdout, stderr := decom(t, context.Background(), args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\nstderr: %s", code, c.code, stderr)
			}
			got := normalizeJSONLines(stdout, dir)
			golden := filepath.Join("testdata", "golden", c.name+".jsonl")
			if *updateGolden {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -run TestWipeJSONLinesGolden -update writes it)", err)
			}
			if got != string(want) {
				t.Errorf("decom wipe's JSON lines changed:\n got: %s\nwant: %s", got, want)
			}
		})
	}
}

func slicesContain(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

var jsonVolatile = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`"\d{4}-\d\d-\d\dT[0-9:.]+Z"`), `"TIME"`},
	{regexp.MustCompile(`\d{8}T\d{6}Z_[^"/]*\.(sigstore\.json|pdf)"`), `STAMP_MEDIA_ID.$1"`},
	// A sample's random locations may overlap: how much it read varies.
	{regexp.MustCompile(`"(blocks_read|bytes_read|bytes_total)":\d+`), `"$1":0`},
	{regexp.MustCompile(`"coverage":0\.\d+`), `"coverage":0.x`},
	{regexp.MustCompile(`"(rate_bytes_per_second|eta_seconds|seconds|duration_seconds|elapsed_seconds|estimated_seconds)":[0-9.e+-]+`), `"$1":0`},
	{regexp.MustCompile(`"(inode|dev_no|device_number|seed|key|keys|certificate_id|id)":"[^"]*"`), `"$1":"X"`},
	{regexp.MustCompile(`"(inode)":\d+`), `"$1":0`},
	{regexp.MustCompile(`[0-9a-f]{32,}`), `HEX`},
	{regexp.MustCompile(`"io_mode":"(direct|buffered)"`), `"io_mode":"IO"`},
}

// normalizeJSONLines replaces what differs between runs in decom wipe's JSON lines.
func normalizeJSONLines(out, dir string) string {
	out = strings.ReplaceAll(out, dir, "$DIR")
	for _, v := range jsonVolatile {
		out = v.re.ReplaceAllString(out, v.with)
	}
	return out
}
