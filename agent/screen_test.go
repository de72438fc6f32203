package agent

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/decom-project/decom/console"
	"github.com/decom-project/decom/inventory"
)

// fakeTerminal is a console that can show the full screen: keys written to it
// reach the agent as a serial console's would, and what the screen draws is kept.
type fakeTerminal struct {
	keys *io.PipeWriter
	out  *lockedBuffer
}

func newFakeTerminal(t *testing.T) (Input, *fakeTerminal) {
	in := newLineInput()
	r, w := io.Pipe()
	t.Cleanup(func() { w.Close() })
	in.read(r)
	ft := &fakeTerminal{keys: w, out: &lockedBuffer{}}
	in.screen = &screenTerm{in: in, out: ft.out, name: "ttyS0", term: "vt220", width: 80, height: 25}
	return in, ft
}

// screenText is what the screen drew, without its escape sequences.
func (f *fakeTerminal) screenText() string { return ansi.Strip(f.out.String()) }

// waitFor waits until the screen has drawn s.
func (f *fakeTerminal) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(f.screenText(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("the screen did not show %q within 30 s; it shows:\n%s", s, f.screenText())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f *fakeTerminal) press(t *testing.T, keys string) {
	t.Helper()
	if _, err := f.keys.Write([]byte(keys)); err != nil {
		t.Fatal(err)
	}
}

// runAsync runs the agent and returns its error on a channel.
func runAsync(o Options) chan error {
	errc := make(chan error, 1)
	go func() { errc <- Run(context.Background(), o) }()
	return errc
}

func waitRun(t *testing.T, e *runEnv, errc chan error) error {
	t.Helper()
	select {
	case err := <-errc:
		t.Logf("console:\n%s", e.console.String())
		return err
	case <-time.After(60 * time.Second):
		t.Fatalf("the agent did not end within 60 s; console:\n%s", e.console.String())
	}
	return nil
}

func (f *fakeRun) wipesOnly() []wipeCall { return f.calls }

// TestScreenInteractive chooses one of three eligible drives on the drive list,
// confirms with WIPE 1, and checks that exactly that drive was wiped, that the
// list marked the boot medium and that the end screen says the stick can go.
func TestScreenInteractive(t *testing.T) {
	e := newRunEnv(t)
	in, term := newFakeTerminal(t)
	o := e.options("console=ttyS0 decom.mode=interactive")
	o.Input = in
	errc := runAsync(o)
	term.waitFor(t, "choose the drives to wipe")
	screen := term.screenText()
	for _, want := range []string{"/dev/nvme0n1", "/dev/sdb", "/dev/vdb", "BOOT MEDIUM", "0 of "} {
		if !strings.Contains(screen, want) {
			t.Errorf("the drive list lacks %q:\n%s", want, screen)
		}
	}
	// The cursor starts on /dev/nvme0n1, the first row: select it, go on.
	term.press(t, " \r")
	term.waitFor(t, "Nothing has been written yet.")
	term.press(t, "WIPE 1\r")
	if err := waitRun(t, e, errc); err != nil {
		t.Errorf("Run: %v", err)
	}
	wipes := e.cli.wipesOnly()
	if len(wipes) != 1 || !slices.Equal(wipes[0].Targets, []string{"/dev/nvme0n1"}) || wipes[0].Method != "dod-3" {
		t.Fatalf("wipes %+v, want one of /dev/nvme0n1 with dod-3", wipes)
	}
	if !slices.Equal(e.cli.dryRuns, []string{"zero", "nist-clear", "nist-purge"}) {
		t.Errorf("dry runs %q", e.cli.dryRuns)
	}
	end := term.screenText()
	t.Logf("screen:\n%s", end)
	for _, want := range []string{
		"decom boot agent - finished",
		"1 sanitized, 0 with exceptions, 0 failed, 6 not wiped",
		"completed, verified yes (sample 10.0%); not uploaded (no registry)",
		"  20260301T120000Z_nvme0n1_id.sigstore.json",
		"Not wiped:\r\n",
		"  /dev/sdb      not chosen\r\n",
		"  /dev/sda      boot medium: holds the DECOM-DATA partition (/dev/sda2)\r\n",
		"Certificates: /data/certs on the stick (DECOM-DATA partition /dev/sda2)",
		"THE STICK CAN BE REMOVED",
	} {
		if !strings.Contains(end, want) {
			t.Errorf("the end screen lacks %q", want)
		}
	}
	contains(t, "console", e.console.String(),
		"decom: confirmed on the screen: 1 drive with dod-3, verification sample: /dev/nvme0n1",
		"decom: summary\n", "decom: result: 1 sanitized")
}

// TestScreenWrongConfirmation types the wrong confirmation, leaves the
// confirmation (back to the list) and leaves the list: nothing is wiped.
func TestScreenWrongConfirmation(t *testing.T) {
	e := newRunEnv(t)
	in, term := newFakeTerminal(t)
	o := e.options("console=ttyS0 decom.mode=interactive")
	o.Input = in
	errc := runAsync(o)
	term.waitFor(t, "choose the drives to wipe")
	term.press(t, "a\r")
	term.waitFor(t, "Nothing has been written yet.")
	term.press(t, "WIPE 2\r")
	term.waitFor(t, `That is not "WIPE 3"`)
	term.press(t, "\x1b")
	// Back on the list: leave it (the Escape key's byte alone waits for more,
	// so q leaves).
	time.Sleep(200 * time.Millisecond)
	term.press(t, "q")
	if err := waitRun(t, e, errc); err != nil {
		t.Errorf("Run: %v", err)
	}
	if w := e.cli.wipesOnly(); len(w) != 0 {
		t.Fatalf("wipes %+v after no confirmation", w)
	}
	contains(t, "console", e.console.String(), "decom: not confirmed: back to the drive list",
		"decom: nothing chosen: nothing wiped", "decom: result: 0 sanitized")
}

// TestScreenPlain keeps the line interface with decom.plain=1 on a console that
// can show the screen.
func TestScreenPlain(t *testing.T) {
	e := newRunEnv(t)
	in, term := newFakeTerminal(t)
	o := e.options("console=ttyS0 decom.mode=interactive decom.plain=1")
	o.Input = in
	errc := runAsync(o)
	for !strings.Contains(consoleText(e), "Enter alone for none:") {
		time.Sleep(20 * time.Millisecond)
	}
	term.press(t, "NVME0001\nyes\n")
	if err := waitRun(t, e, errc); err != nil {
		t.Errorf("Run: %v", err)
	}
	if w := e.cli.wipesOnly(); len(w) != 1 || !slices.Equal(w[0].Targets, []string{"/dev/nvme0n1"}) {
		t.Fatalf("wipes %+v", w)
	}
	if s := term.out.String(); s != "" {
		t.Errorf("decom.plain=1 drew a screen: %q", s)
	}
}

func consoleText(e *runEnv) string {
	consoleMu.Lock()
	defer consoleMu.Unlock()
	return e.console.String()
}

// TestScreenAuto runs auto mode on the screen: the countdown passes (a fake
// clock), the run screen shows the run, the end screen its end.
func TestScreenAuto(t *testing.T) {
	e := newRunEnv(t)
	in, term := newFakeTerminal(t)
	o := e.options("console=ttyS0 decom.mode=auto decom.method=nist-clear")
	o.Input = in
	if err := waitRun(t, e, runAsync(o)); err != nil {
		t.Errorf("Run: %v", err)
	}
	if w := e.cli.wipesOnly(); len(w) != 1 || !slices.Equal(w[0].Targets, []string{"/dev/nvme0n1", "/dev/sdb", "/dev/vdb"}) {
		t.Fatalf("wipes %+v", w)
	}
	end := term.screenText()
	t.Logf("screen:\n%s", end)
	for _, want := range []string{"3 sanitized, 0 with exceptions, 0 failed, 4 not wiped", "THE STICK CAN BE REMOVED"} {
		if !strings.Contains(end, want) {
			t.Errorf("the end screen lacks %q", want)
		}
	}
}

// stoppedClock is a clock whose time passes only in the test's fake clock steps
// shorter than a second: the countdown's seconds never pass.
type stoppedClock struct{ *fakeClock }

func (c stoppedClock) Sleep(ctx context.Context, d time.Duration) error {
	if d >= time.Second {
		<-ctx.Done()
		return ctx.Err()
	}
	return c.fakeClock.Sleep(ctx, d)
}

// TestScreenCountdownKey shows auto mode's plan and countdown; a key switches to
// interactive mode, whose drive list follows; leaving it wipes nothing.
func TestScreenCountdownKey(t *testing.T) {
	e := newRunEnv(t)
	in, term := newFakeTerminal(t)
	o := e.options("console=ttyS0 decom.mode=auto decom.method=nist-clear")
	o.Input = in
	o.clock = stoppedClock{e.clk}
	errc := runAsync(o)
	term.waitFor(t, "Press any key to choose the drives instead")
	plan := term.screenText()
	for _, want := range []string{"decom boot agent - auto mode", "Wipe 3 drives with nist-clear, then read back: sample",
		"WIPING IN 15 s.", "/dev/nvme0n1", "Never wiped:", "boot medium: holds the DECOM-DATA partition"} {
		if !strings.Contains(plan, want) {
			t.Errorf("the plan screen lacks %q:\n%s", want, plan)
		}
	}
	term.press(t, "x")
	term.waitFor(t, "choose the drives to wipe")
	term.press(t, "q")
	if err := waitRun(t, e, errc); err != nil {
		t.Errorf("Run: %v", err)
	}
	if w := e.cli.wipesOnly(); len(w) != 0 {
		t.Fatalf("wipes %+v after a key in the countdown", w)
	}
	contains(t, "console", e.console.String(), "decom: key pressed: switching to interactive mode")
}

// TestScreenRenders draws auto mode's plan with its countdown and the end screen
// at 80×25: every line fits, and each says what it must.
func TestScreenRenders(t *testing.T) {
	a := &agent{cmd: Cmdline{Method: "nist-clear"}, scrChecked: true}
	a.scr = &session{a: a}
	devs := []inventory.Device{
		{Path: "/dev/nvme0n1", Model: "Samsung SSD 980 PRO 1TB", Serial: "S5GXNX0T123456", SizeBytes: 1 << 40},
		{Path: "/dev/sdb", Model: "ST4000NM0035-1V4107", Serial: "ZC1A2B3C", SizeBytes: 4 << 40},
	}
	skipped := []Skipped{{Device: inventory.Device{Path: "/dev/sda", Serial: "4C530001"},
		Reason: "boot medium: holds the DECOM-DATA partition (/dev/sda2)"}}
	a.screenPlan(nil, devs, skipped)
	m := newRunScreen(console.Options{Method: "nist-clear", ASCII: true}, a.scr.plan)
	m.left, m.width, m.height = 15*time.Second, 80, 25
	plan := m.Render()
	t.Logf("auto mode's plan and countdown (80x25):\n%s", plan)
	checkScreen(t, plan, 25, "Wipe 2 drives with nist-clear, then read back: sample", "S5GXNX0T123456",
		"Never wiped:", "/dev/sda       boot medium", "WIPING IN 15 s.")

	a.dataMount = "/data" // mounted, then unmounted (a.data nil)
	a.summary = Summary{CertDir: "/data/certs", OnData: true, DataDev: "/dev/sda2", Registry: "https://registry.example",
		Drives: []DriveResult{
			{Device: "/dev/nvme0n1", Serial: "S5GXNX0T123456", Model: "Samsung SSD 980 PRO 1TB", Size: 1 << 40,
				Outcome: "completed", Sanitization: "sanitized", Verified: "yes (sample 10.0%)", Uploaded: true,
				Certificate: "/data/certs/20261203T184220Z_S5GXNX0T123456_c95d20bd-4419-45db-9388-09b2bb00c1c5.sigstore.json"},
			{Device: "/dev/sdb", Serial: "ZC1A2B3C", Model: "ST4000NM0035-1V4107", Size: 4 << 40,
				Outcome: "failed", Sanitization: "failed", Verified: "FAILED (sample)", Note: "verification failed",
				Certificate: "/data/certs/20261203T190102Z_ZC1A2B3C_0b7e0f4e-8d2a-4e55-a8a5-5a1b3c2d4e5f.sigstore.json"},
			{Device: "/dev/sda", Serial: "4C530001", Outcome: OutcomeSkipped, Note: "boot medium: holds the DECOM-DATA partition (/dev/sda2)"},
		}}
	end := a.endText(80)
	t.Logf("the end screen (80 columns):\n%s", end)
	checkScreen(t, end, 25, "1 sanitized, 0 with exceptions, 1 failed, 1 not wiped", "SANITIZED", "FAILED",
		"completed, verified yes (sample 10.0%); uploaded", "failed, verified FAILED (sample); NOT uploaded: decom cert push",
		"  20261203T184220Z_S5GXNX0T123456_c95d20bd-4419-45db-9388-09b2bb00c1c5.sigstore~", "Not wiped:",
		"Certificates: /data/certs on the stick (DECOM-DATA partition /dev/sda2)", "THE STICK CAN BE REMOVED")

	a.data = &Partition{Name: "sda2"} // the unmount failed
	if end := a.endText(80); !strings.Contains(end, "Do NOT remove the stick") {
		t.Errorf("the end screen after a failed unmount:\n%s", end)
	}
}

func checkScreen(t *testing.T, s string, height int, want ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if len(lines) > height {
		t.Errorf("%d lines, more than %d", len(lines), height)
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w > 80 {
			t.Errorf("line %d is %d columns wide: %q", i+1, w, l)
		}
	}
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("the screen lacks %q", w)
		}
	}
}
