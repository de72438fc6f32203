package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/creack/pty"
	"github.com/rogpeppe/go-internal/txtar"

	"github.com/decom-project/decom/internal/loopdev"
	"github.com/decom-project/decom/internal/sysfstest"
)

// ptyRun is decom (this test binary as main) at an 80×25 pseudo-terminal: its
// stdin, stdout and stderr.
type ptyRun struct {
	t    *testing.T
	cmd  *exec.Cmd
	tty  *os.File
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

func startPty(t *testing.T, env []string, args ...string) *ptyRun {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "DECOM_TEST_RUN_MAIN=1")
	cmd.Env = append(cmd.Env, env...)
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 25, Cols: 80})
	if err != nil {
		t.Fatal(err)
	}
	r := &ptyRun{t: t, cmd: cmd, tty: tty, done: make(chan struct{})}
	t.Cleanup(func() {
		cmd.Process.Kill()
		tty.Close()
	})
	go func() {
		defer close(r.done)
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			r.mu.Lock()
			r.out.Write(buf[:n])
			r.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return r
}

// text is what the terminal has been sent so far, escape sequences removed.
func (r *ptyRun) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return ansi.Strip(r.out.String())
}

// waitFor waits, up to a minute, until the terminal has been sent s.
func (r *ptyRun) waitFor(s string) {
	r.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(r.text(), s) {
		if time.Now().After(deadline) {
			r.t.Fatalf("%q did not appear within 60 s; the terminal got:\n%s", s, r.text())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// wait waits for decom to exit and returns its exit code.
func (r *ptyRun) wait() int {
	r.t.Helper()
	err := r.cmd.Wait()
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		r.t.Fatal(err)
	}
	return 0
}

func imageFiles(t *testing.T, size int64, names ...string) []string {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for _, n := range names {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, size); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

var utf8Term = []string{"TERM=xterm-256color", "LANG=C.UTF-8", "LC_ALL=", "LC_CTYPE="}

// At a terminal, decom wipe shows the plan, then the run full screen, then the end
// screen, which stays on the terminal after decom exits.
func TestWipeFullScreenAtTerminal(t *testing.T) {
	imgs := imageFiles(t, 32<<20, "a.img", "b.img")
	r := startPty(t, utf8Term, append([]string{"wipe", "--yes", "--no-certificate", "--method", "dod-3",
		"--progress-interval", "50ms"}, imgs...)...)
	r.waitFor("Run finished.")
	if code := r.wait(); code != 0 {
		t.Fatalf("exit code %d; the terminal got:\n%s", code, r.text())
	}
	text := r.text()
	// The plan table is printed before the screen, as without it.
	for _, want := range []string{"Method: dod-3", "TARGET", imgs[0], "decom wipe - dod-3", "q: abort the run"} {
		if !strings.Contains(text, want) {
			t.Errorf("the terminal never showed %q:\n%s", want, text)
		}
	}
	end := text[strings.LastIndex(text, "Run finished."):]
	for _, want := range []string{imgs[0], imgs[1], "COMPLETED", "outcome completed", "verified yes (sample",
		"No certificates were written (--no-certificate)."} {
		if !strings.Contains(end, want) {
			t.Errorf("the end screen lacks %q:\n%s", want, end)
		}
	}
	if strings.Count(end, "outcome completed") != 2 {
		t.Errorf("the end screen does not show both targets completed:\n%s", end)
	}
	// The run was drawn as rows with the pass and a percentage.
	if !regexp.MustCompile(`pass [123]/3 .*%`).MatchString(text) {
		t.Errorf("no progress row seen:\n%s", text)
	}
	for _, img := range imgs {
		b, err := os.ReadFile(img)
		if err != nil {
			t.Fatal(err)
		}
		// dod-3's last pass is random: the image is no longer zeros.
		if bytes.Count(b, []byte{0}) == len(b) {
			t.Errorf("%s was not written", img)
		}
	}
}

// --plain keeps the line output at a terminal: no full screen, the summary table.
func TestWipePlainAtTerminal(t *testing.T) {
	imgs := imageFiles(t, 4<<20, "a.img")
	r := startPty(t, utf8Term, "wipe", "--plain", "--yes", "--no-certificate", "--method", "dod-3", imgs[0])
	r.waitFor("VERIFIED")
	if code := r.wait(); code != 0 {
		t.Fatalf("exit code %d; the terminal got:\n%s", code, r.text())
	}
	text := r.text()
	for _, want := range []string{"Method: dod-3", "TARGET  ", "OUTCOME", "completed", "--no-certificate: no certificate was written"} {
		if !strings.Contains(text, want) {
			t.Errorf("--plain did not print %q:\n%s", want, text)
		}
	}
	r.mu.Lock()
	raw := r.out.String()
	r.mu.Unlock()
	if strings.Contains(raw, "\x1b[?1049h") || strings.Contains(text, "q: abort the run") {
		t.Errorf("--plain opened the full screen:\n%q", raw)
	}
}

// q, then y, aborts the run like SIGINT: every target stops where it is, the end
// screen says so, and the exit code is 130.
func TestWipeFullScreenAbort(t *testing.T) {
	imgs := imageFiles(t, 256<<20, "big.img")
	r := startPty(t, append(utf8Term, "TERM=linux"), "wipe", "--yes", "--no-certificate", "--method", "gutmann",
		"--progress-interval", "50ms", "--queue-depth", "2", imgs[0])
	r.waitFor("pass 2/35")
	if _, err := r.tty.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	r.waitFor("Abort the run? y/N")
	if _, err := r.tty.Write([]byte("y")); err != nil {
		t.Fatal(err)
	}
	r.waitFor("Run aborted.")
	if code := r.wait(); code != exitInterrupted {
		t.Fatalf("exit code %d, want %d; the terminal got:\n%s", code, exitInterrupted, r.text())
	}
	text := r.text()
	end := text[strings.LastIndex(text, "Run aborted."):]
	for _, want := range []string{imgs[0], "ABORTED", "outcome aborted", "stopped in pass"} {
		if !strings.Contains(end, want) {
			t.Errorf("the end screen lacks %q:\n%s", want, end)
		}
	}
	if strings.Contains(text, "█") {
		t.Errorf("TERM=linux drew block glyphs")
	}
	if !strings.Contains(text, "#") {
		t.Errorf("TERM=linux drew no ASCII bar:\n%s", text)
	}
}

// Without --yes the target is confirmed on the confirmation screen (WIPE and the
// number of targets); the run screen opens only once it is confirmed.
func TestWipeConfirmThenFullScreen(t *testing.T) {
	imgs := imageFiles(t, 4<<20, "a.img")
	r := startPty(t, utf8Term, "wipe", "--no-certificate", "--method", "zero", imgs[0])
	r.waitFor("1 of 1 selected")
	if _, err := r.tty.Write([]byte("\r")); err != nil {
		t.Fatal(err)
	}
	r.waitFor("Type WIPE 1")
	if strings.Contains(r.text(), "q: abort the run") {
		t.Fatal("the full screen opened before the confirmation")
	}
	if _, err := r.tty.Write([]byte("WIPE 1\r")); err != nil {
		t.Fatal(err)
	}
	r.waitFor("Run finished.")
	if code := r.wait(); code != 0 {
		t.Fatalf("exit code %d; the terminal got:\n%s", code, r.text())
	}
	if !strings.Contains(r.text(), "outcome completed") {
		t.Errorf("the run was not confirmed and completed:\n%s", r.text())
	}
}

// With --plain the serial (for an image file, the path) is typed at the line
// prompt as before, and no screen opens.
func TestWipePlainConfirmsAtLinePrompt(t *testing.T) {
	imgs := imageFiles(t, 4<<20, "a.img")
	r := startPty(t, utf8Term, "wipe", "--plain", "--no-certificate", "--method", "zero", imgs[0])
	r.waitFor("Type its path")
	if _, err := r.tty.Write([]byte(imgs[0] + "\r")); err != nil {
		t.Fatal(err)
	}
	r.waitFor("VERIFIED")
	if code := r.wait(); code != 0 {
		t.Fatalf("exit code %d; the terminal got:\n%s", code, r.text())
	}
	text := r.text()
	if !strings.Contains(text, "confirmed.") || strings.Contains(text, "choose the drives") || strings.Contains(text, "Type WIPE") {
		t.Errorf("--plain did not confirm at the line prompt alone:\n%s", text)
	}
}

// filled makes image files of size bytes of 0xab each.
func filled(t *testing.T, size int, names ...string) []string {
	t.Helper()
	imgs := imageFiles(t, 0, names...)
	for _, p := range imgs {
		if err := os.WriteFile(p, bytes.Repeat([]byte{0xab}, size), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return imgs
}

// allBytes reports whether the file holds b and nothing else.
func allBytes(t *testing.T, path string, b byte) bool {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return len(data) > 0 && bytes.Count(data, []byte{b}) == len(data)
}

// At a terminal without --yes the targets are chosen on the drive list and
// confirmed on the confirmation screen: one of two loop devices (the test's own, over
// image files) is chosen, a wrong confirmation writes nothing, WIPE 1 starts the run;
// the chosen device is zeroed and the other untouched, as their image files show.
func TestWipeChooseAndConfirmAtTerminal(t *testing.T) {
	loopdev.Require(t)
	imgs := filled(t, 8<<20, "a.img", "b.img")
	devs := []string{loopdev.Over(t, imgs[0]).Path, loopdev.Over(t, imgs[1]).Path}
	r := startPty(t, append(utf8Term, "TERM=linux"), append([]string{"wipe", "--no-certificate", "--method", "zero",
		"--progress-interval", "50ms"}, devs...)...)
	r.waitFor("2 of 2 selected")
	r.waitFor("plan: 1 pass")
	// The cursor is on the first file: space deselects it.
	if _, err := r.tty.Write([]byte(" ")); err != nil {
		t.Fatal(err)
	}
	// The screen is redrawn cell by cell: wait for the note, a line of its own.
	r.waitFor("deselected:")
	if _, err := r.tty.Write([]byte("\r")); err != nil {
		t.Fatal(err)
	}
	r.waitFor("Type WIPE 1")
	if strings.Contains(r.text(), "q: abort the run") {
		t.Fatal("the run screen opened before the confirmation")
	}
	if _, err := r.tty.Write([]byte("WIPE 2\r")); err != nil {
		t.Fatal(err)
	}
	r.waitFor(`That is not "WIPE 1"`)
	for _, img := range imgs {
		if !allBytes(t, img, 0xab) {
			t.Fatalf("%s was written before the confirmation", img)
		}
	}
	if _, err := r.tty.Write([]byte("WIPE 1\r")); err != nil {
		t.Fatal(err)
	}
	r.waitFor("Run finished.")
	if code := r.wait(); code != 0 {
		t.Fatalf("exit code %d; the terminal got:\n%s", code, r.text())
	}
	text := r.text()
	end := text[strings.LastIndex(text, "Run finished."):]
	if !strings.Contains(end, devs[1]) || !strings.Contains(end, "outcome completed") || strings.Contains(end, devs[0]+" ") {
		t.Errorf("the end screen does not show the chosen device alone completed:\n%s", end)
	}
	if !allBytes(t, imgs[1], 0) {
		t.Errorf("%s (%s), chosen, was not zeroed", devs[1], imgs[1])
	}
	if !allBytes(t, imgs[0], 0xab) {
		t.Errorf("%s (%s), not chosen, was written", devs[0], imgs[0])
	}
}

// Leaving the drive list writes nothing; the exit code says nothing was done.
func TestWipeChooseQuitAtTerminal(t *testing.T) {
	imgs := filled(t, 1<<20, "a.img")
	r := startPty(t, utf8Term, "wipe", "--no-certificate", "--method", "zero", imgs[0])
	r.waitFor("1 of 1 selected")
	if _, err := r.tty.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	if code := r.wait(); code != exitRefused {
		t.Fatalf("exit code %d, want %d; the terminal got:\n%s", code, exitRefused, r.text())
	}
	if !allBytes(t, imgs[0], 0xab) {
		t.Fatal("the file was written")
	}
}

// With no device named, the list is the machine's drives (a fake one here, whose
// devices have no node: nothing can be written): the system disk marked as the boot
// medium, a mounted disk and a USB drive the gate cannot find refused with why,
// loop and zram devices not listed; none can be chosen, and q leaves (exit code 4).
func TestWipeChooseListsTheMachine(t *testing.T) {
	ar, err := txtar.ParseFile(filepath.Join("..", "..", "inventory", "testdata", "hosts", "loops.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := sysfstest.Materialize(root, ar); err != nil {
		t.Fatal(err)
	}
	r := startPty(t, utf8Term, "--sysroot", root, "wipe", "--no-certificate")
	r.waitFor("0 of 3 selected")
	r.waitFor("BOOT MEDIUM")
	r.waitFor("REFUSED")
	r.waitFor("/dev/sdb: no such device")
	if _, err := r.tty.Write([]byte("a")); err != nil {
		t.Fatal(err)
	}
	r.waitFor("a: 0 eligible selected")
	if _, err := r.tty.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	if code := r.wait(); code != exitRefused {
		t.Fatalf("exit code %d, want %d; the terminal got:\n%s", code, exitRefused, r.text())
	}
	text := r.text()
	for _, absent := range []string{"/dev/loop", "/dev/zram"} {
		if strings.Contains(text, absent) {
			t.Errorf("the list shows %s, a virtual device nobody named:\n%s", absent, text)
		}
	}
	if !strings.Contains(text, "no drive chosen; nothing was written") {
		t.Errorf("leaving the list did not say nothing was written:\n%s", text)
	}
}
