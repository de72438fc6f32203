package station

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/wipe"
)

func plan(path, serial string) sanitize.Plan {
	return sanitize.Plan{Target: wipe.Target{Path: path, Node: path, Kind: wipe.KindDrive,
		Identity: wipe.Identity{Serial: serial, SizeBytes: 8 << 20}}}
}

// Only the drive's serial (its name, without one) confirms it; a pulled drive is no
// longer asked about.
func TestConfirm(t *testing.T) {
	var out bytes.Buffer
	ask := Confirm(Lines(strings.NewReader("S1\nsdb\nsdc\n")), &out)
	ctx := context.Background()
	for _, c := range []struct {
		p    sanitize.Plan
		want bool
	}{
		{plan("/dev/sda", "S1"), true},
		{plan("/dev/sdx", "S2"), false}, // "sdb" is not its serial
		{plan("/dev/sdc", ""), true},    // no serial: its name
		{plan("/dev/sdd", "S4"), false}, // the console closed
	} {
		ok, err := ask(ctx, c.p)
		if err != nil || ok != c.want {
			t.Errorf("%s: %v, %v; want %v", c.p.Target.Path, ok, err, c.want)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if ok, err := ask(cancelled, plan("/dev/sde", "S5")); ok || !errors.Is(err, context.Canceled) {
		t.Errorf("pulled: %v, %v", ok, err)
	}
	for _, want := range []string{"/dev/sda: confirmed", "/dev/sdx: left alone: that is not its serial number",
		"/dev/sdc: confirmed", "/dev/sdd: left alone: EOF", "Type its device name (without /dev/)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("console lacks %q:\n%s", want, out.String())
		}
	}
}

// Lines typed on a screen reach Confirm; the latest of those typed before a question
// is the one read; read ends with its context.
func TestTyped(t *testing.T) {
	put, read := Typed()
	put("old")
	put("SERIAL1")
	if line, err := read(context.Background()); line != "SERIAL1" || err != nil {
		t.Errorf("read %q, %v; want the latest line", line, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := read(ctx); err == nil {
		t.Error("read with nothing typed and its context done returned no error")
	}
	done := make(chan string)
	go func() { line, _ := read(context.Background()); done <- line }()
	put("S2")
	if got := <-done; got != "S2" {
		t.Errorf("read %q while waiting, want S2", got)
	}
}
