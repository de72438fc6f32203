package agent

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/decom-project/decom/internal/sysfstest"
	"github.com/decom-project/decom/inventory"
)

// machine materialises testdata/machine.txtar and gives its devices content: every
// disk and partition a node of its size in /dev (sparse), sdb1 a FAT filesystem
// labelled OTHER, sdc1 one labelled decom-data, vda decom's ISO volume descriptor.
func machine(t testing.TB) string {
	t.Helper()
	root, _ := sysfstest.Load(t, "testdata/machine.txtar")
	nodes := map[string]int64{"sda": 512 << 20, "sda1": 64 << 20, "sda2": 256 << 20, "sdb": 1 << 30, "sdb1": 1 << 30,
		"sdc": 512 << 20, "sdc1": 511 << 20, "vda": 512 << 20, "vdb": 512 << 20, "nvme0n1": 1 << 30, "sr0": 0}
	for name, n := range nodes {
		p := filepath.Join(root, "dev", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, n); err != nil {
			t.Fatal(err)
		}
	}
	writeAt(t, filepath.Join(root, "dev", "sdb1"), 0, fat16BootSector("OTHER"))
	writeAt(t, filepath.Join(root, "dev", "sdc1"), 0, fat16BootSector("decom-data"))
	writeAt(t, filepath.Join(root, "dev", "vda"), isoVolumeDescriptorOffset, isoDescriptor("DECOM"))
	return root
}

func writeAt(t testing.TB, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func mustScan(t testing.TB, root string) []inventory.Device {
	t.Helper()
	devs, err := inventory.Scan(context.Background(), inventory.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	return devs
}
