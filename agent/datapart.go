package agent

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
// (GPT partition names from each partition's uevent PARTNAME) and reading the first
// sector of each other partition, and of each disk without partitions, from /dev for a
// FAT label. Labels are compared without regard to case. Partitions whose boot sector
// cannot be read are passed over. The result is sorted by name; more than one data
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
			} else if got, err := deviceFATLabel(root, p.Name); err == nil && strings.EqualFold(got, label) {
				p.Source = "FAT label"
			} else {
				continue
			}
			found = append(found, p)
		}
		if parts == 0 {
			if got, err := deviceFATLabel(root, disk); err == nil && strings.EqualFold(got, label) {
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

// deviceFATLabel reads the FAT label of /dev/name below root.
func deviceFATLabel(root, name string) (string, error) {
	b, err := readAt(filepath.Join(root, "dev", name), 0, 512)
	if err != nil {
		return "", err
	}
	return FATLabel(b)
}

// readAt reads n bytes at off of the file at path.
func readAt(path string, off int64, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: shorter than %d bytes", path, off+int64(n))
		}
		return nil, err
	}
	return b, nil
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
