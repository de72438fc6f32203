package console

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/verify"
	"github.com/decom-project/decom/wipe"
)

func target(path, model, serial string, size uint64) wipe.Target {
	return wipe.Target{Path: path, Kind: wipe.KindDrive, Drive: inventory.Device{Model: model},
		Identity: wipe.Identity{Serial: serial, SizeBytes: size}}
}

var plans = []sanitize.Plan{
	{Target: target("/dev/sda", "ST4000NM0035", "ZC1A2B3C", 4_000_787_030_016)},
	{Target: target("/dev/sdb", "WDC WD20EFRX", "WD-WCC4M0", 2_000_398_934_016)},
	{Target: target("/dev/nvme0n1", "Samsung SSD 970", "S4EWNX0M", 500_107_862_016)},
}

// screen renders the model at its size, without styles.
func screen(t *testing.T, m *Model) string {
	t.Helper()
	text := ansi.Strip(m.View().Content)
	lines := strings.Split(text, "\n")
	if len(lines) > m.height {
		t.Errorf("%d lines on a screen of %d:\n%s", len(lines), m.height, text)
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w > m.width {
			t.Errorf("line %d is %d columns wide, the screen %d: %q", i+1, w, m.width, l)
		}
	}
	return text
}

func send(m *Model, msgs ...tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	for _, msg := range msgs {
		_, cmd = m.Update(msg)
	}
	return cmd
}

func result(path, outcome string, passes int, verified bool) sanitize.Result {
	rec := wipe.Record{Device: path, Outcome: outcome}
	for i := range passes {
		rec.Passes = append(rec.Passes, wipe.PassRecord{Number: i + 1, Completed: true})
	}
	r := sanitize.Result{Record: rec, Verified: verified, SanitizationOutcome: certificates.OutcomeSanitized}
	r.Verification = []verify.Result{{Mode: verify.ModeSample, Verified: verified, Pass: passes}}
	return r
}

func contains(t *testing.T, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("the screen lacks %q:\n%s", w, text)
		}
	}
}

func TestRunScreenAt80x25(t *testing.T) {
	aborted := 0
	m := New(plans, Options{Method: "dod-3 (3 passes)", CertificateDir: "/var/lib/decom/certificates",
		ASCII: true, Abort: func() { aborted++ }})
	send(m, tea.WindowSizeMsg{Width: 80, Height: 25})
	text := screen(t, m)
	contains(t, text, "decom wipe - dod-3 (3 passes)", "/dev/sda", "ST4000NM0035", "SN ZC1A2B3C", "4.0 TB",
		"/dev/sdb", "/dev/nvme0n1", "waiting to start", "q: abort")

	sda := wipe.Event{Device: "/dev/sda", Pass: 2, Passes: 3, Pattern: "0xff", Done: 1_000_196_757_504,
		Size: 4_000_787_030_016, Rate: 180e6, ETA: 3725}
	send(m,
		&sanitize.PassStarted{Device: "/dev/sda", Pass: 2, Passes: 3, Pattern: wipe.Fixed(0xff)},
		&sanitize.Progress{Event: sda},
		&sanitize.PassFinished{Device: "/dev/sdb", Pass: wipe.PassRecord{Number: 1, BadRanges: []wipe.Range{{}, {}}}},
		&sanitize.Progress{Event: wipe.Event{Device: "/dev/sdb", Pass: 2, Passes: 3, Pattern: "0xff", Done: 0, Size: 2_000_398_934_016}},
		&sanitize.Stalled{Stall: wipe.Stall{Device: "/dev/sdb", Phase: wipe.PhaseWrite, Pass: 2}},
		&sanitize.VerifyProgress{Device: "/dev/nvme0n1", Pass: 3, Event: verify.Event{Mode: verify.ModeSample, Done: 50_000_000, Total: 200_000_000, Rate: 2e9}},
	)
	text = screen(t, m)
	t.Logf("run screen:\n%s", text)
	contains(t, text, "pass 2/3 0xff", " 25.0%", "180 MB/s", "ETA 1:02:05", "STALLED", "bad 2",
		"verify 3 sample", "#####", "-----")
	if strings.ContainsAny(text, "█░") {
		t.Errorf("ASCII screen has block glyphs:\n%s", text)
	}
	sdbLine := lineWith(text, "/dev/sdb")
	if !strings.Contains(sdbLine, "STALLED") {
		t.Errorf("the stalled drive's own row is not marked: %q", sdbLine)
	}
	if strings.Contains(lineWith(text, "/dev/sda"), "STALLED") {
		t.Errorf("a drive that did not stall is marked")
	}

	// q asks; anything but y keeps the run going.
	send(m, tea.KeyPressMsg{Code: 'q', Text: "q"})
	contains(t, screen(t, m), "Abort the run?", "y/N")
	send(m, tea.KeyPressMsg{Code: 'n', Text: "n"})
	if aborted != 0 || strings.Contains(screen(t, m), "Abort the run?") {
		t.Fatalf("n aborted the run (%d) or left the question up", aborted)
	}

	// A failure is marked at once, before the run ends.
	failed := result("/dev/sdb", wipe.OutcomeFailed, 1, false)
	failed.Error = "write error"
	send(m, &sanitize.Finished{Result: failed})
	if !strings.Contains(lineWith(screen(t, m), "/dev/sdb"), "FAILED") {
		t.Errorf("the failed drive is not marked:\n%s", screen(t, m))
	}

	ok := result("/dev/sda", wipe.OutcomeCompleted, 3, true)
	ok.Certificate = "/var/lib/decom/certificates/20261203-ZC1A2B3C.sigstore.json"
	ok.CertificateStatus = "certificate of sanitization"
	nvme := result("/dev/nvme0n1", wipe.OutcomeCompleted, 3, true)
	send(m, &sanitize.CertificateWritten{Device: "/dev/nvme0n1", Path: "/var/lib/decom/certificates/nvme.sigstore.json", Status: "certificate of sanitization"})
	cmd := send(m, &sanitize.Done{Results: []sanitize.Result{ok, failed, nvme}})
	if cmd == nil {
		t.Fatal("the model does not quit after Done")
	}
	if _, quit := cmd().(tea.QuitMsg); !quit {
		t.Fatal("the model's command after Done is not tea.Quit")
	}
	text = screen(t, m)
	t.Logf("end screen:\n%s", text)
	contains(t, text, "Run finished.", "outcome completed", "verified "+ok.VerificationBrief(),
		"outcome failed", "verified "+failed.VerificationBrief(), "error: write error",
		"20261203-ZC1A2B3C.sigstore.json (certificate of sanitization)", "nvme.sigstore.json",
		"Certificates are in /var/lib/decom/certificates")
	if got := m.Summary(); !strings.Contains(got, "Run finished.") || strings.Contains(got, "\x1b[") {
		t.Errorf("Summary is not the plain end screen:\n%q", got)
	}
	if aborted != 0 {
		t.Errorf("Abort called %d times in a run nobody aborted", aborted)
	}
}

