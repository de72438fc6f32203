package main

import (
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

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
	// The station hears every drive this machine gains, other tests' loop devices
	// too: their questions are answered by leaving them alone.
	r.answerStation(l.Path, l.Name())
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

// stationQuestion finds the drive a station asks about: the last one named in a
// question sent to the terminal.
var stationQuestion = regexp.MustCompile(`(/dev/[a-z0-9]+): all data on it`)

// answerStation waits, up to a minute, for the station to ask about the drive at
// path and types name to wipe it. Questions about other drives (another test's
// loop device that appeared meanwhile) are answered with Enter, which leaves them
// alone.
func (r *ptyRun) answerStation(path, name string) {
	r.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	left := map[string]bool{}
	for time.Now().Before(deadline) {
		m := stationQuestion.FindAllStringSubmatch(r.text(), -1)
		switch asked := ""; {
		case len(m) > 0 && m[len(m)-1][1] == path:
			if _, err := r.tty.Write([]byte(name + "\r")); err != nil {
				r.t.Fatal(err)
			}
			return
		case len(m) > 0 && !left[m[len(m)-1][1]]:
			asked = m[len(m)-1][1]
			left[asked] = true
			r.t.Logf("the station asks about %s, not this test's drive: leaving it alone", asked)
			if _, err := r.tty.Write([]byte("\r")); err != nil {
				r.t.Fatal(err)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.t.Fatalf("the station did not ask about %s within 60 s; the terminal got:\n%s", path, r.text())
}
