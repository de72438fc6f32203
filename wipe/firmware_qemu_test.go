package wipe

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/decom-project/decom/internal/qemutest"
)

// TestQEMUFirmwareRefusals sends the firmware executors to QEMU's emulated drives, through
// the real SG_IO and NVMe ioctls, where none can do what is asked: QEMU's NVMe controller
// has no Sanitize and no crypto erase, its ATA disk neither SANITIZE nor the security
// feature set (and aborts SANITIZE STATUS EXT), its SCSI disk no SANITIZE. Each attempt
// must end in a clear refusal, and the disks must hold exactly what they held before.
func TestQEMUFirmwareRefusals(t *testing.T) {
	qemutest.Require(t)
	const size = 32 << 20
	disk := func(name string) (string, []byte) {
		data := make([]byte, size)
		rand.Read(data)
		p := qemutest.Image(t, name, size)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p, data
	}
	nvImg, nvData := disk("nvme.img")
	sataImg, sataData := disk("sata.img")
	scsiImg, scsiData := disk("scsi.img")
	res := qemutest.Run(t, qemutest.Config{
		Disks: []qemutest.Disk{
			{Path: nvImg, Bus: qemutest.NVMe, Serial: "FWNVME"},
			{Path: sataImg, Bus: qemutest.AHCI, Serial: "FWSATA"},
			{Path: scsiImg, Bus: qemutest.VirtioSCSI, Serial: "FWSCSI"},
		},
		Programs: map[string]string{"/guestfw": "./testdata/guestfw"},
		Command:  []string{"/guestfw"},
	})
	if res.ExitCode != 0 {
		t.Fatalf("guestfw: exit %d\n%s\n%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	var got map[string]struct {
		Completed bool     `json:"completed"`
		Error     string   `json:"error"`
		Commands  []string `json:"commands"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &got); err != nil {
		t.Fatalf("guestfw output: %v\n%s", err, res.Stdout)
	}
	for name, want := range map[string]string{
		"nvme-sanitize-block":     "sanitize",
		"nvme-sanitize-crypto":    "sanitize",
		"nvme-format-crypto":      "crypto",
		"ata-sanitize-block":      "sanitize",
		"ata-security-erase":      "security",
		"ata-raw-sanitize-status": "abort",
		"scsi-sanitize-block":     "SANITIZE",
	} {
		a, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s: no result", name)
		case a.Completed:
			t.Errorf("%s: completed on a drive that cannot do it: %+v", name, a)
		case !strings.Contains(strings.ToLower(a.Error), strings.ToLower(want)):
			t.Errorf("%s: error %q does not mention %q", name, a.Error, want)
		default:
			t.Logf("%s: %s (commands: %s)", name, a.Error, strings.Join(a.Commands, ", "))
		}
	}
	if a := got["ata-raw-sanitize-status"]; len(a.Commands) != 1 || a.Commands[0] != "aborted=true" {
		t.Errorf("SANITIZE STATUS EXT on QEMU's ATA disk: %+v; want the drive's ABRT", a)
	}
	// QEMU's ATA disk has no HPA feature set: removing one is a no-op that says so, and
	// reports the disk's real last sector.
	if a := got["ata-remove-hpa"]; a.Error != "" || !a.Completed || len(a.Commands) != 1 || a.Commands[0] != fmt.Sprintf("max_lba=%d", size/512-1) {
		t.Errorf("RemoveHPA on QEMU's ATA disk: %+v; want no error, nothing hidden, max LBA %d", a, size/512-1)
	}
	// The gate opened each disk and read its identity through the descriptor: the same
	// serial (and WWN, where the inventory found one) as the inventory's, by the disk's
	// own identify command.
	for name, want := range map[string]struct{ by, serial string }{
		"identity-nvme": {ConfirmedByNVMe, "FWNVME"},
		"identity-sata": {ConfirmedByATA, "FWSATA"},
		"identity-scsi": {ConfirmedBySCSI, "FWSCSI"},
	} {
		a := got[name]
		fields := map[string]string{}
		for _, c := range a.Commands {
			k, v, _ := strings.Cut(c, "=")
			fields[k] = v
		}
		confirmed := strings.Split(fields["confirmed"], ",")
		switch {
		case !a.Completed:
			t.Errorf("%s: the gate did not open the disk: %s", name, a.Error)
		case fields["confirmed_by"] != want.by || fields["serial"] != want.serial || !slices.Contains(confirmed, "serial"):
			t.Errorf("%s: %q; want confirmed by %s, serial %s compared", name, a.Commands, want.by, want.serial)
		case fields["wwn"] != "" && !slices.Contains(confirmed, "WWN"):
			t.Errorf("%s: the inventory's WWN %q was not compared: %q", name, fields["wwn"], a.Commands)
		default:
			t.Logf("%s: %s", name, strings.Join(a.Commands, "; "))
		}
	}
	for _, d := range []struct {
		path string
		data []byte
	}{{nvImg, nvData}, {sataImg, sataData}, {scsiImg, scsiData}} {
		now, err := os.ReadFile(d.path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(now, d.data) {
			t.Errorf("%s changed although every sanitize was refused", d.path)
		}
	}
}
