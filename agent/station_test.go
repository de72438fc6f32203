package agent

import (
	"context"
	"testing"
	"time"

	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/station"
	"github.com/decom-project/decom/verify"
	"github.com/decom-project/decom/wipe"
)

// decom.mode=station is a mode of its own, not a word to ask about.
func TestCmdlineStation(t *testing.T) {
	c := ParseCmdline("quiet decom.mode=station decom.method=zero")
	if c.Mode != ModeStation || len(c.Warnings) > 0 || len(c.Errors) > 0 || c.Method != "zero" {
		t.Errorf("got %+v", c)
	}
	if c := ParseCmdline("decom.mode=stations"); c.Mode != ModeInteractive || len(c.Warnings) != 1 {
		t.Errorf("a misspelt mode: %+v", c)
	}
}

// On a console that shows the full screen, station mode draws the station's screen
// (package console): the boot medium marked, a drive's row as it arrives; without
// station: auto, its question is shown there and the serial number typed on the
// screen confirms the drive, and nothing else does.
func TestStationScreen(t *testing.T) {
	in, term := newFakeTerminal(t)
	var con lockedBuffer
	a := &agent{cmd: Cmdline{Mode: ModeStation}, input: in, out: &output{console: &con, now: time.Now}}
	s := a.screen()
	if s == nil {
		t.Fatal("station mode shows no full screen on a terminal")
	}
	m, err := wipe.LookupMethod("zero")
	if err != nil {
		t.Fatal(err)
	}
	st := &station.Station{}
	send := a.stationScreen(s, st, sanitize.Options{Method: m, Verify: verify.Options{Mode: verify.ModeFull}},
		map[string]string{"/dev/sda": "boot medium: holds the DECOM-DATA partition (/dev/sda2)"})
	defer s.stopRun()
	if st.Confirm == nil {
		t.Fatal("no confirmation on the screen")
	}
	send(&station.Started{Present: []string{"sda"}, Method: "zero"})
	drive := inventory.Device{Path: "/dev/sdb", Model: "WDC WD20EFRX", Serial: "WD-WCC4M0", SizeBytes: 2_000_398_934_016}
	send(&station.Arrived{Device: "/dev/sdb", Drive: drive})
	term.waitFor(t, "decom station - zero, verify full")
	term.waitFor(t, "BOOT MEDIUM")
	term.waitFor(t, "SN WD-WCC4M0")

	plan := sanitize.Plan{Target: wipe.Target{Path: "/dev/sdb", Node: "/dev/sdb", Kind: wipe.KindDrive, Drive: drive,
		Identity: wipe.Identity{Serial: drive.Serial, SizeBytes: drive.SizeBytes}}}
	ask := func() chan bool {
		answer := make(chan bool, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			ok, _ := st.Confirm(ctx, plan)
			answer <- ok
		}()
		return answer
	}
	answer := ask()
	term.waitFor(t, "/dev/sdb: all data on it")
	term.press(t, "WD-WCC4M1\r")
	if <-answer {
		t.Fatal("a wrong serial number confirmed the drive")
	}
	answer = ask()
	term.waitFor(t, "that is not its serial number")
	term.press(t, "WD-WCC4M0\r")
	if !<-answer {
		t.Fatalf("the serial number typed on the screen did not confirm the drive; the screen:\n%s", term.screenText())
	}
}
