package console

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/station"
	"github.com/decom-project/decom/verify"
	"github.com/decom-project/decom/wipe"
)

func arrived(path, model, serial string, size uint64) *station.Arrived {
	return &station.Arrived{Device: path, Drive: inventory.Device{Path: path, Model: model, Serial: serial,
		SizeBytes: size, Transport: "sata"}}
}

func planned(path, model, serial string, size uint64) *station.Run {
	return &station.Run{Device: path, Event: &sanitize.Planned{Plans: []sanitize.Plan{{Target: target(path, model, serial, size)}}}}
}

func run(path string, ev sanitize.Event) *station.Run { return &station.Run{Device: path, Event: ev} }

// stationScript feeds a station's screen what a bench sees: the boot medium and a
// drive present at start, left alone; a drive wiped and pullable; a drive pulled
// out mid-wipe; a drive being written; one just arrived.
func stationScript(t *testing.T, m *Model) {
	t.Helper()
	const sdb, sdc, sdd, sde = "/dev/sdb", "/dev/sdc", "/dev/sdd", "/dev/sde"
	send(m,
		&station.Started{Present: []string{"sda", "nvme0n1"}, Auto: true, Method: "zero",
			Drives: map[string]inventory.Device{"nvme0n1": {Path: "/dev/nvme0n1", Model: "SAMSUNG MZVL21T0",
				Serial: "S64GNF0R501234", SizeBytes: 1_024_209_543_168}}},
		arrived(sdb, "WDC WD20EFRX", "WD-WCC4M0", 2_000_398_934_016),
		planned(sdb, "WDC WD20EFRX", "WD-WCC4M0", 2_000_398_934_016),
		run(sdb, &sanitize.PassStarted{Device: sdb, Pass: 1, Passes: 1, Pattern: wipe.Fixed(0)}),
		arrived(sdc, "ST4000NM0035", "ZC1A2B3C", 4_000_787_030_016),
		planned(sdc, "ST4000NM0035", "ZC1A2B3C", 4_000_787_030_016),
		run(sdc, &sanitize.Progress{Event: wipe.Event{Device: sdc, Pass: 1, Passes: 1, Pattern: "0x00",
			Done: 1_000_196_757_504, Size: 4_000_787_030_016, Rate: 180e6, ETA: 16670}}),
		run(sdb, &sanitize.VerifyProgress{Device: sdb, Pass: 1, Event: verify.Event{Mode: verify.ModeFull,
			Done: 2_000_398_934_016, Total: 2_000_398_934_016, Rate: 2e9, Final: true}}),
	)
	ok := result(sdb, wipe.OutcomeCompleted, 1, true)
	ok.Verification = []verify.Result{{Mode: verify.ModeFull, Verified: true, Pass: 1, Coverage: 1}}
	ok.Certificate = "/data/certs/20261203T222047Z_WD-WCC4M0.sigstore.json"
	ok.CertificateStatus = "certificate of sanitization"
	send(m, run(sdb, &sanitize.Finished{Result: ok}), run(sdb, &sanitize.Done{Results: []sanitize.Result{ok}}),
		&station.Finished{Device: sdb, Result: ok}, &station.Pullable{Device: sdb})

	send(m,
		arrived(sdd, "Samsung SSD 870", "S5Y1NX0R", 500_107_862_016),
		planned(sdd, "Samsung SSD 870", "S5Y1NX0R", 500_107_862_016),
		run(sdd, &sanitize.Progress{Event: wipe.Event{Device: sdd, Pass: 1, Passes: 1, Pattern: "0x00",
			Done: 100_021_572_403, Size: 500_107_862_016, Rate: 400e6, ETA: 1000}}),
		&station.Removed{Device: sdd},
	)
	pulled := result(sdd, wipe.OutcomeAborted, 0, false)
	pulled.Error = "the drive was removed"
	pulled.AbortedAt = &wipe.Position{Pass: 1, Offset: 100_021_572_403}
	pulled.Certificate = "/data/certs/20261203T222034Z_S5Y1NX0R.sigstore.json"
	pulled.CertificateStatus = "record of aborted sanitization"
	send(m, &station.Finished{Device: sdd, Result: pulled, Removed: true, Err: context.Canceled},
		arrived(sde, "", "", 32_017_047_552))
}

