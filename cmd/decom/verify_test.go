package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/decom-project/decom/internal/loopdev"
	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/verify"
)

// decom verify --seed reads exactly the blocks the wipe's own verification read.
func TestVerifySeedRepeatsTheRecordedSample(t *testing.T) {
	loopdev.Require(t)
	l := loopdev.New(t, 64<<20, false, nil)
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"wipe", l.Path, "--yes", "--no-certificate", "--method", "dod-3", "--output", "json"},
		strings.NewReader(""), &out, &errOut)
	if code != exitOK {
		t.Fatalf("wipe: exit %d: %s", code, errOut.String())
	}
	recordFile := filepath.Join(t.TempDir(), "wipe.jsonl")
	if err := os.WriteFile(recordFile, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	var rec sanitize.Result
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), `{"type":"record"`) {
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !rec.Verified || len(rec.Verification) != 1 {
		t.Fatalf("wipe not verified: %+v", rec.Verification)
	}
	first := rec.Verification[0]
	if first.Mode != verify.ModeSample || first.Seed == 0 || first.Pass != 3 || first.LocationsDigest == "" {
		t.Fatalf("recorded verification: %+v", first)
	}
	// The recorded digest is the digest of the blocks Locations gives for the seed.
	layout, err := verify.Locations(64<<20, 512, first.CoverageRequested, uint64(first.Seed), 1<<20)
	if err != nil || layout.Digest() != first.LocationsDigest || layout.Bytes() != first.BytesRead {
		t.Fatalf("Locations(seed %d) does not reproduce the recorded sample: %v", first.Seed, err)
	}

	// The record line writes the seed as a string; records of earlier versions wrote
	// a number. Both are records, and the seed is taken as printed, quotes or not.
	seed := first.Seed.String()
	quoted := `"seed":"` + seed + `"`
	lines, err := os.ReadFile(recordFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(lines, []byte(quoted)) {
		t.Fatalf("the record line has no %s", quoted)
	}
	oldFile := filepath.Join(t.TempDir(), "old-wipe.jsonl")
	if err := os.WriteFile(oldFile, bytes.ReplaceAll(lines, []byte(quoted), []byte(`"seed":`+seed)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{recordFile, seed}, {oldFile, seed}, {recordFile, `"` + seed + `"`}} {
		var vout, verr bytes.Buffer
		code = run(context.Background(), []string{"verify", l.Path, "--record", args[0],
			"--seed", args[1], "--output", "json"}, strings.NewReader(""), &vout, &verr)
		if code != exitOK {
			t.Fatalf("verify --record %s --seed %s: exit %d: %s", args[0], args[1], code, verr.String())
		}
		var again verifyReport
		if err := json.Unmarshal(vout.Bytes(), &again); err != nil {
			t.Fatal(err)
		}
		if again.Seed != first.Seed || again.LocationsDigest != first.LocationsDigest || again.BytesRead != first.BytesRead ||
			again.BlocksRead != first.BlocksRead || !again.Verified {
			t.Errorf("re-run read other blocks: seed %d digest %s bytes %d, recorded seed %d digest %s bytes %d",
				again.Seed, again.LocationsDigest, again.BytesRead, first.Seed, first.LocationsDigest, first.BytesRead)
		}
	}
}
