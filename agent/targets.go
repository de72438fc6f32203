package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/inventory/signature"
)

// BootMedium is a disk the agent must never wipe: the stick it booted from, or a
// medium that carries a decom image.
type BootMedium struct {
	Name   string // sdb
	DevNo  string // the whole disk's major:minor
	Reason string
}

// isoVolumePrefix starts the ISO 9660 volume identifier of decom's ISO image.
const isoVolumePrefix = "DECOM"

// FindBootMedia lists the disks below root that hold the agent's boot medium: every
// disk with a partition labelled DECOM-DATA (data, as FindPartitions found them) or
// DECOM-ESP, and every disk that carries an ISO 9660 filesystem whose volume identifier
// starts with DECOM (an ISO image presented as a disk by virtual media, or written to a
// stick). Optical drives are not listed: the inventory never lets decom overwrite them.
func FindBootMedia(root string, data []Partition) []BootMedium {
	var out []BootMedium
	seen := map[string]bool{}
	esp, _ := FindPartitions(root, ESPLabel)
	for _, p := range append(append([]Partition(nil), data...), esp...) {
		if seen[p.DiskDevNo] || p.DiskDevNo == "" {
			continue
		}
		seen[p.DiskDevNo] = true
		label := DataLabel
		if slices.Contains(esp, p) {
			label = ESPLabel
		}
		out = append(out, BootMedium{Name: p.Disk, DevNo: p.DiskDevNo,
			Reason: fmt.Sprintf("boot medium: holds the %s partition (/dev/%s)", label, p.Name)})
	}
	sysBlock := filepath.Join(root, "sys", "block")
	disks, _ := os.ReadDir(sysBlock)
	for _, d := range disks {
		name := d.Name()
		if skipDisk(name) {
			continue
		}
		devNo := readAttr(filepath.Join(sysBlock, name, "dev"))
		if devNo == "" || seen[devNo] {
			continue
		}
		fs, err := probeFilesystem(root, name)
		if err != nil {
			continue
		}
		if fs.Type == signature.ISO9660 && strings.HasPrefix(strings.ToUpper(fs.Label), isoVolumePrefix) {
			seen[devNo] = true
			out = append(out, BootMedium{Name: name, DevNo: devNo,
				Reason: fmt.Sprintf("boot medium: carries the decom ISO image (volume %q)", fs.Label)})
		}
	}
	return out
}

// Skipped is a drive the agent does not wipe, and why.
type Skipped struct {
	Device inventory.Device
	Reason string
}

// Targets splits the inventory into the drives auto mode wipes and those it leaves:
// a drive is a target when the inventory says it is wipeable, it is not one of the boot
// media (compared by device number, the drive's or any of its partitions'), and it is
// a drive of the machine rather than a virtual device (inventory.ClassVirtual: loop, RAM
// disk, zram, nbd, dm, md). Both lists keep the inventory's order.
func Targets(devices []inventory.Device, boot []BootMedium) (targets []inventory.Device, skipped []Skipped) {
	for _, d := range devices {
		if why := bootReason(d, boot); why != "" {
			skipped = append(skipped, Skipped{d, why})
			continue
		}
		if d.Class == inventory.ClassVirtual {
			skipped = append(skipped, Skipped{d, "not a drive of this machine (" + d.Name + ")"})
			continue
		}
		if !d.Wipeable {
			why := strings.Join(d.Refusals, "; ")
			if why == "" {
				why = "the inventory says it may not be wiped"
			}
			skipped = append(skipped, Skipped{d, why})
			continue
		}
		targets = append(targets, d)
	}
	return targets, skipped
}

// bootReason is why d is a boot medium, "" when it is not one.
func bootReason(d inventory.Device, boot []BootMedium) string {
	for _, b := range boot {
		if b.DevNo == "" {
			continue
		}
		if d.DevNo == b.DevNo || slices.ContainsFunc(d.Partitions, func(p inventory.Partition) bool { return p.DevNo == b.DevNo }) {
			return b.Reason
		}
	}
	return ""
}
