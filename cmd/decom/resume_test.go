package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/internal/loopdev"
	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/wipe"
)

// holds reports whether b holds pattern p (with its keys) from offset 0.
func holds(t *testing.T, b []byte, p wipe.Pattern, keys *wipe.Keys) bool {
	t.Helper()
	var k wipe.Keys
	if keys != nil {
		k = *keys
	}
	s, err := wipe.NewStream(p, k)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, len(b))
	s.FillAt(want, 0)
	return bytes.Equal(b, want)
}

// checkJournal holds the journal left by a killed wipe to the device's bytes: every
// pass it lists done is whole on the device unless a later pass has begun, and the
// current pass's pattern is there below its offset. A journal that claimed more than
// was written fails here.
func checkJournal(t *testing.T, dir, image string) *sanitize.Journal {
	t.Helper()
	files, err := sanitize.ReadJournals(dir)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case len(files) == 0:
		return nil
	case len(files) > 1 || files[0].Err != nil:
		t.Fatalf("journals after the kill: %+v", files)
	}
	j := files[0].Journal
	data, err := os.ReadFile(image)
	if err != nil {
		t.Fatal(err)
	}
	if c := j.Current; c != nil {
		if !holds(t, data[:c.Offset], c.Pattern, c.Keys) {
			t.Fatalf("the journal says pass %d is written below %d, but the device does not hold it", c.Pass, c.Offset)
		}
	} else if n := len(j.Done); n > 0 {
		last := j.Done[n-1]
		if !holds(t, data, last.Pattern, last.Keys) {
			t.Fatalf("the journal says pass %d is done and no later pass begun, but the device does not hold it", last.Number)
		}
	}
	return j
}

// decom wipe killed with SIGKILL at random points of a dod-3 wipe, and resumed each
// time, ends with the last pass on every byte, a certificate that lists each
// interruption, and a journal that never claimed a byte the device did not hold.
func TestWipeResumesAfterSIGKILL(t *testing.T) {
	loopdev.Require(t)
	const size = 24 << 20
	dir := t.TempDir()
	t.Setenv("DECOM_KEY_PASSWORD", "resume test passphrase")
	generateKey(t, filepath.Join(dir, "site"))
	certs, journals := filepath.Join(dir, "certs"), filepath.Join(dir, "journals")
	os.Mkdir(certs, 0o755)
	os.Mkdir(journals, 0o755)
	l := loopdev.New(t, size, false, nil)
	args := func(resume bool) []string {
		a := []string{"wipe", "--yes", "--method", "dod-3", "--verify", "full", "--output", "json",
			"--key", filepath.Join(dir, "site.key"), "--operator", "T", "--cert-dir", certs, "--journal-dir", journals,
			"--journal-interval", "10ms", "--progress-interval", "5ms", "--queue-depth", "1", "--block-size", "4KiB"}
		if resume {
			return append(a, "--resume")
		}
		return append(a, l.Path)
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	kills, sinceFresh, midPass, wipes := 0, 0, 0, 0
	var final map[string]any
	for kills < 20 || final == nil {
		j := checkJournal(t, journals, l.Backing)
		resume := j != nil
		if j != nil {
			t.Logf("kill %d: journal at %s", kills, j.Describe())
			if j.Current != nil && j.Current.Offset > 0 {
				midPass++
			}
		} else if kills > 0 && sinceFresh > 0 {
			t.Logf("kill %d: no journal yet", kills)
		}
		cmd := exec.Command(os.Args[0], args(resume)...)
		cmd.Env = append(os.Environ(), "DECOM_TEST_RUN_MAIN=1")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill at a random point of a random pass: small blocks, one at a time, make
		// the passes last long enough for several checkpoints.
		killPass, killAt := 0, 0.0
		if kills < 20 {
			killPass, killAt = 1+rng.IntN(3), rng.Float64()
		}
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 4<<20)
		killed := false
		var record map[string]any
		for sc.Scan() {
			line := sc.Bytes()
			switch {
			case bytes.HasPrefix(line, []byte(`{"type":"progress"`)):
				var ev wipe.Event
				if err := json.Unmarshal(line, &ev); err != nil {
					t.Fatal(err)
				}
				if !killed && ev.Pass == killPass && float64(ev.Done) >= killAt*float64(ev.Size) {
					cmd.Process.Signal(syscall.SIGKILL)
					killed = true
				}
			case bytes.HasPrefix(line, []byte(`{"type":"record"`)):
				if err := json.Unmarshal(line, &record); err != nil {
					t.Fatal(err)
				}
			}
		}
		err = cmd.Wait()
		var exit *exec.ExitError
		switch {
		case killed && errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL:
			kills++
			sinceFresh++
			continue
		case err != nil:
			t.Fatalf("run %d (resume %v): %v\n%s", kills, resume, err, stderr.String())
		}
		// The run ended by itself: its certificate must list the interruptions since
		// the wipe began.
		if record == nil {
			t.Fatalf("no record; stderr:\n%s", stderr.String())
		}
		ints, _ := record["interruptions"].([]any)
		if len(ints) != sinceFresh {
			t.Fatalf("the record lists %d interruptions, the wipe had %d", len(ints), sinceFresh)
		}
		if record["sanitization_outcome"] != certificates.OutcomeSanitized {
			t.Fatalf("outcome %v: %v", record["sanitization_outcome"], record["error"])
		}
		checkFinished(t, record, filepath.Join(dir, "site.pub"), l.Backing, size, sinceFresh)
		wipes++
		t.Logf("wipe %d finished after %d interruptions", wipes, sinceFresh)
		if kills >= 20 {
			final = record
		}
		sinceFresh = 0
	}
	// Most kills must have hit a pass under way, for the resumes to mean anything.
	if midPass < kills/2 {
		t.Errorf("only %d of %d kills left a pass under way to resume", midPass, kills)
	}
}

