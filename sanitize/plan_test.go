package sanitize

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/decom-project/decom/inventory"
)

// --all takes physical, non-removable, wipeable drives; --include-removable adds the
// removable ones; everything else is left out with why.
func TestForAll(t *testing.T) {
	dev := func(path, class, classWhy string, refusals ...string) inventory.Device {
		return inventory.Device{Path: path, Class: class, ClassReason: classWhy,
			Wipeable: len(refusals) == 0, Refusals: refusals}
	}
	devs := []inventory.Device{
		dev("/dev/nvme0n1", inventory.ClassFixed, ""),
		dev("/dev/sda", inventory.ClassFixed, "", "holds the running system's root filesystem (/ on /dev/sda2)"),
		dev("/dev/vdb", inventory.ClassFixed, ""),
		dev("/dev/sdb", inventory.ClassRemovable, "USB-attached drive"),
		dev("/dev/mmcblk1", inventory.ClassRemovable, "SD card", "read-only device"),
		dev("/dev/loop0", inventory.ClassVirtual, "loop device"),
		dev("/dev/loop1", inventory.ClassVirtual, "loop device", "sits on /dev/loop0, which is mounted on /mnt"),
		dev("/dev/zram0", inventory.ClassVirtual, "compressed RAM disk (zram)"),
		dev("/dev/nbd0", inventory.ClassVirtual, "network block device"),
		{Path: "/dev/sdz", Class: inventory.ClassFixed}, // refused without a reason
	}
	for _, c := range []struct {
		removable bool
		take      []string
		left      []LeftOut
	}{
		{false, []string{"/dev/nvme0n1", "/dev/vdb"}, []LeftOut{
			{"/dev/sda", "fixed", []string{"holds the running system's root filesystem (/ on /dev/sda2)"}},
			{"/dev/sdb", "removable", []string{"USB-attached drive: removable (add --include-removable to take it)"}},
			{"/dev/mmcblk1", "removable", []string{"SD card: removable (add --include-removable to take it)", "read-only device"}},
			{"/dev/loop0", "virtual", []string{"loop device: not a physical drive"}},
			{"/dev/loop1", "virtual", []string{"loop device: not a physical drive", "sits on /dev/loop0, which is mounted on /mnt"}},
			{"/dev/zram0", "virtual", []string{"compressed RAM disk (zram): not a physical drive"}},
			{"/dev/nbd0", "virtual", []string{"network block device: not a physical drive"}},
			{"/dev/sdz", "fixed", []string{"the inventory says it may not be wiped"}},
		}},
		{true, []string{"/dev/nvme0n1", "/dev/vdb", "/dev/sdb"}, []LeftOut{
			{"/dev/sda", "fixed", []string{"holds the running system's root filesystem (/ on /dev/sda2)"}},
			{"/dev/mmcblk1", "removable", []string{"read-only device"}},
			{"/dev/loop0", "virtual", []string{"loop device: not a physical drive"}},
			{"/dev/loop1", "virtual", []string{"loop device: not a physical drive", "sits on /dev/loop0, which is mounted on /mnt"}},
			{"/dev/zram0", "virtual", []string{"compressed RAM disk (zram): not a physical drive"}},
			{"/dev/nbd0", "virtual", []string{"network block device: not a physical drive"}},
			{"/dev/sdz", "fixed", []string{"the inventory says it may not be wiped"}},
		}},
	} {
		take, left := forAll(devs, c.removable)
		if !reflect.DeepEqual(take, c.take) {
			t.Errorf("include removable %v: takes %q, want %q", c.removable, take, c.take)
		}
		if !reflect.DeepEqual(left, c.left) {
			t.Errorf("include removable %v: leaves out\n%q\nwant\n%q", c.removable, left, c.left)
		}
	}
}

// TestPlanMethod: the front ends' dry run gives one plan per path, in order, and
// writes nothing; a path that is no target is an error.
func TestPlanMethod(t *testing.T) {
	a, b := image(t, "a.img", 1<<20), image(t, "b.img", 2<<20)
	plans, err := PlanMethod(context.Background(), Options{}, method(t, "zero"), []string{b, a}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(plans) != 2 || plans[0].Target.Path != b || plans[1].Target.Path != a ||
		plans[0].Refusal != nil || plans[0].Target.Size() != 2<<20 {
		t.Fatalf("plans %+v", plans)
	}
	for _, p := range []string{a, b} {
		got, err := os.ReadFile(p)
		if err != nil || bytes.Count(got, []byte{0xa5}) != len(got) {
			t.Errorf("the dry run changed %s (%v)", p, err)
		}
	}
	missing := filepath.Join(t.TempDir(), "no-such.img")
	if _, err := PlanMethod(context.Background(), Options{}, method(t, "zero"), []string{a, missing}, nil); err == nil {
		t.Error("a path that does not exist: no error")
	}
	if plans, err := PlanMethod(context.Background(), Options{}, method(t, "zero"), nil, nil); plans != nil || err != nil {
		t.Errorf("no paths: %v, %v", plans, err)
	}
}
