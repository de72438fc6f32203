package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/internal/faultfs"
	"github.com/decom-project/decom/internal/loopdev"
	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/wipe"
)

// These tests wipe two loop devices at once: a healthy one over an image file, and
// one over a faultfs disk whose writes past 8 MiB hang in the kernel until the test
// releases them, a drive that stops answering. decom runs as a process of its own
// (the test binary as decom), so that the test can signal it and see it exit while
// the test process goes on serving the FUSE disk.

// hangAt is where the stalled disk stops answering writes.
const hangAt = 8 << 20

// stallRig is the two targets, a signing key and a certificate directory.
type stallRig struct {
	healthy, stalled *loopdev.Loop
	disk             *faultfs.Disk
	key, pub, certs  string
}

func newStallRig(t *testing.T, healthySize int64) *stallRig {
	t.Helper()
	loopdev.Require(t)
	dir := t.TempDir()
	t.Setenv("DECOM_KEY_PASSWORD", "stall test passphrase")
	generateKey(t, filepath.Join(dir, "site"))
	r := &stallRig{key: filepath.Join(dir, "site.key"), pub: filepath.Join(dir, "site.pub"), certs: filepath.Join(dir, "certs")}
	r.healthy = loopdev.New(t, healthySize, false, nil)
	r.disk = faultfs.Mount(t, 32<<20)
	r.disk.Hang(faultfs.Range{Off: hangAt, Len: 32<<20 - hangAt, Ops: faultfs.Write})
	r.stalled = r.disk.Attach(t)
	return r
}

// decomProc is decom running as a process, its stdout collected line by line.
type decomProc struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	lines  []string
	more   chan struct{} // closed and replaced when a line arrives or stdout ends
	eof    bool
	stderr bytes.Buffer
}

// start runs decom with args. When the test ends, the disk's hang is released first
// (a process with a write stuck in the kernel cannot be reaped before), then the
// process is killed and reaped.
func (r *stallRig) start(t *testing.T, args ...string) *decomProc {
	t.Helper()
	args = append([]string{"wipe", r.healthy.Path, r.stalled.Path, "--yes", "--output", "json", "--key", r.key,
		"--operator", "Stall Tester", "--cert-dir", r.certs, "--progress-interval", "200ms"}, args...)
	p := &decomProc{cmd: exec.Command(os.Args[0], args...), more: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), "DECOM_TEST_RUN_MAIN=1")
	p.cmd.Stderr = &lockedWriter{mu: &p.mu, w: &p.stderr}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.disk.Release()
		p.cmd.Process.Kill()
		p.cmd.Wait()
	})
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 4<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			close(p.more)
			p.more = make(chan struct{})
			p.mu.Unlock()
		}
		p.mu.Lock()
		p.eof = true
		close(p.more)
		p.mu.Unlock()
	}()
	return p
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(b)
}

// waitLine waits until a line of stdout satisfies match, and returns its index and
// the line; ok is false when stdout ended or the deadline passed first.
func (p *decomProc) waitLine(deadline time.Time, match func(string) bool) (int, string, bool) {
	seen := 0
	for {
		p.mu.Lock()
		lines, more, eof := p.lines, p.more, p.eof
		p.mu.Unlock()
		for ; seen < len(lines); seen++ {
			if match(lines[seen]) {
				return seen, lines[seen], true
			}
		}
		if eof {
			return -1, "", false
		}
		select {
		case <-more:
		case <-time.After(time.Until(deadline)):
			return -1, "", false
		}
	}
}

