package inventory

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/diskfs/go-diskfs/partition/gpt"

	"github.com/decom-project/decom/internal/loopdev"
)

// TestScanLoopDevices scans this machine with loop devices the test made itself:
// an idle ext4 drive, a mounted one, and a GPT drive with ext4 in a partition.
func TestScanLoopDevices(t *testing.T) {
	loopdev.Require(t, "mkfs.ext4")
	const size = 64 << 20
	idle := loopdev.New(t, size, false, nil)
	mustMkfs(t, idle, 0)
	mounted := loopdev.New(t, size, false, nil)
	mustMkfs(t, mounted, 0)
	mnt, err := mounted.Mount(0)
	if err != nil {
		t.Fatal(err)
	}
	parted := loopdev.New(t, size, true, func(image string) error {
		writeGPT(t, image, size,
			&gpt.Partition{Index: 1, Start: 2048, End: 10239, Type: espGUID, Name: "EFI system"},
			&gpt.Partition{Index: 2, Start: 10240, End: 129023, Type: linuxFSGUID, Name: "data"},
		)
		// ext4 straight into partition 2 of the image: the test does not depend on
		// the kernel creating partition devices.
		out, err := exec.Command("mkfs.ext4", "-q", "-F", "-E", "offset=5242880", image, "58M").CombinedOutput()
		if err != nil {
			return fmt.Errorf("mkfs.ext4 in partition 2: %v: %s", err, out)
		}
		return nil
	})

	devs, err := Scan(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	find := func(path string) Device {
		t.Helper()
		i := slices.IndexFunc(devs, func(d Device) bool { return d.Path == path })
		if i < 0 {
			t.Fatalf("%s not in the inventory", path)
		}
		return devs[i]
	}

	d := find(idle.Path)
	if !d.Wipeable || len(d.Refusals) != 0 || len(d.InUseBy) != 0 {
		t.Errorf("idle drive: wipeable=%v refusals=%q in_use_by=%q", d.Wipeable, d.Refusals, d.InUseBy)
	}
	if d.Filesystem != "ext4" || d.PartitionTable != TableNone {
		t.Errorf("idle drive: filesystem %q table %q, want ext4 on no table", d.Filesystem, d.PartitionTable)
	}
	if d.Transport != TransportLoop || d.Media != MediaVirtual || d.SizeBytes != size || d.BackingFile != idle.Backing {
		t.Errorf("idle drive: transport %q media %q size %d backing %q", d.Transport, d.Media, d.SizeBytes, d.BackingFile)
	}
	if d.LogicalSectorSize != 512 || d.DevNo == "" {
		t.Errorf("idle drive: logical sector %d devno %q", d.LogicalSectorSize, d.DevNo)
	}

	d = find(mounted.Path)
	if d.Wipeable || !slices.Equal(d.InUseBy, []string{UseMounted}) {
		t.Errorf("mounted drive: wipeable=%v in_use_by=%q", d.Wipeable, d.InUseBy)
	}
	if len(d.Mounts) != 1 || d.Mounts[0].MountPoint != mnt || d.Mounts[0].FSType != "ext4" {
		t.Errorf("mounted drive: mounts %+v, want one on %s", d.Mounts, mnt)
	}
	if len(d.Refusals) == 0 || !strings.Contains(d.Refusals[0], mnt) {
		t.Errorf("mounted drive: refusals %q should name %s", d.Refusals, mnt)
	}

	d = find(parted.Path)
	if !d.Wipeable || d.PartitionTable != TableGPT || len(d.Partitions) != 2 {
		t.Fatalf("partitioned drive: wipeable=%v table %q partitions %+v", d.Wipeable, d.PartitionTable, d.Partitions)
	}
	// Some kernels (this CI host's among them) are built without partition table
	// support: the partitions are then listed from the table alone, without a device.
	kernelParts := fileExists(fmt.Sprintf("/sys/block/%[1]s/%[1]sp2", parted.Name()))
	wantPath := func(n int) string {
		if kernelParts {
			return parted.PartitionPath(n)
		}
		return ""
	}
	p1, p2 := d.Partitions[0], d.Partitions[1]
	if p1.Number != 1 || p1.Path != wantPath(1) || p1.Start != 2048*512 || p1.Size != 8192*512 ||
		p1.Type != espGUID || p1.Label != "EFI system" || p1.Filesystem != "" {
		t.Errorf("partition 1: %+v", p1)
	}
	if p2.Number != 2 || p2.Path != wantPath(2) || p2.Start != 10240*512 || p2.Size != 118784*512 ||
		p2.Type != linuxFSGUID || p2.Label != "data" || p2.Filesystem != "ext4" {
		t.Errorf("partition 2: %+v", p2)
	}
	if !kernelParts {
		return
	}
	// With kernel partitions, a mounted partition makes the whole drive busy, and
	// Lookup by the partition describes the whole drive.
	pmnt, err := parted.Mount(2)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Lookup(context.Background(), Options{}, parted.PartitionPath(2))
	if err != nil {
		t.Fatal(err)
	}
	if got.Path != parted.Path || got.Wipeable || !slices.Equal(got.InUseBy, []string{UseMounted}) ||
		len(got.Mounts) != 1 || got.Mounts[0].Device != parted.PartitionPath(2) || got.Mounts[0].MountPoint != pmnt {
		t.Errorf("Lookup(partition) = %s wipeable=%v in_use_by=%q mounts=%+v", got.Path, got.Wipeable, got.InUseBy, got.Mounts)
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestScanRefusesSystemDisk checks that the drive holding this machine's root
// filesystem is never wipeable.
func TestScanRefusesSystemDisk(t *testing.T) {
	rootDev, err := fileDevNo("/")
	if err != nil {
		t.Fatal(err)
	}
	s := sysfs{root: "/"}
	ns := s.nodes()
	n, ok := ns.byDevNo[rootDev]
	if !ok {
		t.Skipf("the root filesystem (device %s) is not on a block device here", rootDev)
	}
	devs, err := Scan(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	under := ns.stack(n.name)
	found := 0
	for _, d := range devs {
		if !under[d.Name] {
			continue
		}
		found++
		if d.Wipeable || !slices.Contains(d.InUseBy, UseRoot) {
			t.Errorf("%s holds / but wipeable=%v in_use_by=%q", d.Path, d.Wipeable, d.InUseBy)
		}
		if !strings.Contains(strings.Join(d.Refusals, "; "), "root filesystem") {
			t.Errorf("%s: refusals %q do not mention the root filesystem", d.Path, d.Refusals)
		}
	}
	if found == 0 {
		t.Errorf("no listed drive holds the root filesystem (%s = %s)", rootDev, n.name)
	}
}

func TestLookupErrors(t *testing.T) {
	ctx := context.Background()
	plain := t.TempDir() + "/plain"
	if err := os.WriteFile(plain, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]error{
		"/dev/decom-no-such-device": ErrNotFound,
		"/dev/null":                 ErrNotBlockDevice,
		plain:                       ErrNotBlockDevice,
		t.TempDir():                 ErrNotBlockDevice,
	} {
		_, err := Lookup(ctx, Options{}, path)
		if !errors.Is(err, want) {
			t.Errorf("Lookup(%s) = %v, want %v", path, err, want)
		}
		if err != nil && !strings.HasPrefix(err.Error(), path+": ") {
			t.Errorf("Lookup(%s) error %q does not start with the path", path, err)
		}
	}
}

// An unattached loop device node exists but holds nothing.
func TestLookupUnattachedLoop(t *testing.T) {
	loopdev.Require(t)
	out, err := exec.Command("losetup", "--find").Output()
	if err != nil {
		t.Fatal(err)
	}
	free := strings.TrimSpace(string(out))
	_, err = Lookup(context.Background(), Options{}, free)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "no backing file") {
		t.Errorf("Lookup(%s) = %v, want a not-found error about the missing backing file", free, err)
	}
}

func mustMkfs(t *testing.T, l *loopdev.Loop, part int) {
	t.Helper()
	if err := l.MkFS("ext4", part); err != nil {
		t.Fatal(err)
	}
}