// checkFinished reads the finished wipe's certificate and the device: the passes are
// dod-3's, complete; the interruptions are listed; the device holds the last pass in
// full and the verification read all of it.
func checkFinished(t *testing.T, record map[string]any, pub, image string, size int64, interruptions int) {
	t.Helper()
	path, _ := record["certificate"].(string)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := certificates.LoadPublicKeys(pub)
	if err != nil {
		t.Fatal(err)
	}
	v, err := certificates.Verify(b, keys)
	if err != nil {
		t.Fatalf("certificate: %v", err)
	}
	c := v.Certificate
	s := c.Sanitization
	if interruptions > 0 {
		code, out, stderr := decom(t, context.Background(), "cert", "show", path, "--key", pub)
		if code != exitOK || !strings.Contains(out, "Interruptions:") || !strings.Contains(out, "resumed from its journal") {
			t.Errorf("cert show of a resumed wipe: exit %d\n%s%s", code, out, stderr)
		}
	}
	if len(s.Interruptions) != interruptions || len(s.Passes) != 3 {
		t.Fatalf("certificate: %d interruptions (want %d), %d passes", len(s.Interruptions), interruptions, len(s.Passes))
	}
	for _, p := range s.Passes {
		if !p.Completed || p.BytesWritten != uint64(size) {
			t.Errorf("certificate pass %d: completed %v, %d bytes", p.Number, p.Completed, p.BytesWritten)
		}
	}
	if len(c.Verification.Checks) != 1 || c.Verification.Checks[0].BytesRead != size || !c.Verification.Verified {
		t.Errorf("verification %+v", c.Verification)
	}
	last := s.Passes[2]
	passKeys := &wipe.Keys{}
	if err := passKeys.Key.UnmarshalText([]byte(last.Key)); err != nil {
		t.Fatal(err)
	}
	if err := passKeys.IV.UnmarshalText([]byte(last.IV)); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(image)
	if err != nil {
		t.Fatal(err)
	}
	if !holds(t, data, wipe.Random(), passKeys) {
		t.Fatalf("the device does not hold the last (random) pass after %d interruptions", interruptions)
	}
}
