package main

import (
	"encoding/json"
	"testing"

	"github.com/decom-project/decom/internal/qemutest"
	"github.com/decom-project/decom/inventory"
)

// guestDevice finds the device with serial in a decom inventory JSON listing.
func guestDevice(t *testing.T, listing, serial string) inventory.Device {
	t.Helper()
	var inv struct {
		Devices []inventory.Device `json:"devices"`
	}
	if err := json.Unmarshal([]byte(listing), &inv); err != nil {
		t.Fatalf("inventory output: %v\n%s", err, listing)
	}
	for _, d := range inv.Devices {
		if d.Serial == serial {
			return d
		}
	}
	t.Fatalf("no device with serial %s in the guest's inventory:\n%s", serial, listing)
	return inventory.Device{}
}

// TestQEMUInventoryFirmware runs decom inventory in a QEMU guest with an emulated NVMe,
// SATA (AHCI) and virtio-scsi disk, and checks what their firmware says through the real
// ioctls: QEMU's NVMe controller formats (user-data erase) and has no sanitize; its ATA
// disk has neither security erase nor sanitize; its SCSI disk has no SANITIZE.
func TestQEMUInventoryFirmware(t *testing.T) {
	qemutest.Require(t)
	steps, _ := qemutest.RunSteps(t, qemutest.Config{
		Disks: []qemutest.Disk{
			{Path: qemutest.Image(t, "nvme.img", 64<<20), Bus: qemutest.NVMe, Serial: "INVNVME1"},
			{Path: qemutest.Image(t, "sata.img", 64<<20), Bus: qemutest.AHCI, Serial: "INVSATA1"},
			{Path: qemutest.Image(t, "scsi.img", 64<<20), Bus: qemutest.VirtioSCSI, Serial: "INVSCSI1"},
		},
		Programs: map[string]string{"/decom": "github.com/decom-project/decom/cmd/decom"},
	}, []qemutest.Step{{Argv: []string{"/decom", "inventory", "-o", "json"}}})
	if steps[0].Exit != 0 {
		t.Fatalf("decom inventory: exit %d\n%s", steps[0].Exit, steps[0].Stdout)
	}
	out := steps[0].Stdout

	nv := guestDevice(t, out, "INVNVME1")
	c := nv.Capabilities
	if c == nil || !c.Probed || c.NVMeFormat == nil || !c.NVMeFormat.UserDataErase || c.NVMeSanitize != nil {
		t.Errorf("NVMe capabilities: %+v; want probed, format with user-data erase, no sanitize", c)
	}
	if nv.Transport != inventory.TransportNVMe || nv.HiddenAreas() != "none" {
		t.Errorf("NVMe: transport %s, hidden areas %q", nv.Transport, nv.HiddenAreas())
	}

	sata := guestDevice(t, out, "INVSATA1")
	if c := sata.Capabilities; c == nil || !c.Probed || c.ATASanitize != nil || c.NVMeFormat != nil {
		t.Errorf("SATA capabilities: %+v; want probed through ATA PASS-THROUGH, no sanitize", c)
	}
	if sata.SecurityState == nil {
		t.Errorf("SATA: no ATA security state read")
	}
	t.Logf("SATA: transport %s, media %s, security %+v, hpa %+v, dco %+v, hidden areas %q",
		sata.Transport, sata.Media, sata.SecurityState, sata.HPA, sata.DCO, sata.HiddenAreas())

	scsi := guestDevice(t, out, "INVSCSI1")
	if c := scsi.Capabilities; c == nil || !c.Probed || c.SCSISanitize != nil || c.ATASanitize != nil {
		t.Errorf("SCSI capabilities: %+v; want probed, no SANITIZE", c)
	}
	t.Logf("SCSI: transport %s, media %s", scsi.Transport, scsi.Media)
}
