package agent

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/decom-project/decom/inventory"
)

func TestFindBootMedia(t *testing.T) {
	root := machine(t)
	data, err := FindPartitions(root, DataLabel)
	if err != nil {
		t.Fatal(err)
	}
	got := FindBootMedia(root, data)
	var names, devnos []string
	for _, b := range got {
		names = append(names, b.Name)
		devnos = append(devnos, b.DevNo)
	}
	// sda holds DECOM-DATA and DECOM-ESP (once), sdc a DECOM-DATA by FAT label, vda the ISO.
	if want := []string{"sda", "sdc", "vda"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("boot media %v (%+v), want %v", names, got, want)
	}
	if want := []string{"8:0", "8:32", "254:0"}; !reflect.DeepEqual(devnos, want) {
		t.Errorf("device numbers %v, want %v", devnos, want)
	}
	if !strings.Contains(got[0].Reason, "DECOM-DATA partition (/dev/sda2)") || !strings.Contains(got[2].Reason, `volume "DECOM"`) {
		t.Errorf("reasons: %q, %q", got[0].Reason, got[2].Reason)
	}
	// Without the data partitions, the stick's ESP still marks it.
	got = FindBootMedia(root, nil)
	if len(got) != 2 || got[0].Name != "sda" || !strings.Contains(got[0].Reason, "DECOM-ESP") {
		t.Errorf("boot media without data partitions: %+v", got)
	}
}

// TestTargets runs the real inventory on the fake machine. The stick is wipeable as far
// as the inventory knows (nothing is mounted): only the explicit exclusion keeps it, the
// hand-made stick and the ISO disk out.
func TestTargets(t *testing.T) {
	root := machine(t)
	devs, err := inventory.Scan(context.Background(), inventory.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		if d.Name == "sda" && !d.Wipeable {
			t.Fatalf("the fixture's stick is not wipeable for the inventory (%q): the test proves nothing", d.Refusals)
		}
	}
	data, _ := FindPartitions(root, DataLabel)
	targets, skipped := Targets(devs, FindBootMedia(root, data))
	var tn []string
	for _, d := range targets {
		tn = append(tn, d.Name)
	}
	if want := []string{"nvme0n1", "sdb", "vdb"}; !reflect.DeepEqual(tn, want) {
		t.Errorf("targets %v, want %v", tn, want)
	}
	why := map[string]string{}
	for _, s := range skipped {
		why[s.Device.Name] = s.Reason
	}
	for name, want := range map[string]string{"sda": "boot medium", "sdc": "boot medium", "vda": "decom ISO", "sr0": "optical"} {
		if !strings.Contains(why[name], want) {
			t.Errorf("%s skipped for %q, want %q", name, why[name], want)
		}
	}

	// With /data mounted the inventory refuses the stick too; it stays out either way.
	mi := filepath.Join(root, "proc", "self", "mountinfo")
	f, err := os.OpenFile(mi, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("30 1 8:2 / /data rw,noatime - vfat /dev/sda2 rw\n")
	f.Close()
	devs, err = inventory.Scan(context.Background(), inventory.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		if d.Name == "sda" && d.Wipeable {
			t.Errorf("sda with /data mounted: wipeable for the inventory")
		}
	}
	targets, _ = Targets(devs, FindBootMedia(root, data))
	for _, d := range targets {
		if d.Name == "sda" {
			t.Errorf("sda is a target")
		}
	}
}

// The exclusion compares device numbers: a boot medium known by a partition's number
// excludes its drive, whatever the names say.
func TestTargetsByDevNo(t *testing.T) {
	devs := []inventory.Device{
		{Name: "sdx", Path: "/dev/sdx", DevNo: "8:0", Wipeable: true, Partitions: []inventory.Partition{{DevNo: "8:2"}}},
		{Name: "sdy", Path: "/dev/sdy", DevNo: "8:16", Wipeable: true},
		{Name: "sdz", Path: "/dev/sdz", DevNo: "8:32", Wipeable: false, Refusals: []string{"read-only device"}},
		{Name: "loop0", Path: "/dev/loop0", DevNo: "7:0", Wipeable: true, Transport: inventory.TransportLoop,
			Class: inventory.ClassVirtual}, // as the inventory classes them
		{Name: "zram0", Path: "/dev/zram0", DevNo: "252:0", Wipeable: true, Class: inventory.ClassVirtual},
	}
	targets, skipped := Targets(devs, []BootMedium{{Name: "renamed", DevNo: "8:2", Reason: "boot medium: test"}, {Name: "empty"}})
	if len(targets) != 1 || targets[0].Name != "sdy" {
		t.Errorf("targets %+v", targets)
	}
	want := []string{"boot medium: test", "read-only device", "not a drive of this machine (loop0)", "not a drive of this machine (zram0)"}
	for i, s := range skipped {
		if i >= len(want) || s.Reason != want[i] {
			t.Errorf("skipped[%d] = %q", i, s.Reason)
		}
	}
}
