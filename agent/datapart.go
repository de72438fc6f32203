package agent

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/decom-project/decom/inventory/signature"
)

// Labels of the USB image's partitions: each is both the GPT partition name and the FAT
// volume label.
const (
	DataLabel = "DECOM-DATA" // certificates, logs and config.yaml
	ESPLabel  = "DECOM-ESP"  // the EFI System Partition the machine boots from
)

// Partition is a partition (or an unpartitioned disk) found by its label.
type Partition struct {
	// Name is the kernel's name of the partition (sdb2); Disk that of the whole disk
	// that holds it (sdb), the same as Name for an unpartitioned disk.
	Name string
	Disk string
	// DevNo and DiskDevNo are their major:minor numbers.
	DevNo     string
	DiskDevNo string
	// Source says where the label was found: "GPT partition name" or "FAT label".
	Source string
}

// Device is the partition's node, below root.
func (p Partition) Device() string { return "/dev/" + p.Name }

// FindPartitions lists every partition labelled label, looking below root at /sys/block
// (GPT partition names from each partition's uevent PARTNAME) and reading each other
// partition, and each disk without partitions, from /dev for a FAT filesystem with that
// label (inventory's signature reader, as blkid reads it). Labels are compared without
// regard to case. Partitions that cannot be read are passed over. The result is sorted by name; more than one data
// partition means more than one decom stick is plugged in.
func FindPartitions(root, label string) ([]Partition, error) {
	sysBlock := filepath.Join(root, "sys", "block")
	disks, err := os.ReadDir(sysBlock)
	if err != nil {
		return nil, fmt.Errorf("finding the %s partition: %w", label, err)
	}
	var found []Partition
	for _, d := range disks {
		disk := d.Name()
		if skipDisk(disk) {
			continue
		}
		dir := filepath.Join(sysBlock, disk)
		diskDevNo := readAttr(filepath.Join(dir, "dev"))
		entries, _ := os.ReadDir(dir)
		parts := 0
		for _, e := range entries {
			pdir := filepath.Join(dir, e.Name())
			if _, err := os.Stat(filepath.Join(pdir, "partition")); err != nil {
				continue
			}
			parts++
			p := Partition{Name: e.Name(), Disk: disk, DevNo: readAttr(filepath.Join(pdir, "dev")), DiskDevNo: diskDevNo}
			if strings.EqualFold(uevent(filepath.Join(pdir, "uevent"))["PARTNAME"], label) {
				p.Source = "GPT partition name"
			} else if fatLabelled(root, p.Name, label) {
				p.Source = "FAT label"
			} else {
				continue
			}
			found = append(found, p)
		}
		if parts == 0 {
			if fatLabelled(root, disk, label) {
				found = append(found, Partition{Name: disk, Disk: disk, DevNo: diskDevNo, DiskDevNo: diskDevNo, Source: "FAT label"})
			}
		}
	}
	slices.SortFunc(found, func(a, b Partition) int { return strings.Compare(a.Name, b.Name) })
	return found, nil
}

// skipDisk passes over block devices that cannot be a stick: RAM disks, loop devices
// and optical drives (an ISO boot has no data partition).
func skipDisk(name string) bool {
	for _, p := range []string{"loop", "ram", "zram", "sr", "nbd", "dm-", "md"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// fatLabelled reports whether /dev/name below root holds a FAT filesystem labelled
// label, compared without regard to case.
func fatLabelled(root, name, label string) bool {
	fs, err := probeFilesystem(root, name)
	return err == nil && fs.Type == signature.VFAT && strings.EqualFold(fs.Label, label)
}

// probeFilesystem reads what /dev/name below root holds, read-only, the way the
// inventory does: its filesystem type and label.
func probeFilesystem(root, name string) (signature.Result, error) {
	f, err := os.Open(filepath.Join(root, "dev", name))
	if err != nil {
		return signature.Result{}, err
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return signature.Result{}, err
	}
	return signature.Probe(f, size)
}

// readAttr reads a one-line sysfs attribute, "" when it cannot.
func readAttr(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// uevent reads a sysfs uevent file's KEY=value lines.
func uevent(path string) map[string]string {
	m := map[string]string{}
	f, err := os.Open(path)
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			m[k] = v
		}
	}
	return m
}