// waitStderr waits until stderr contains s. Stdout and stderr are copied apart: a
// log line written before a stdout line may arrive after it.
func (p *decomProc) waitStderr(s string, deadline time.Time) bool {
	for {
		if _, stderr := p.output(); strings.Contains(stderr, s) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *decomProc) output() (stdout, stderr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n"), p.stderr.String()
}

// isLine reports whether line is a JSON line of type typ about device.
func isLine(typ, device string) func(string) bool {
	return func(line string) bool {
		return strings.HasPrefix(line, `{"type":"`+typ+`"`) && strings.Contains(line, `"device":"`+device+`"`)
	}
}

// stallJSON is a "stalled" line, or a stall in a record.
type stallJSON struct {
	Device  string     `json:"device"`
	Phase   string     `json:"phase"`
	Pass    int        `json:"pass"`
	Offset  int64      `json:"offset"`
	Since   time.Time  `json:"since"`
	Resumed *time.Time `json:"resumed"`
}

// pendingWrite reports whether a write at off is among the pending requests.
func pendingWrite(pending []pendingJSON, off int64) bool {
	for _, p := range pending {
		if p.Op == "write" && p.Offset == off {
			return true
		}
	}
	return false
}

type pendingJSON struct {
	Op     string `json:"op"`
	Offset int64  `json:"offset"`
	Length int64  `json:"length"`
}

// recordJSON is a "record" line; its stalls are read here so that the test builds
// without the wipe package's own type.
type recordJSON struct {
	sanitize.Result
	Stalls    []stallJSON   `json:"stalls"`
	PendingIO []pendingJSON `json:"pending_io"`
}

func parseRecord(t *testing.T, line string) recordJSON {
	t.Helper()
	var r recordJSON
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatalf("record line: %v: %s", err, line)
	}
	return r
}

// certificateStatus reads a certificate file decom wrote and returns its status.
func (r *stallRig) certificateStatus(t *testing.T, path string) string {
	t.Helper()
	if path == "" {
		t.Fatal("the record names no certificate")
	}
	bundle, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("certificate: %v", err)
	}
	code, out, stderr := decom(t, context.Background(), "cert", "verify", path, "--key", r.pub, "--output", "json")
	if code != exitOK {
		t.Fatalf("cert verify %s: exit %d: %s", path, code, stderr)
	}
	var c struct {
		Certificates []struct {
			Valid  bool   `json:"valid"`
			Status string `json:"status"`
		} `json:"certificates"`
	}
	if err := json.Unmarshal([]byte(out), &c); err != nil || len(c.Certificates) != 1 || !c.Certificates[0].Valid {
		t.Fatalf("cert verify output: %v: %s (bundle %d bytes)", err, out, len(bundle))
	}
	return c.Certificates[0].Status
}

// calledExit reports whether process pid has called exit: every thread of it is gone
// (a zombie) or, stuck uninterruptibly in the kernel, has the SIGKILL of the exit
// pending. Such a thread keeps the process from being reaped until its I/O returns;
// no program can do otherwise.
func calledExit(pid int) (bool, string) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return errors.Is(err, os.ErrNotExist), err.Error()
	}
	var states []string
	exited := true
	for _, task := range tasks {
		b, err := os.ReadFile(filepath.Join(dir, task.Name(), "status"))
		if err != nil {
			continue // gone meanwhile
		}
		var state string
		var pending uint64
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "State:"); ok {
				state = strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(l, "SigPnd:"); ok {
				pending, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			}
		}
		states = append(states, task.Name()+" "+state)
		switch {
		case strings.HasPrefix(state, "Z"), strings.HasPrefix(state, "X"):
		case strings.HasPrefix(state, "D") && pending&(1<<(syscall.SIGKILL-1)) != 0:
		default:
			exited = false
		}
	}
	return exited, strings.Join(states, ", ")
}

