package wipe

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/decom-project/decom/internal/loopdev"
	"github.com/decom-project/decom/internal/sysfstest"
	"github.com/decom-project/decom/inventory"
)

// wantRefused fails the test unless err is a gate refusal mentioning all of words.
func wantRefused(t *testing.T, err error, words ...string) {
	t.Helper()
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("got %v, want a refusal", err)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("refusal %q does not mention %q", err, w)
		}
	}
}

func TestGateRefusesMountedDevice(t *testing.T) {
	l, mnt := mountedLoop(t)
	_, err := (&Gate{}).Check(context.Background(), l.Path)
	wantRefused(t, err, "mounted", mnt)
}

// A device mounted after the plan was made is refused when it is opened.
func TestGateRefusesDeviceMountedAfterThePlan(t *testing.T) {
	loopdev.Require(t, "mkfs.ext4")
	l := loopdev.New(t, 32<<20, false, nil)
	if err := l.MkFS("ext4", 0); err != nil {
		t.Fatal(err)
	}
	g := &Gate{}
	tgt, err := g.Check(context.Background(), l.Path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Mount(0); err != nil {
		t.Fatal(err)
	}
	_, err = g.Open(context.Background(), tgt)
	wantRefused(t, err, "mounted")
}

// Another program holding the device exclusively makes the gate refuse it.
func TestGateRefusesExclusivelyOpenedDevice(t *testing.T) {
	l := loopdev.New(t, 8<<20, false, nil)
	g := &Gate{}
	tgt, err := g.Check(context.Background(), l.Path)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(l.Path, unix.O_RDONLY|unix.O_EXCL|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	_, err = g.Open(context.Background(), tgt)
	wantRefused(t, err, "exclusive")
}

// The same loop device attached to another image between plan and write is a
// different drive.
func TestGateRefusesChangedBackingFile(t *testing.T) {
	l := loopdev.New(t, 8<<20, false, nil)
	g := &Gate{}
	tgt, err := g.Check(context.Background(), l.Path)
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other.img")
	if err := loopdev.CreateImage(other, 8<<20); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("losetup", "--detach", l.Path).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if out, err := exec.Command("losetup", l.Path, other).CombinedOutput(); err != nil {
		t.Fatalf("re-attach %s: %v: %s", l.Path, err, out)
	}
	_, err = g.Open(context.Background(), tgt)
	wantRefused(t, err, "backing file", other)
}

// A drive whose serial changed between plan and write (another drive in the same
// slot, a re-enumeration) is refused.
func TestGateRefusesChangedSerial(t *testing.T) {
	l := loopdev.New(t, 8<<20, false, nil)
	serial := "SERIAL-A"
	g := &Gate{lookup: func(ctx context.Context, path string) (inventory.Device, error) {
		d, err := inventory.Lookup(ctx, inventory.Options{}, path)
		d.Serial = serial
		return d, err
	}}
	tgt, err := g.Check(context.Background(), l.Path)
	if err != nil {
		t.Fatal(err)
	}
	serial = "SERIAL-B"
	_, err = g.Open(context.Background(), tgt)
	wantRefused(t, err, `serial "SERIAL-A", now "SERIAL-B"`)

	serial = "SERIAL-A"
	d, err := g.Open(context.Background(), tgt)
	if err != nil {
		t.Fatalf("unchanged drive refused: %v", err)
	}
	d.Close()
}

// The inventory's refusals (decided on fake machines in package inventory's tests)
// are the gate's: a drive held by md, one with active swap, the system disk.
func TestGateEnforcesInventoryVerdicts(t *testing.T) {
	l := loopdev.New(t, 8<<20, false, nil)
	for _, c := range []struct {
		host, name string
		words      []string
	}{
		{"sata-ahci", "sdb", []string{"in use by md0"}},
		{"sas", "sdb", []string{"active swap: /dev/sdb1"}},
		{"nvme", "nvme0n1", []string{"root filesystem"}},
		{"virtio", "vdb", []string{"mounted: /dev/dm-1 on /data", "in use by dm-1"}},
	} {
		t.Run(c.host+"/"+c.name, func(t *testing.T) {
			root, _ := sysfstest.Load(t, filepath.Join("..", "inventory", "testdata", "hosts", c.host+".txtar"))
			real, err := inventory.Lookup(context.Background(), inventory.Options{}, l.Path)
			if err != nil {
				t.Fatal(err)
			}
			g := &Gate{lookup: func(ctx context.Context, _ string) (inventory.Device, error) {
				devs, err := inventory.Scan(ctx, inventory.Options{Root: root})
				for _, d := range devs {
					if d.Name == c.name {
						d.DevNo = real.DevNo // the fake drive stands in for the loop device
						return d, err
					}
				}
				t.Fatalf("%s not in %s", c.name, c.host)
				return inventory.Device{}, err
			}}
			_, err = g.Check(context.Background(), l.Path)
			wantRefused(t, err, c.words...)
		})
	}
}

// The drive holding this machine's root filesystem is refused, for real.
func TestGateRefusesSystemDisk(t *testing.T) {
	devs, err := inventory.Scan(context.Background(), inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range devs {
		for _, u := range d.InUseBy {
			if u != inventory.UseRoot {
				continue
			}
			found = true
			_, err := (&Gate{}).Check(context.Background(), d.Path)
			wantRefused(t, err, "root filesystem")
		}
	}
	if !found {
		t.Skip("the root filesystem is not on a block device here")
	}
}

func TestGateImageFiles(t *testing.T) {
	loopdev.Require(t)
	dir := t.TempDir()
	img := filepath.Join(dir, "disk.img")
	if err := loopdev.CreateImage(img, 4<<20); err != nil {
		t.Fatal(err)
	}
	g := &Gate{}
	tgt, err := g.Check(context.Background(), img)
	if err != nil || tgt.Kind != KindFile || tgt.Size() != 4<<20 {
		t.Fatalf("image file: %+v %v", tgt, err)
	}
	d, err := g.Open(context.Background(), tgt)
	if err != nil {
		t.Fatal(err)
	}
	// A second writer is locked out.
	_, err = g.Open(context.Background(), tgt)
	wantRefused(t, err, "locked")
	d.Close()

	// Replaced by another file of the same name: refused.
	if err := loopdev.CreateImage(img+".new", 4<<20); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(img+".new", img); err != nil {
		t.Fatal(err)
	}
	_, err = g.Open(context.Background(), tgt)
	wantRefused(t, err, "inode")

	// A file backing a loop device is refused.
	l, err := loopdev.Attach(img, false)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Detach()
	_, err = g.Check(context.Background(), img)
	wantRefused(t, err, "backs loop device "+l.Path)

	// Empty files, directories and character devices are no targets.
	empty := filepath.Join(dir, "empty.img")
	os.WriteFile(empty, nil, 0o600)
	for _, p := range []string{empty, dir, "/dev/null"} {
		_, err := g.Check(context.Background(), p)
		wantRefused(t, err)
	}
	if _, err := g.Check(context.Background(), filepath.Join(dir, "missing")); !errors.Is(err, inventory.ErrNotFound) {
		t.Errorf("missing file: %v", err)
	}
}

// A partition is a target of its own: allowed when the inventory finds nothing
// against it, with a warning; refused with the inventory's reasons otherwise.
func TestGatePartitions(t *testing.T) {
	l := loopdev.New(t, 8<<20, false, nil)
	real, err := inventory.Lookup(context.Background(), inventory.Options{}, l.Path)
	if err != nil {
		t.Fatal(err)
	}
	// The loop device stands in for partition 3 of a fake drive.
	drive := func(partRefusals []string, driveUse ...string) inventory.Device {
		return inventory.Device{Path: "/dev/sdz", Name: "sdz", DevNo: "8:240", Serial: "Z1", SizeBytes: 1 << 30,
			LogicalSectorSize: 512, InUseBy: driveUse, Refusals: []string{"something else"},
			Partitions: []inventory.Partition{
				{Path: "/dev/sdz1", Number: 1, DevNo: "8:241", Size: 1 << 20},
				{Path: l.Path, Number: 3, DevNo: real.DevNo, Size: 8 << 20, Refusals: partRefusals},
			}}
	}
	check := func(d inventory.Device) (Target, error) {
		g := &Gate{lookup: func(context.Context, string) (inventory.Device, error) { return d, nil }}
		return g.Check(context.Background(), l.Path)
	}
	tgt, err := check(drive(nil, inventory.UseMounted))
	if err != nil {
		t.Fatalf("idle partition of a busy data drive: %v", err)
	}
	if tgt.Kind != KindPartition || tgt.Partition != 3 || tgt.Size() != 8<<20 || tgt.Identity.DevNo != real.DevNo ||
		tgt.Identity.Serial != "Z1" || len(tgt.Warnings) != 1 {
		t.Errorf("target %+v", tgt)
	}
	_, err = check(drive([]string{"mounted: /dev/sdz3 on /srv"}))
	wantRefused(t, err, "mounted: /dev/sdz3 on /srv")
	// The inventory refuses every partition of the system disk (see its sata-ahci
	// host); the gate passes its reasons on.
	_, err = check(drive([]string{"partition of the running system's disk /dev/sdz"}, inventory.UseRoot, inventory.UseMounted))
	wantRefused(t, err, "running system's disk")
}