// TestStationScreenGolden draws a station's screen at 80×25 and 120×40: the boot
// medium and a drive present at start left alone, a drive verified and certified
// that can be pulled, one pulled out mid-wipe (aborted, removed), one being written
// and one just arrived; then the same station asking for confirmations, with a
// serial number being typed.
func TestStationScreenGolden(t *testing.T) {
	for _, size := range []tea.WindowSizeMsg{{Width: 80, Height: 25}, {Width: 120, Height: 40}} {
		name := fmt.Sprintf("%dx%d", size.Width, size.Height)
		t.Run(name, func(t *testing.T) {
			m := NewStation(Options{Method: "zero", CertificateDir: "/data/certs", ASCII: true},
				StationOptions{Auto: true, Verify: "full", Boot: map[string]string{"/dev/sda": "boot medium: holds the DECOM-DATA partition (/dev/sda2)"}})
			send(m, size)
			stationScript(t, m)
			text := screen(t, m)
			golden(t, "station-"+name, text)
			// A drive present at start is shown by its identity when the scan knew it.
			contains(t, lineWith(text, "/dev/nvme0n1 "), "SAMSUNG MZVL21T0", "SN S64GNF0R501234", "1.0 TB")
			for dev, mark := range map[string]string{"/dev/sda": "BOOT MEDIUM", "/dev/nvme0n1": "LEFT ALONE",
				"/dev/sdb": "COMPLETED - CAN BE PULLED", "/dev/sdd": "REMOVED"} {
				if !strings.Contains(lineWith(text, dev+" "), mark) {
					t.Errorf("%s's row lacks %q:\n%s", dev, mark, text)
				}
			}

			var typed []string
			m = NewStation(Options{Method: "zero", CertificateDir: "/data/certs", ASCII: true},
				StationOptions{Verify: "full", Line: func(s string) { typed = append(typed, s) }})
			send(m, size,
				&station.Started{Present: []string{"sda"}, Method: "zero"},
				arrived("/dev/sdb", "WDC WD20EFRX", "WD-WCC4M0", 2_000_398_934_016),
				planned("/dev/sdb", "WDC WD20EFRX", "WD-WCC4M0", 2_000_398_934_016),
				tea.KeyPressMsg{Code: 'W', Text: "W"}, tea.KeyPressMsg{Code: 'D', Text: "D"}, tea.KeyPressMsg{Code: 'q', Text: "q"},
				tea.KeyPressMsg{Code: tea.KeyBackspace}, tea.KeyPressMsg{Code: '-', Text: "-"},
				LogMsg("/dev/sdb: all data on it (WDC WD20EFRX, serial WD-WCC4M0, 1.8 TiB) will be destroyed. Type its serial number to wipe it, or press Enter to leave it:"),
			)
			text = screen(t, m)
			golden(t, "station-confirm-"+name, text)
			contains(t, text, "waiting for confirmation", "Serial number: WD-_")
			// The question is read to its end, wrapped on a narrow console.
			contains(t, text, "serial WD-WCC4M0, 1.8 TiB", "press Enter to leave it:")
			if len(typed) != 0 {
				t.Errorf("a line went out before Enter: %q", typed)
			}
		})
	}
}

