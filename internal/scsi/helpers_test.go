package scsi

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixture reads testdata/name: hex bytes separated by white space, lines starting with #
// being comments.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	b, err := decodeHexDump(string(raw))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}

func decodeHexDump(s string) ([]byte, error) {
	var digits strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		digits.WriteString(strings.Join(strings.Fields(line), ""))
	}
	return hex.DecodeString(digits.String())
}

// allFixtures returns every fixture in testdata, to seed the fuzzers.
func allFixtures(t testing.TB) [][]byte {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", "*.hex"))
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("no fixtures in testdata")
	}
	var out [][]byte
	for _, n := range names {
		out = append(out, fixture(t, filepath.Base(n)))
	}
	return out
}
