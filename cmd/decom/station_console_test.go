package main

import (
	"strings"
	"syscall"
	"testing"

	"github.com/decom-project/decom/internal/loopdev"
)

// At a terminal, decom station shows its full screen: a loop device of the test's
// own, attached while the station runs, gets its row and its question; its name
// typed on the screen wipes it (zeros, checked on its image), its row then says it
// can be pulled; Esc and y stop the station, whose summary stays on the terminal.
// Nothing is written without its name typed: other devices that may come and go
// on this machine meanwhile are only asked about.
func TestStationFullScreenAtTerminal(t *testing.T) {
	loopdev.Require(t)
	r := startPty(t, utf8Term, "station", "--no-certificate", "--method", "zero", "--verify", "full",
		"--progress-interval", "50ms")
	r.waitFor("decom station - zero, verify full")
	r.waitFor("each is wiped once its serial number is typed below")
	img := filled(t, 4<<20, "s.img")[0]
	l := loopdev.Over(t, img)
	r.waitFor(l.Path + ": all data on it")
	r.waitFor("waiting for confirmation")
	if _, err := r.tty.Write([]byte(l.Name() + "\r")); err != nil {
		t.Fatal(err)
	}
	r.waitFor("COMPLETED - CAN BE PULLED")
	if !allBytes(t, img, 0) {
		t.Errorf("%s is not all zeros after its name was typed", l.Path)
	}
	if _, err := r.tty.Write([]byte("\x1b")); err != nil {
		t.Fatal(err)
	}
	r.waitFor("Stop the station? y/N")
	if _, err := r.tty.Write([]byte("y")); err != nil {
		t.Fatal(err)
	}
	code := r.wait()
	text := r.text()
	t.Logf("the terminal got:\n%s", text)
	if code != exitInterrupted {
		t.Errorf("exit code %d, want %d (stopped at the screen); the terminal got:\n%s", code, exitInterrupted, text)
	}
	if !strings.Contains(text, "The station stopped.") || !strings.Contains(text, "outcome completed") {
		t.Errorf("the summary did not stay on the terminal:\n%s", text)
	}
}

// --plain keeps the station's lines at a terminal; Ctrl+C (SIGINT) ends it.
func TestStationPlainAtTerminal(t *testing.T) {
	r := startPty(t, utf8Term, "station", "--plain", "--no-certificate", "--method", "zero")
	r.waitFor("station: waiting for drives")
	if err := r.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	code := r.wait()
	r.mu.Lock()
	raw := r.out.String()
	r.mu.Unlock()
	if strings.Contains(raw, "\x1b[?1049h") || strings.Contains(r.text(), "decom station - zero") {
		t.Errorf("--plain opened the full screen:\n%q", raw)
	}
	if code != exitInterrupted {
		t.Errorf("exit code %d, want %d", code, exitInterrupted)
	}
}
