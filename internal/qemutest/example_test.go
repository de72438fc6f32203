package qemutest_test

import (
	"testing"

	"github.com/decom-project/decom/internal/qemutest"
)

// A test boots a VM with an NVMe and a SATA disk and runs decom's inventory in it.
//
// This example is compile-only: Run needs a test's t and boots QEMU (seconds of
// wall time, and the kernel cache); TestTransports runs the package for real.
func ExampleRun() {
	inventoryInVM := func(t *testing.T) {
		res := qemutest.Run(t, qemutest.Config{
			Disks: []qemutest.Disk{
				{Path: qemutest.Image(t, "nvme.img", 64<<20), Bus: qemutest.NVMe, Serial: "NV1"},
				{Path: qemutest.Image(t, "sata.img", 64<<20), Bus: qemutest.AHCI, Serial: "SA1"},
			},
			Programs: map[string]string{"/decom": "github.com/decom-project/decom/cmd/decom"},
			Command:  []string{"/decom", "inventory", "-o", "json"},
		})
		if res.ExitCode != 0 {
			t.Fatalf("decom inventory: exit code %d\n%s", res.ExitCode, res.Stderr)
		}
		t.Logf("inventory:\n%s", res.Stdout)
	}
	_ = inventoryInVM
}
