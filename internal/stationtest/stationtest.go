// Package stationtest is the hot-plug scenario that the QEMU tests of the intake
// station play, with `decom station` in a guest (package station) and with the boot
// agent in station mode (package agent): two disks hot-added through QEMU's monitor,
// the second while the first is being wiped, and the second pulled out mid-wipe; and
// the checks of the station's console lines that follow from it.
package stationtest

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/internal/qemutest"
)

// Images are the scenario's disk images, made by NewImages in the test's own
// directory (qemutest.Image): Present, attached at boot and never to be touched,
// and A and B, hot-added, each filled with a byte of its own so that what a wipe
// wrote shows.
type Images struct{ Present, A, B string }

// Size is each image's size: 16 MiB.
const Size = 16 << 20

// The bytes the images hold before the station sees them.
const (
	presentFill = 0xa5
	aFill       = 0xff
	bFill       = 0xee
)

// NewImages makes the three images.
func NewImages(t testing.TB) Images {
	t.Helper()
	image := func(name string, b byte) string {
		p := qemutest.Image(t, name, Size)
		if err := os.WriteFile(p, bytes.Repeat([]byte{b}, Size), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return Images{Present: image("present.img", presentFill), A: image("a.img", aFill), B: image("b.img", bFill)}
}

// Check checks the images once QEMU has exited, for a zero method: A all zeros,
// Present as it was, B partly written (pulled out mid-wipe).
func (im Images) Check(t testing.TB) {
	t.Helper()
	every := func(path string, b byte) bool {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return len(data) == Size && bytes.Count(data, []byte{b}) == len(data)
	}
	if !every(im.A, 0) {
		t.Error("disk A's image is not all zeros")
	}
	if !every(im.Present, presentFill) {
		t.Error("the disk present at start was written to")
	}
	if every(im.B, bFill) || every(im.B, 0) {
		t.Error("disk B's image: want partly written (pulled out mid-wipe)")
	}
}

// CheckRecords checks what the station signed: a's certificate says sanitized, b's
// record says aborted because the drive was removed, and where the wipe stood.
func CheckRecords(t testing.TB, a, b *certificates.Certificate) {
	t.Helper()
	if a == nil || a.Status != certificates.StatusCertificate || a.Outcome != certificates.OutcomeSanitized {
		t.Errorf("disk A's certificate: %+v", a)
	}
	if b == nil || b.Status != certificates.StatusAbortedRecord ||
		!strings.Contains(b.Sanitization.Error, "the drive was removed") || b.Sanitization.AbortedAt == nil {
		t.Errorf("disk B's record: %+v", b)
	}
}

// Disk is a disk image the scenario hot-adds: its monitor ID, its serial number,
// and the write rate its throttle allows (bytes per second), which sets how long
// its wipe lasts.
type Disk struct {
	ID, Path, Serial string
	BytesPerSecond   int
}

var arrivedRE = regexp.MustCompile(`(/dev/vd[a-z]+): arrived:`)

// arrival waits for a disk other than the ones named to arrive, and returns it ("" when
// ctx ends first).
func arrival(ctx context.Context, m *qemutest.Monitor, known ...string) string {
	for ctx.Err() == nil {
		for _, match := range arrivedRE.FindAllStringSubmatch(m.Console(), -1) {
			if !slices.Contains(known, match[1]) {
				return match[1]
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return ""
}

// HotPlug plays the scenario on a station whose console says "station: waiting for
// drives", with present the disks there already: a is hot-added; once it is being
// wiped, b; once b's progress reaches 10%, b is pulled out (device_del). It returns
// the devices a and b arrived as; on a failure it reports it on t and returns early.
func HotPlug(ctx context.Context, t testing.TB, m *qemutest.Monitor, a, b Disk, present ...string) (devA, devB string) {
	if _, err := m.WaitConsole(ctx, "station: waiting for drives"); err != nil {
		t.Errorf("the station never started: %v", err)
		return
	}
	if err := m.HotAddDisk(a.ID, a.Path, a.Serial, a.BytesPerSecond); err != nil {
		t.Error(err)
		return
	}
	if devA = arrival(ctx, m, present...); devA == "" {
		t.Errorf("disk %s never arrived", a.ID)
		return
	}
	if _, err := m.WaitConsole(ctx, devA+": wiping"); err != nil {
		t.Errorf("%s: %v", devA, err)
		return
	}
	if err := m.HotAddDisk(b.ID, b.Path, b.Serial, b.BytesPerSecond); err != nil {
		t.Error(err)
		return
	}
	if devB = arrival(ctx, m, append(present, devA)...); devB == "" {
		t.Errorf("disk %s never arrived", b.ID)
		return
	}
	// Pulled out once some of it is written (10% of the run: a fifth of the pass).
	if _, err := m.WaitConsole(ctx, devB+": wiping 1"); err != nil {
		t.Errorf("%s: %v", devB, err)
		return
	}
	if _, err := m.Execute("device_del", map[string]any{"id": b.ID}); err != nil {
		t.Errorf("device_del: %v", err)
	}
	return devA, devB
}

// Lines are a console's lines.
type Lines []string

// Index is the index of the first line holding substr; a missing line is reported
// on t, and is -1.
func (l Lines) Index(t testing.TB, substr string) int {
	t.Helper()
	for i, line := range l {
		if strings.Contains(line, substr) {
			return i
		}
	}
	t.Errorf("the console has no line with %q", substr)
	return -1
}

// CheckConsole checks the console out of a HotPlug run: devB was wiped beside devA
// (its wipe began before devA's ended), devA can be pulled, devB was removed and its
// run aborted, and devB is never said to be pullable. It returns the lines.
func CheckConsole(t testing.TB, out, devA, devB string) Lines {
	t.Helper()
	lines := Lines(strings.Split(out, "\n"))
	if lines.Index(t, devB+": wiping") > lines.Index(t, devA+": completed") {
		t.Errorf("disk %s was not wiped beside disk %s", devB, devA)
	}
	lines.Index(t, devA+": can be pulled")
	lines.Index(t, devB+": removed")
	lines.Index(t, devB+": aborted: the drive was removed")
	if strings.Contains(out, devB+": can be pulled") {
		t.Errorf("the console says the pulled disk %s can be pulled", devB)
	}
	return lines
}
