package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/decom-project/decom/internal/loopdev"
	"github.com/decom-project/decom/wipe"
)

// SIGTERM in the middle of a wipe stops it cleanly: the record says aborted, at
// which pass and offset, and the exit code is 130.
func TestWipeInterruptedBySIGTERM(t *testing.T) {
	loopdev.Require(t)
	l := loopdev.New(t, 256<<20, false, nil)
	cmd := exec.Command(os.Args[0], "wipe", l.Path, "--yes", "--no-certificate", "--method", "gutmann", "--output", "json",
		"--progress-interval", "50ms", "--queue-depth", "2")
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
	defer cmd.Process.Kill()

	// Signal once the wipe is under way: a progress line in pass 2 or later.
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 1<<20)
	var last string
	signalled := false
	for sc.Scan() {
		last = sc.Text()
		if !signalled && strings.HasPrefix(last, `{"type":"progress"`) && !strings.Contains(last, `"pass":1,`) {
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			signalled = true
		}
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitInterrupted {
		t.Fatalf("exit: %v, want code %d; stderr:\n%s", err, exitInterrupted, stderr.String())
	}
	if !signalled {
		t.Fatal("the wipe ended before it could be interrupted")
	}
	if !strings.HasPrefix(last, `{"type":"record"`) {
		t.Fatalf("last line is not the record: %s", last)
	}
	var rec wipe.Record
	if err := json.Unmarshal([]byte(last), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Outcome != wipe.OutcomeAborted || rec.AbortedAt == nil || rec.AbortedAt.Pass < 2 {
		t.Fatalf("record: outcome %s aborted at %+v", rec.Outcome, rec.AbortedAt)
	}
	if n := len(rec.Passes); n != rec.AbortedAt.Pass || rec.Passes[n-1].Completed || !rec.Passes[n-2].Completed {
		t.Errorf("passes recorded: %d, aborted in pass %d", n, rec.AbortedAt.Pass)
	}
	if !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("stderr does not say interrupted:\n%s", stderr.String())
	}
}
