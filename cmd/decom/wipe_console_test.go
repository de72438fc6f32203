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

// Without --yes the serial (for an image file, the path) is typed at the line
// prompt as before; the full screen opens only once the target is confirmed.
func TestWipeConfirmThenFullScreen(t *testing.T) {
	imgs := imageFiles(t, 4<<20, "a.img")
	r := startPty(t, utf8Term, "wipe", "--no-certificate", "--method", "zero", imgs[0])
	r.waitFor("Type its path")
	if strings.Contains(r.text(), "q: abort the run") {
		t.Fatal("the full screen opened before the confirmation")
	}
	if _, err := r.tty.Write([]byte(imgs[0] + "\r")); err != nil {
		t.Fatal(err)
	}
	r.waitFor("Run finished.")
	if code := r.wait(); code != 0 {
		t.Fatalf("exit code %d; the terminal got:\n%s", code, r.text())
	}
	if !strings.Contains(r.text(), "confirmed.") || !strings.Contains(r.text(), "outcome completed") {
		t.Errorf("the run was not confirmed and completed:\n%s", r.text())
	}
}