// waitExit waits until decom has called exit, and its stdout has ended, or fails
// the test.
func (p *decomProc) waitExit(t *testing.T, deadline time.Time) {
	t.Helper()
	pid := p.cmd.Process.Pid
	for {
		ok, states := calledExit(pid)
		p.mu.Lock()
		eof := p.eof
		p.mu.Unlock()
		if ok && eof {
			t.Logf("decom has called exit and closed its output; its threads: %s", states)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("decom has not exited (stdout ended: %v); its threads: %s", eof, states)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// exitCodeAfterRelease releases the hang, so that the write stuck in the kernel can
// return and the process be reaped, and returns its exit code.
func (r *stallRig) exitCodeAfterRelease(t *testing.T, p *decomProc) int {
	t.Helper()
	r.disk.Release()
	err := p.cmd.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	}
	t.Fatalf("wait: %v", err)
	return -1
}

// (issue 13, item 16) The healthy target's record line and certificate appear as soon
// as it is done, while the other target's write is still stuck in the kernel.
func TestWipeRecordsEachTargetWhenDone(t *testing.T) {
	r := newStallRig(t, 16<<20)
	p := r.start(t, "--method", "zero")

	i, line, ok := p.waitLine(time.Now().Add(60*time.Second), isLine("record", r.healthy.Path))
	if !ok {
		r.disk.Release()
		stdout, stderr := p.output()
		t.Fatalf("no record of %s while %s was stuck (%d writes waiting)\nstdout:\n%s\nstderr:\n%s",
			r.healthy.Path, r.stalled.Path, r.disk.Waiting(), stdout, stderr)
	}
	// The other target is stuck (on a slow machine it may get there only after
	// the healthy one is done), and has no record.
	for deadline := time.Now().Add(60 * time.Second); r.disk.Waiting() == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the writes to %s never reached the hung range", r.stalled.Path)
		}
	}
	if j, _, _ := p.waitLine(time.Now(), isLine("record", r.stalled.Path)); j >= 0 {
		t.Fatalf("%s has a record already, before its write returned", r.stalled.Path)
	}
	rec := parseRecord(t, line)
	if rec.Outcome != wipe.OutcomeCompleted || !rec.Verified {
		t.Fatalf("record of %s: outcome %s verified %v (%s)", r.healthy.Path, rec.Outcome, rec.Verified, rec.Error)
	}
	if st := r.certificateStatus(t, rec.Certificate); st != certificates.StatusCertificate {
		t.Errorf("certificate of %s: status %s", r.healthy.Path, st)
	}

	// Released, the stalled target finishes too; its record comes after.
	r.disk.Release()
	j, line, ok := p.waitLine(time.Now().Add(60*time.Second), isLine("record", r.stalled.Path))
	if !ok || j < i {
		stdout, stderr := p.output()
		t.Fatalf("no record of %s after the release\nstdout:\n%s\nstderr:\n%s", r.stalled.Path, stdout, stderr)
	}
	if rec := parseRecord(t, line); rec.Outcome != wipe.OutcomeCompleted {
		t.Errorf("record of %s after the release: outcome %s (%s)", r.stalled.Path, rec.Outcome, rec.Error)
	}
	if code := r.exitCodeAfterRelease(t, p); code != exitOK {
		_, stderr := p.output()
		t.Errorf("exit code %d, want %d: %s", code, exitOK, stderr)
	}
}

