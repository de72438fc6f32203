package inventory

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// sysfs reads the kernel's view of block devices below a root directory.
type sysfs struct {
	root string // "/" on a real system, a fake tree in tests
}

func (s sysfs) path(elem ...string) string {
	return filepath.Join(append([]string{s.root}, elem...)...)
}

// blockDir is the device directory of a whole-disk block device.
func (s sysfs) blockDir(name string) string { return s.path("sys", "block", name) }

// readString returns the trimmed content of a sysfs attribute, "" if it is absent.
func readString(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func readUint(path string) (uint64, bool) {
	v, err := strconv.ParseUint(readString(path), 10, 64)
	return v, err == nil
}

func readBool(path string) bool { return readString(path) == "1" }

// listDir returns the sorted entry names of dir, none if it does not exist.
func listDir(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// devicePath resolves /sys/block/NAME to the device's path below /sys, such as
// "/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda".
func (s sysfs) devicePath(name string) (string, error) {
	link := s.blockDir(name)
	target, err := os.Readlink(link)
	if err != nil {
		return "", err
	}
	abs := filepath.Clean(filepath.Join(filepath.Dir(link), target))
	rel, err := filepath.Rel(s.path("sys"), abs)
	if err != nil {
		return "", err
	}
	return "/" + filepath.ToSlash(rel), nil
}

// node is one block device known to the kernel: a whole disk, a partition or a stacked
// device (dm, md), as listed under /sys/dev/block.
type node struct {
	name   string
	devNo  string
	dir    string // absolute path of its sysfs directory
	parent string // whole-disk name when this is a partition
}

// nodes maps every block device under /sys/dev/block by name and by major:minor.
type nodes struct {
	byName  map[string]node
	byDevNo map[string]node
	// loops is what each attached loop device sits on, once resolved (see
	// sysfs.loops): a loop device over a block device rests on it as a dm device
	// rests on its slaves, though the kernel links neither holders nor slaves.
	loops map[string]loopLink
}

func (s sysfs) nodes() nodes {
	ns := nodes{byName: map[string]node{}, byDevNo: map[string]node{}}
	devBlock := s.path("sys", "dev", "block")
	for _, devNo := range listDir(devBlock) {
		link := filepath.Join(devBlock, devNo)
		target, err := os.Readlink(link)
		if err != nil {
			continue
		}
		dir := filepath.Clean(filepath.Join(devBlock, target))
		n := node{name: filepath.Base(dir), devNo: devNo, dir: dir}
		if _, err := os.Stat(filepath.Join(dir, "partition")); err == nil {
			n.parent = filepath.Base(filepath.Dir(dir))
		}
		ns.byName[n.name] = n
		ns.byDevNo[devNo] = n
	}
	return ns
}

// stack returns the names of every device that the device name rests on, itself
// included: a partition stands on its disk, a dm or md device on its slaves, a loop
// device on the block device (or partition) behind it. The result is what a mount of
// name keeps busy.
func (ns nodes) stack(name string) map[string]bool {
	out := map[string]bool{}
	var walk func(string, int)
	walk = func(name string, depth int) {
		n, ok := ns.byName[name]
		if !ok || depth > 16 || out[name] {
			return
		}
		out[name] = true
		if n.parent != "" {
			walk(n.parent, depth+1)
		}
		for _, slave := range listDir(filepath.Join(n.dir, "slaves")) {
			walk(slave, depth+1)
		}
		if l, ok := ns.loops[name]; ok && l.node != "" {
			walk(l.node, depth+1)
		}
	}
	walk(name, 0)
	return out
}

// holderLabel names a holder for people: "dm-0 (vg0-root)", "md0".
func (ns nodes) holderLabel(name string) string {
	if n, ok := ns.byName[name]; ok {
		if dmName := readString(filepath.Join(n.dir, "dm", "name")); dmName != "" {
			return name + " (" + dmName + ")"
		}
	}
	return name
}

// byDMName finds a device-mapper device by its /dev/mapper name.
func (ns nodes) byDMName(dmName string) (node, bool) {
	for _, n := range ns.byName {
		if readString(filepath.Join(n.dir, "dm", "name")) == dmName {
			return n, true
		}
	}
	return node{}, false
}

// udevProperties reads the udev database entry of a device ("E:KEY=VALUE" lines).
// There is no udev database in the boot image; the result is then empty.
func (s sysfs) udevProperties(devNo string) map[string]string {
	props := map[string]string{}
	if devNo == "" {
		return props
	}
	b, err := os.ReadFile(s.path("run", "udev", "data", "b"+devNo))
	if err != nil {
		return props
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if k, v, ok := strings.Cut(strings.TrimPrefix(line, "E:"), "="); ok && strings.HasPrefix(line, "E:") {
			props[k] = v
		}
	}
	return props
}

// transportFor resolves how a drive is attached from its sysfs device path (see
// sysfs.devicePath). The path names every bus the device hangs off, so this is
// exact where the device name ("sda") says nothing.
func transportFor(sysPath string) string {
	parts := strings.Split(strings.Trim(sysPath, "/"), "/")
	if strings.HasPrefix(sysPath, "/devices/virtual/block/loop") {
		return TransportLoop
	}
	has := func(match func(string) bool) int {
		for i, p := range parts {
			if match(p) {
				return i
			}
		}
		return -1
	}
	numbered := func(prefix string) func(string) bool {
		return func(p string) bool {
			rest, ok := strings.CutPrefix(p, prefix)
			if !ok || rest == "" {
				return false
			}
			_, err := strconv.Atoi(rest)
			return err == nil
		}
	}
	switch {
	case has(numbered("usb")) >= 0:
		return TransportUSB
	case has(func(p string) bool { return p == "nvme" || p == "nvme-subsystem" }) >= 0:
		return TransportNVMe
	case has(numbered("ata")) >= 0:
		return TransportSATA
	case has(func(p string) bool { return strings.HasPrefix(p, "end_device-") }) >= 0:
		return TransportSAS
	case has(func(p string) bool { return p == "mmc_host" }) >= 0:
		return TransportMMC
	}
	if i := has(numbered("virtio")); i >= 0 && i+1 < len(parts) && parts[i+1] == "block" {
		return TransportVirtio
	}
	if has(numbered("host")) >= 0 && has(func(p string) bool { return strings.HasPrefix(p, "target") }) >= 0 {
		return TransportSCSI
	}
	return TransportUnknown
}

// mediaFor classifies the storage medium.
func mediaFor(transport, name, sysPath string, rotational bool) string {
	switch {
	case strings.HasPrefix(name, "sr"):
		return MediaUnknown
	case transport == TransportNVMe:
		// Before the virtual check: a multipath namespace lives below
		// /devices/virtual/nvme-subsystem, yet it is flash.
		return MediaSSD
	case transport == TransportLoop, transport == TransportVirtio,
		strings.HasPrefix(sysPath, "/devices/virtual/"):
		return MediaVirtual
	case transport == TransportMMC:
		return MediaFlash
	case transport == TransportUSB:
		if rotational {
			return MediaHDD
		}
		return MediaFlash
	case transport == TransportSATA, transport == TransportSAS, transport == TransportSCSI:
		if rotational {
			return MediaHDD
		}
		return MediaSSD
	}
	return MediaUnknown
}

// normalizeWWN renders a sysfs wwid the way udev's ID_WWN does: NAA identifiers as
// 0x-prefixed hex, other designators (eui., t10., nvme.) unchanged.
func normalizeWWN(wwid string) string {
	wwid = strings.TrimSpace(wwid)
	if hex, ok := strings.CutPrefix(wwid, "naa."); ok {
		return "0x" + strings.ToLower(hex)
	}
	return wwid
}

// parseVPD80 extracts the product serial number from a SCSI Unit Serial Number VPD
// page (page code 0x80): a 4-byte header whose last two bytes give the length, then
// ASCII, often padded with spaces on either side.
func parseVPD80(b []byte) string {
	if len(b) < 4 || b[1] != 0x80 {
		return ""
	}
	n := int(b[2])<<8 | int(b[3])
	b = b[4:]
	if n < len(b) {
		b = b[:n]
	}
	b = bytes.TrimRight(b, "\x00")
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return ""
		}
	}
	return strings.TrimSpace(string(b))
}

// usbSerial walks up from a USB mass-storage device to the USB device and returns
// its serial attribute: usb-storage drives rarely answer VPD page 0x80.
func (s sysfs) usbSerial(sysPath string) string {
	dir := s.path("sys", filepath.FromSlash(sysPath))
	for dir != s.path("sys") && dir != "/" && dir != "." {
		if readString(filepath.Join(dir, "idVendor")) != "" {
			return readString(filepath.Join(dir, "serial"))
		}
		dir = filepath.Dir(dir)
	}
	return ""
}

// isNotExist reports whether err says a path is gone.
func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