func TestAbortAsksFirst(t *testing.T) {
	aborted := 0
	m := New(plans[:1], Options{Abort: func() { aborted++ }})
	send(m, tea.KeyPressMsg{Code: 'y', Text: "y"})
	if aborted != 0 {
		t.Fatal("y alone aborted the run")
	}
	send(m, tea.KeyPressMsg{Code: 'q', Text: "q"}, tea.KeyPressMsg{Code: 'y', Text: "y"})
	if aborted != 1 {
		t.Fatalf("q, y: Abort called %d times, want 1", aborted)
	}
	contains(t, screen(t, m), "ABORTING")
	send(m, tea.KeyPressMsg{Code: 'q', Text: "q"}, tea.KeyPressMsg{Code: 'y', Text: "y"})
	if aborted != 1 {
		t.Fatalf("a second abort called Abort again (%d)", aborted)
	}
	res := result("/dev/sda", wipe.OutcomeAborted, 1, false)
	res.AbortedAt = &wipe.Position{Pass: 1, Offset: 1 << 30}
	send(m, &sanitize.Done{Results: []sanitize.Result{res}})
	contains(t, screen(t, m), "Run aborted.", "outcome aborted", "stopped in pass 1 at offset 1073741824",
		"No certificates were written")
}

func TestResizeAndManyTargets(t *testing.T) {
	var many []sanitize.Plan
	for i := range 30 {
		many = append(many, sanitize.Plan{Target: target("/dev/sd"+string(rune('a'+i%26))+strings.Repeat("x", i/26), "M", "S", 1e9)})
	}
	m := New(many, Options{})
	for _, size := range []tea.WindowSizeMsg{{Width: 80, Height: 25}, {Width: 120, Height: 40}, {Width: 40, Height: 10}, {Width: 200, Height: 60}} {
		send(m, size)
		text := screen(t, m)
		if size.Height-4 < len(many) {
			contains(t, text, "more targets")
		}
		if w := ansi.StringWidth(lineWith(text, "decom wipe")); w != size.Width {
			t.Errorf("at %dx%d the header is %d wide", size.Width, size.Height, w)
		}
	}
}