// (issue 13, item 17) SIGTERM while a write is stuck in the kernel: within seconds
// both targets have their aborted record and a signed record of aborted sanitization,
// the stuck target's record says what was still outstanding, its aborted_at is a true
// lower bound of what reached the disk, and decom exits (its stuck thread excepted).
func TestWipeSIGTERMWithAWriteStuck(t *testing.T) {
	r := newStallRig(t, 256<<20)
	p := r.start(t, "--method", "gutmann", "--queue-depth", "2")

	// Signal once the stalled disk holds a write and the healthy one is in pass 2.
	deadline := time.Now().Add(60 * time.Second)
	for r.disk.Waiting() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	_, _, ok := p.waitLine(deadline, func(l string) bool {
		return isLine("progress", r.healthy.Path)(l) && !strings.Contains(l, `"pass":1,`)
	})
	if !ok || r.disk.Waiting() == 0 {
		stdout, stderr := p.output()
		t.Fatalf("the wipe did not reach the state to interrupt (%d writes waiting)\nstdout:\n%s\nstderr:\n%s", r.disk.Waiting(), stdout, stderr)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	signalled := time.Now()

	deadline = signalled.Add(30 * time.Second)
	recs := map[string]recordJSON{}
	for _, dev := range []string{r.healthy.Path, r.stalled.Path} {
		_, line, ok := p.waitLine(deadline, isLine("record", dev))
		if !ok {
			stdout, stderr := p.output()
			t.Fatalf("no record of %s within 30 s of SIGTERM (%d writes still waiting)\nstdout:\n%s\nstderr:\n%s",
				dev, r.disk.Waiting(), stdout, stderr)
		}
		recs[dev] = parseRecord(t, line)
	}
	p.waitExit(t, deadline)
	t.Logf("records and exit %v after SIGTERM; %d writes still waiting", time.Since(signalled).Round(time.Millisecond), r.disk.Waiting())
	if r.disk.Waiting() == 0 {
		t.Fatal("the write was no longer stuck: the test proves nothing")
	}

	for dev, rec := range recs {
		if rec.Outcome != wipe.OutcomeAborted || rec.AbortedAt == nil {
			t.Errorf("%s: outcome %s aborted at %+v", dev, rec.Outcome, rec.AbortedAt)
			continue
		}
		// Certificates are checked after the release: cert verify needs no device,
		// but the files must exist now.
		if _, err := os.Stat(rec.Certificate); err != nil {
			t.Errorf("%s: certificate: %v", dev, err)
		}
	}
	healthy := recs[r.healthy.Path]
	if n := len(healthy.Passes); n > 0 {
		last := healthy.Passes[n-1]
		t.Logf("record of the healthy target: outcome %s, aborted at %+v, last pass completed %v flushed %v", healthy.Outcome,
			healthy.AbortedAt, last.Completed, last.Flushed)
	}
	stuck := recs[r.stalled.Path]
	t.Logf("record of the stuck target: outcome %s, aborted at %+v, pending %+v, error %q", stuck.Outcome, stuck.AbortedAt,
		stuck.PendingIO, stuck.Error)
	if stuck.AbortedAt != nil {
		if stuck.AbortedAt.Pass != 1 || stuck.AbortedAt.Offset > hangAt {
			t.Errorf("stuck target aborted at %+v: beyond the %d bytes that can have been written", stuck.AbortedAt, hangAt)
		}
		if !strings.Contains(stuck.Error, "still outstanding in the kernel") || !pendingWrite(stuck.PendingIO, hangAt) {
			t.Errorf("stuck target's record does not say a write was outstanding at %d: %q, pending %+v", hangAt, stuck.Error, stuck.PendingIO)
		}
		// Every byte below aborted_at reached the disk: pass 1 of gutmann is random.
		got, err := os.ReadFile(r.disk.Backing())
		if err != nil {
			t.Fatal(err)
		}
		for off := int64(0); off < stuck.AbortedAt.Offset; off += 4096 {
			if bytes.Count(got[off:off+4096], []byte{0}) == 4096 {
				t.Fatalf("aborted at %d, but the block at %d was never written", stuck.AbortedAt.Offset, off)
			}
		}
	}

	code := r.exitCodeAfterRelease(t, p)
	if code != exitInterrupted {
		_, stderr := p.output()
		t.Errorf("exit code %d, want %d: %s", code, exitInterrupted, stderr)
	}
	for dev, rec := range recs {
		if rec.Certificate == "" {
			continue
		}
		if st := r.certificateStatus(t, rec.Certificate); st != certificates.StatusAbortedRecord {
			t.Errorf("%s: certificate status %s, want %s", dev, st, certificates.StatusAbortedRecord)
		}
	}
}

// (issue 13, item 18) A target that makes no progress for --stall-timeout is
// reported: a "stalled" line, a log line, and the record's stalls. By default decom
// keeps waiting; with --give-up-stalled the target is given up as failed, its record
// and certificate (of failed sanitization) are written, and the other target goes on
// to its end.
func TestWipeStallReported(t *testing.T) {
	r := newStallRig(t, 16<<20)
	p := r.start(t, "--method", "zero", "--stall-timeout", "2s")

	deadline := time.Now().Add(60 * time.Second)
	_, line, ok := p.waitLine(deadline, isLine("stalled", r.stalled.Path))
	if !ok {
		stdout, stderr := p.output()
		t.Fatalf("no stalled line for %s\nstdout:\n%s\nstderr:\n%s", r.stalled.Path, stdout, stderr)
	}
	var ev stallJSON
	if err := json.Unmarshal([]byte(line), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Phase != "write" || ev.Pass != 1 || ev.Offset > hangAt || ev.Since.IsZero() {
		t.Errorf("stalled line: %s", line)
	}
	if !p.waitStderr(`"message":"stalled: `, deadline) {
		_, stderr := p.output()
		t.Errorf("no log line says stalled:\n%s", stderr)
	}
	if _, _, ok := p.waitLine(deadline, isLine("record", r.healthy.Path)); !ok {
		t.Fatalf("no record of %s", r.healthy.Path)
	}
	// Without --give-up-stalled decom waits; released, the target finishes and its
	// record keeps the stall.
	time.Sleep(500 * time.Millisecond)
	if j, _, _ := p.waitLine(time.Now(), isLine("record", r.stalled.Path)); j >= 0 {
		t.Fatalf("%s was given up without --give-up-stalled", r.stalled.Path)
	}
	r.disk.Release()
	_, line, ok = p.waitLine(time.Now().Add(60*time.Second), isLine("record", r.stalled.Path))
	if !ok {
		t.Fatalf("no record of %s after the release", r.stalled.Path)
	}
	rec := parseRecord(t, line)
	if rec.Outcome != wipe.OutcomeCompleted || len(rec.Stalls) != 1 || rec.Stalls[0].Pass != 1 || rec.Stalls[0].Resumed == nil {
		t.Errorf("record after the stall: outcome %s stalls %+v", rec.Outcome, rec.Stalls)
	}
	if code := r.exitCodeAfterRelease(t, p); code != exitOK {
		_, stderr := p.output()
		t.Errorf("exit code %d, want %d: %s", code, exitOK, stderr)
	}
}

func TestWipeGiveUpStalled(t *testing.T) {
	r := newStallRig(t, 16<<20)
	p := r.start(t, "--method", "zero", "--stall-timeout", "2s", "--give-up-stalled")

	deadline := time.Now().Add(60 * time.Second)
	recs := map[string]recordJSON{}
	for _, dev := range []string{r.healthy.Path, r.stalled.Path} {
		_, line, ok := p.waitLine(deadline, isLine("record", dev))
		if !ok {
			stdout, stderr := p.output()
			t.Fatalf("no record of %s while a write was stuck (%d waiting)\nstdout:\n%s\nstderr:\n%s", dev, r.disk.Waiting(), stdout, stderr)
		}
		recs[dev] = parseRecord(t, line)
	}
	if _, _, ok := p.waitLine(deadline, isLine("stalled", r.stalled.Path)); !ok {
		t.Errorf("no stalled line for %s", r.stalled.Path)
	}
	p.waitExit(t, deadline)
	if r.disk.Waiting() == 0 {
		t.Fatal("the write was no longer stuck: the test proves nothing")
	}
	if rec := recs[r.healthy.Path]; rec.Outcome != wipe.OutcomeCompleted || !rec.Verified {
		t.Errorf("healthy target: outcome %s verified %v (%s)", rec.Outcome, rec.Verified, rec.Error)
	}
	given := recs[r.stalled.Path]
	t.Logf("record of the given-up target: outcome %s, stalls %+v, error %q", given.Outcome, given.Stalls, given.Error)
	if given.Outcome != wipe.OutcomeFailed || len(given.Stalls) != 1 || given.Stalls[0].Offset > hangAt ||
		!strings.HasPrefix(given.Error, "stalled: ") || !strings.Contains(given.Error, "still outstanding in the kernel") ||
		!pendingWrite(given.PendingIO, hangAt) {
		t.Errorf("given-up target: outcome %s stalls %+v error %q pending %+v", given.Outcome, given.Stalls, given.Error, given.PendingIO)
	}
	code := r.exitCodeAfterRelease(t, p)
	if code != exitWipeFailed {
		_, stderr := p.output()
		t.Errorf("exit code %d, want %d: %s", code, exitWipeFailed, stderr)
	}
	if st := r.certificateStatus(t, recs[r.healthy.Path].Certificate); st != certificates.StatusCertificate {
		t.Errorf("healthy target: certificate status %s", st)
	}
	if st := r.certificateStatus(t, given.Certificate); st != certificates.StatusFailureRecord {
		t.Errorf("given-up target: certificate status %s, want %s", st, certificates.StatusFailureRecord)
	}
}

func TestStallFlagsAreChecked(t *testing.T) {
	for _, args := range [][]string{
		{"--stall-timeout", "-1s"},
		{"--stall-timeout", "0", "--give-up-stalled"},
	} {
		code, _, stderr := decom(t, context.Background(), append([]string{"wipe", "/dev/decom-no-such-device", "--yes", "--no-certificate"}, args...)...)
		if code != exitUsage || !strings.Contains(stderr, "--") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, want %d: %s", args, code, exitUsage, stderr)
		}
	}
}