// Typing goes to the line on Enter; q is a letter there, and Esc asks before it
// stops the station; in auto mode q asks too. Nothing is stopped without y.
func TestStationScreenKeys(t *testing.T) {
	stops := 0
	var typed []string
	m := NewStation(Options{Abort: func() { stops++ }}, StationOptions{Line: func(s string) { typed = append(typed, s) }})
	keys := func(s string) {
		for _, r := range s {
			send(m, tea.KeyPressMsg{Code: r, Text: string(r)})
		}
	}
	keys("SQ1x")
	send(m, tea.KeyPressMsg{Code: tea.KeyBackspace}, tea.KeyPressMsg{Code: tea.KeyEnter})
	if !slices.Equal(typed, []string{"SQ1"}) {
		t.Errorf("lines typed: %q", typed)
	}
	if stops != 0 || strings.Contains(screen(t, m), "Stop the station?") {
		t.Fatalf("typing q stopped the station, or asked to")
	}
	send(m, tea.KeyPressMsg{Code: tea.KeyEscape})
	contains(t, screen(t, m), "Stop the station? y/N")
	send(m, tea.KeyPressMsg{Code: 'n', Text: "n"})
	if stops != 0 {
		t.Fatal("n stopped the station")
	}
	send(m, tea.KeyPressMsg{Code: tea.KeyEscape}, tea.KeyPressMsg{Code: 'y', Text: "y"})
	if stops != 1 {
		t.Fatalf("Esc, y: %d stops, want 1", stops)
	}
	contains(t, screen(t, m), "STOPPING")

	stops = 0
	m = NewStation(Options{Abort: func() { stops++ }}, StationOptions{Auto: true})
	send(m, tea.KeyPressMsg{Code: 'y', Text: "y"})
	if stops != 0 {
		t.Fatal("y alone stopped the station")
	}
	send(m, tea.KeyPressMsg{Code: 'q', Text: "q"}, tea.KeyPressMsg{Code: 'y', Text: "y"})
	if stops != 1 {
		t.Fatalf("q, y in auto mode: %d stops, want 1", stops)
	}
	send(m, &station.Stopped{Handled: 3, Err: context.Canceled})
	contains(t, screen(t, m), "The station stopped after 3 drives.")
}

// Rows come as drives arrive, one per drive: a drive plugged in again gets its row
// back, fresh; a drive refused or not confirmed says so; the latest drives stay in
// view when they do not all fit, and the summary lists every one.
func TestStationScreenRows(t *testing.T) {
	m := NewStation(Options{ASCII: true}, StationOptions{Auto: true})
	send(m, tea.WindowSizeMsg{Width: 80, Height: 25}, &station.Started{})
	if len(m.rows) != 0 {
		t.Fatalf("%d rows before any drive", len(m.rows))
	}
	send(m, arrived("/dev/sdb", "M", "S1", 1e9), planned("/dev/sdb", "M", "S1", 1e9),
		&station.Removed{Device: "/dev/sdb"}, &station.Finished{Device: "/dev/sdb", Removed: true, Err: context.Canceled})
	contains(t, lineWith(screen(t, m), "/dev/sdb "), "REMOVED", "removed before its wipe began")
	send(m, arrived("/dev/sdb", "M", "S2", 1e9))
	if len(m.rows) != 1 {
		t.Fatalf("a drive plugged in again: %d rows, want 1", len(m.rows))
	}
	contains(t, lineWith(screen(t, m), "/dev/sdb "), "SN S2", "arrived: inventory and the safety gate")
	send(m, &station.Refused{Device: "/dev/sdb", Reason: "it holds a mounted filesystem"}, &station.Pullable{Device: "/dev/sdb"},
		arrived("/dev/sdc", "M", "S3", 1e9), &station.Failed{Device: "/dev/sdc", Err: errors.New("not confirmed")},
		&station.Pullable{Device: "/dev/sdc"})
	text := screen(t, m)
	contains(t, lineWith(text, "/dev/sdb "), "REFUSED - CAN BE PULLED", "refused: it holds a mounted filesystem")
	contains(t, lineWith(text, "/dev/sdc "), "NOT WIPED - CAN BE PULLED", "not wiped: not confirmed")

	for i := range 20 {
		send(m, arrived(fmt.Sprintf("/dev/sd%c", 'd'+i), "M", "S", 1e9))
	}
	text = screen(t, m)
	contains(t, text, "earlier drives", "/dev/sdw")
	if strings.Contains(text, "/dev/sdb ") {
		t.Errorf("the oldest drive is shown, the newest may not be:\n%s", text)
	}
	sum := m.Summary()
	contains(t, sum, "The station stopped.", "/dev/sdb", "/dev/sdw", "not wiped: not confirmed")
}
