// Command guestfw runs inside a QEMU guest for TestQEMUFirmwareRefusals: it sends decom's
// firmware executors and a raw ATA command to QEMU's emulated NVMe, AHCI and virtio-scsi
// disks, none of which can sanitize, and prints what each attempt came to as JSON.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/decom-project/decom/internal/ata"
	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/wipe"
)

// attempt is one executor call's outcome.
type attempt struct {
	Completed bool     `json:"completed"`
	Error     string   `json:"error"`
	Commands  []string `json:"commands"`
}

func main() {
	out := map[string]attempt{}
	ctx := context.Background()
	opts := wipe.FirmwareOptions{PollInterval: 50 * time.Millisecond, StallTimeout: 5 * time.Second}
	run := func(name string, d wipe.DriveCommands, tech wipe.Technique) {
		r := wipe.Sanitize(ctx, d, tech, opts)
		out[name] = attempt{Completed: r.Completed, Error: r.Error, Commands: r.Commands}
	}

	sata, scsi := findSD("ATA"), findSD("QEMU")
	// The gate's own check, as decom wipe makes it: the plan from the inventory, the
	// disk opened for writing, its identity read through that descriptor. Nothing is
	// written.
	for name, path := range map[string]string{"identity-nvme": "/dev/nvme0n1", "identity-sata": sata, "identity-scsi": scsi} {
		out[name] = gateIdentity(ctx, path)
	}

	nv, err := devio.OpenNVMe("/dev/nvme0n1")
	if err != nil {
		fail(err)
	}
	nvDrive := wipe.DriveCommands{Path: "/dev/nvme0n1", NVMe: nv, NSID: 1, Size: 32 << 20}
	run("nvme-sanitize-block", nvDrive, wipe.TechNVMeSanitizeBlock)
	run("nvme-sanitize-crypto", nvDrive, wipe.TechNVMeSanitizeCrypto)
	run("nvme-format-crypto", nvDrive, wipe.TechNVMeFormatCrypto)

	sg, err := devio.OpenSCSI(sata)
	if err != nil {
		fail(err)
	}
	sataDrive := wipe.DriveCommands{Path: sata, SCSI: sg, Size: 32 << 20}
	run("ata-sanitize-block", sataDrive, wipe.TechATASanitizeBlock)
	run("ata-security-erase", sataDrive, wipe.TechATASecurityErase)
	// The drive's own abort: QEMU's ATA disk does not know SANITIZE DEVICE.
	_, err = ata.Exec(sg, ata.SanitizeStatusExt(), nil, devio.DirNone, 10*time.Second)
	out["ata-raw-sanitize-status"] = attempt{Completed: err == nil, Error: errText(err),
		Commands: []string{fmt.Sprintf("aborted=%v", errors.Is(err, ata.ErrAborted))}}
	before, after, err := wipe.RemoveHPA(sataDrive)
	out["ata-remove-hpa"] = attempt{Error: errText(err), Completed: before == after && !before.Supported && before.HiddenSectors == 0,
		Commands: []string{fmt.Sprintf("max_lba=%d", after.CurrentMaxLBA)}}

	ss, err := devio.OpenSCSI(scsi)
	if err != nil {
		fail(err)
	}
	run("scsi-sanitize-block", wipe.DriveCommands{Path: scsi, SCSI: ss, Size: 32 << 20}, wipe.TechSCSISanitizeBlock)

	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fail(err)
	}
}

// gateIdentity plans path and opens it through the safety gate, and says how the
// gate confirmed the disk's identity and what the inventory planned with.
func gateIdentity(ctx context.Context, path string) attempt {
	g := &wipe.Gate{}
	t, err := g.Check(ctx, path)
	if err != nil {
		return attempt{Error: err.Error()}
	}
	d, err := g.Open(ctx, t)
	if err != nil {
		return attempt{Error: err.Error()}
	}
	id := d.Target.Identity
	if err := d.Close(); err != nil {
		return attempt{Error: err.Error()}
	}
	return attempt{Completed: true, Commands: []string{"confirmed_by=" + id.ConfirmedBy, "confirmed=" + strings.Join(id.Confirmed, ","),
		"serial=" + t.Identity.Serial, "wwn=" + t.Identity.WWN}}
}

// findSD returns the /dev/sdX whose SCSI vendor is vendor ("ATA" for libata disks).
func findSD(vendor string) string {
	paths, _ := filepath.Glob("/sys/block/sd*/device/vendor")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err == nil && strings.TrimSpace(string(b)) == vendor {
			return "/dev/" + filepath.Base(filepath.Dir(filepath.Dir(p)))
		}
	}
	fail(fmt.Errorf("no disk of vendor %s", vendor))
	return ""
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "guestfw:", err)
	os.Exit(1)
}