func TestRefusedPlanAndUnicodeBars(t *testing.T) {
	refused := sanitize.Plan{Target: target("/dev/sdc", "BOOT", "X", 1e9), Refusal: errors.New("it holds the running system")}
	m := New([]sanitize.Plan{plans[0], refused}, Options{})
	send(m, &sanitize.Progress{Event: wipe.Event{Device: "/dev/sda", Pass: 1, Passes: 1, Pattern: "0x00", Done: 1, Size: 2}})
	text := screen(t, m)
	contains(t, text, "REFUSED", "refused: it holds the running system", "█", "░")

	// A path too long for the row is cut, never the mark.
	long := "/tmp/" + strings.Repeat("d", 90) + "/disk.img"
	m = New([]sanitize.Plan{{Target: target(long, "", "", 1e9)}}, Options{})
	send(m, &sanitize.Stalled{Stall: wipe.Stall{Device: long}})
	if line := lineWith(screen(t, m), "/tmp/ddd"); !strings.Contains(line, "STALLED") {
		t.Errorf("the long row lost its mark: %q", line)
	}
}

func lineWith(text, s string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if strings.Contains(l, s) {
			if i+1 < len(lines) {
				return l + "\n" + lines[i+1]
			}
			return l
		}
	}
	return ""
}

var _ = time.Second

// TestRunAndEndScreensGolden draws the run screen (a drive writing, one stalled with
// bad ranges, one reading back), the abort question, a drive failing, and the end
// screen, at 80×25 and 120×40, against the golden renders in testdata.
func TestRunAndEndScreensGolden(t *testing.T) {
	for _, size := range []tea.WindowSizeMsg{{Width: 80, Height: 25}, {Width: 120, Height: 40}} {
		t.Run(fmt.Sprintf("%dx%d", size.Width, size.Height), func(t *testing.T) {
			aborted := 0
			m := New(plans, Options{Method: "dod-3 (3 passes)", CertificateDir: "/var/lib/decom/certificates",
				Uploads: true, ASCII: true, Abort: func() { aborted++ }})
			send(m, size,
				&sanitize.PassStarted{Device: "/dev/sda", Pass: 2, Passes: 3, Pattern: wipe.Fixed(0xff)},
				&sanitize.Progress{Event: wipe.Event{Device: "/dev/sda", Pass: 2, Passes: 3, Pattern: "0xff",
					Done: 1_000_196_757_504, Size: 4_000_787_030_016, Rate: 180e6, ETA: 3725}},
				&sanitize.PassFinished{Device: "/dev/sdb", Pass: wipe.PassRecord{Number: 1, BadRanges: []wipe.Range{{}, {}}}},
				&sanitize.Progress{Event: wipe.Event{Device: "/dev/sdb", Pass: 2, Passes: 3, Pattern: "0xff", Size: 2_000_398_934_016}},
				&sanitize.Stalled{Stall: wipe.Stall{Device: "/dev/sdb", Phase: wipe.PhaseWrite, Pass: 2}},
				&sanitize.VerifyProgress{Device: "/dev/nvme0n1", Pass: 3, Event: verify.Event{Mode: verify.ModeSample,
					Done: 50_000_000, Total: 200_000_000, Rate: 2e9}},
			)
			name := fmt.Sprintf("%dx%d", size.Width, size.Height)
			golden(t, "run-"+name, screen(t, m))

			send(m, tea.KeyPressMsg{Code: 'q', Text: "q"})
			golden(t, "run-abort-"+name, screen(t, m))
			send(m, tea.KeyPressMsg{Code: 'n', Text: "n"})
			if aborted != 0 {
				t.Fatalf("n aborted the run")
			}

			failed := result("/dev/sdb", wipe.OutcomeFailed, 1, false)
			failed.Error = "write error at 1073741824: input/output error"
			send(m, &sanitize.Finished{Result: failed})
			golden(t, "run-failed-"+name, screen(t, m))

			ok := result("/dev/sda", wipe.OutcomeCompleted, 3, true)
			ok.Certificate = "/var/lib/decom/certificates/20261203-ZC1A2B3C.sigstore.json"
			ok.CertificateStatus = "certificate of sanitization"
			nvme := result("/dev/nvme0n1", wipe.OutcomeCompleted, 3, true)
			send(m, &sanitize.CertificateWritten{Device: "/dev/nvme0n1", Path: "/var/lib/decom/certificates/nvme.sigstore.json",
				Status: "certificate of sanitization"})
			send(m, &sanitize.Done{Results: []sanitize.Result{ok, failed, nvme}})
			golden(t, "end-"+name, screen(t, m))
		})
	}
}
