package wipe

import (
	"errors"
	"strings"
	"testing"

	"github.com/decom-project/decom/internal/ata"
	"github.com/decom-project/decom/internal/drivesim"
)

// nullMedia is media nobody reads: for drives too large for memory whose data no test
// looks at.
type nullMedia struct{}

func (nullMedia) ReadAt(p []byte, _ int64) (int, error)  { clear(p); return len(p), nil }
func (nullMedia) WriteAt(p []byte, _ int64) (int, error) { return len(p), nil }

func TestRemoveHPA(t *testing.T) {
	const sectors = fwSize / 512
	for fname, format := range senseFormats {
		t.Run(fname, func(t *testing.T) {
			sim, _, d := newATASim(t, drivesim.ATAConfig{HPA: true, HiddenSectors: 100, Sense: format})
			before, after, err := RemoveHPA(d)
			if err != nil {
				t.Fatal(err)
			}
			if before.CurrentMaxLBA != sectors-101 || before.NativeMaxLBA != sectors-1 || before.HiddenSectors != 100 || !before.Supported || !before.Enabled {
				t.Errorf("before %+v", before)
			}
			if after.CurrentMaxLBA != sectors-1 || after.NativeMaxLBA != sectors-1 || after.HiddenSectors != 0 {
				t.Errorf("after %+v", after)
			}
			// A small drive's native max fits in fixed-format sense data: no switch.
			wantCommands(t, "drive log", sim.Commands(), []string{"IDENTIFY DEVICE", "READ NATIVE MAX ADDRESS EXT",
				"SET MAX ADDRESS EXT", "IDENTIFY DEVICE"})
			// Volatile: the area is back after a power cycle.
			sim.PowerCycle()
			if st := sim.State(); st.CurrentMaxLBA != sectors-101 {
				t.Errorf("after a power cycle %+v", st)
			}
		})
	}
	t.Run("large drive, fixed sense", func(t *testing.T) {
		const size = 16 << 30
		sim, _, d := newATASim(t, drivesim.ATAConfig{Media: nullMedia{}, Size: size, HPA: true, HiddenSectors: 1 << 20, Sense: drivesim.FixedSense})
		before, after, err := RemoveHPA(d)
		if err != nil {
			t.Fatal(err)
		}
		if before.NativeMaxLBA != size/512-1 || before.HiddenSectors != 1<<20 || after.HiddenSectors != 0 {
			t.Errorf("before %+v after %+v", before, after)
		}
		// READ NATIVE MAX ADDRESS EXT is sent again after the switch, so that SET MAX
		// ADDRESS EXT immediately follows it.
		wantCommands(t, "drive log", sim.Commands(), []string{"IDENTIFY DEVICE", "READ NATIVE MAX ADDRESS EXT",
			"MODE SENSE(10)", "MODE SELECT(10)", "READ NATIVE MAX ADDRESS EXT", "SET MAX ADDRESS EXT",
			"IDENTIFY DEVICE", "MODE SELECT(10)"})
		if sim.State().DescriptorSense {
			t.Error("sense format not restored")
		}
	})
	t.Run("large drive, fixed sense locked", func(t *testing.T) {
		_, _, d := newATASim(t, drivesim.ATAConfig{Media: nullMedia{}, Size: 16 << 30, HPA: true, HiddenSectors: 8,
			Sense: drivesim.FixedSense, LockSenseFormat: true})
		if _, _, err := RemoveHPA(d); err == nil || !strings.Contains(err.Error(), "fixed-format sense data") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("nothing hidden", func(t *testing.T) {
		sim, _, d := newATASim(t, drivesim.ATAConfig{HPA: true})
		before, after, err := RemoveHPA(d)
		if err != nil || before != after || before.HiddenSectors != 0 || before.NativeMaxLBA != sectors-1 {
			t.Errorf("%+v %+v %v", before, after, err)
		}
		wantCommands(t, "drive log", sim.Commands(), []string{"IDENTIFY DEVICE", "READ NATIVE MAX ADDRESS EXT"})
	})
	t.Run("no HPA feature set", func(t *testing.T) {
		sim, _, d := newATASim(t, drivesim.ATAConfig{})
		before, after, err := RemoveHPA(d)
		if err != nil || before.Supported || before != after || before.CurrentMaxLBA != sectors-1 {
			t.Errorf("%+v %+v %v", before, after, err)
		}
		wantCommands(t, "drive log", sim.Commands(), []string{"IDENTIFY DEVICE"})
	})
	t.Run("SET MAX refused", func(t *testing.T) {
		sim, _, d := newATASim(t, drivesim.ATAConfig{HPA: true, HiddenSectors: 100, Abort: []uint8{0x37}})
		before, after, err := RemoveHPA(d)
		if err == nil || !strings.Contains(err.Error(), "refused SET MAX ADDRESS EXT") || !strings.Contains(err.Error(), "100 sectors") {
			t.Fatalf("got %v", err)
		}
		if after != before || after.HiddenSectors != 100 {
			t.Errorf("after %+v", after)
		}
		if st := sim.State(); st.CurrentMaxLBA != sectors-101 {
			t.Errorf("state %+v", st)
		}
	})
	t.Run("SET MAX ignored", func(t *testing.T) {
		_, _, d := newATASim(t, drivesim.ATAConfig{HPA: true, HiddenSectors: 100, IgnoreSetMax: true})
		_, after, err := RemoveHPA(d)
		if err == nil || !strings.Contains(err.Error(), "still hides 100 sectors") || after.HiddenSectors != 100 {
			t.Errorf("got %+v %v", after, err)
		}
	})
	t.Run("READ NATIVE MAX refused", func(t *testing.T) {
		_, _, d := newATASim(t, drivesim.ATAConfig{HPA: true, HiddenSectors: 100, Abort: []uint8{0x27}})
		if _, _, err := RemoveHPA(d); !errors.Is(err, ata.ErrAborted) {
			t.Errorf("got %v", err)
		}
	})
	t.Run("IDENTIFY lost", func(t *testing.T) {
		for n, want := range map[int]string{1: "remove HPA: ata: IDENTIFY DEVICE", 2: "after SET MAX ADDRESS EXT"} {
			sim, _, d := newATASim(t, drivesim.ATAConfig{HPA: true, HiddenSectors: 100})
			d.SCSI = hooked{sim, failNth(0xEC, n)}
			if _, _, err := RemoveHPA(d); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("IDENTIFY %d lost: %v", n, err)
			}
		}
	})
	t.Run("no interface", func(t *testing.T) {
		if _, _, err := RemoveHPA(DriveCommands{Path: "/dev/nvme0n1"}); err == nil {
			t.Error("no error")
		}
	})
}
