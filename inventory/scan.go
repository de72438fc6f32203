package inventory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/jaypipes/ghw"
	"github.com/jaypipes/ghw/pkg/block"
	"github.com/jaypipes/ghw/pkg/util"
)

// Errors a caller can tell apart with errors.Is. They carry the device path in their
// wrapped message.
var (
	// ErrNotFound: the path names no device.
	ErrNotFound = errors.New("no such device")
	// ErrNotBlockDevice: the path exists but is not a block device.
	ErrNotBlockDevice = errors.New("not a block device")
	// ErrVanished: the device was there when the scan began and is gone now.
	ErrVanished = errors.New("device disappeared during the scan")
)

// Options configure a scan.
type Options struct {
	// Root is the directory below which /sys, /proc, /run and /dev are read; "" means "/".
	Root string
	// Logger receives warnings (a device that vanished, an unreadable device) and ghw's
	// own messages. Nil discards them.
	Logger *slog.Logger
	// NoProbe skips reading the devices' own bytes (partition tables, signatures); the
	// udev database is then the only source for them.
	NoProbe bool
	// ProbeFirmware asks each drive's firmware what it can do to sanitize it (NVMe
	// Identify, ATA IDENTIFY DEVICE through SG_IO, SCSI REPORT SUPPORTED OPERATION
	// CODES): read-only commands, but commands nonetheless, so only when asked.
	ProbeFirmware bool
	// ReadHealth reads each drive's health (Device.Health) without the rest of
	// ProbeFirmware, which reads it too: NVMe Get Log Page 02h, ATA SMART through ATA
	// PASS-THROUGH, SCSI LOG SENSE. Read-only commands.
	ReadHealth bool

	// afterList runs between listing the devices and reading their details, so tests
	// can make a device vanish mid-scan.
	afterList func()
	// sysfsLoops resolves loop devices from sysfs even on the real root, so tests
	// check that way against real loop devices too.
	sysfsLoops bool
}

// loopStatus is how loop devices are asked what they sit on: LOOP_GET_STATUS64 on
// the running system, nothing on a fake host (sysfs alone answers there).
func (o Options) loopStatus() loopStatus {
	if o.sysfsLoops || filepath.Clean(o.root()) != "/" {
		return nil
	}
	return ioctlLoopStatus(o.root())
}

func (o Options) root() string {
	if o.Root == "" {
		return "/"
	}
	return o.Root
}

func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

// Scan lists every block device of the machine, sorted by name. Unused loop devices
// (no backing file) are left out. A device that disappears while the scan runs is
// logged and left out.
//
// Loop devices are judged with what they sit on: a loop device over a drive, a
// partition or another loop device inherits every refusal of that device's whole
// disk, one over a file every refusal of the other loop devices over the same file
// (compared by device and inode), down the whole chain; and a device that a loop
// device sits on is refused while that loop device is attached.
func Scan(ctx context.Context, opts Options) ([]Device, error) {
	return scan(ctx, opts, nil)
}

// scan lists the devices; when only is non-nil it keeps just the disks it accepts
// (and reads, besides them, what the loop devices among them sit on).
func scan(ctx context.Context, opts Options, only func(name string) bool) ([]Device, error) {
	log := opts.logger()
	root := opts.root()
	if _, err := os.Stat(filepath.Join(root, "sys", "block")); err != nil {
		return nil, fmt.Errorf("inventory: cannot read the kernel's block devices: %w", err)
	}
	info, err := ghw.Block(ghw.WithChroot(root), ghw.WithLogger(log), ghw.WithDisableTools())
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	if opts.afterList != nil {
		opts.afterList()
	}
	s := sysfs{root: root}
	sys, err := s.systemState(opts.loopStatus(), log)
	if err != nil {
		return nil, err
	}
	wanted := map[string]bool{}
	for _, disk := range info.Disks {
		if only == nil || only(disk.Name) {
			wanted[disk.Name] = true
		}
	}
	need := maps.Clone(wanted)
	loopClosure(need, sys.nodes.loops)

	out := make([]Device, 0, len(info.Disks))
	views := map[string]loopView{}
	for _, disk := range info.Disks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !need[disk.Name] {
			continue
		}
		d, err := s.device(disk, sys)
		if isNotExist(err) {
			log.Warn("device disappeared during the scan; not listed", "device", "/dev/"+disk.Name)
			continue
		}
		if err != nil {
			return nil, err
		}
		if wanted[d.Name] && !opts.NoProbe {
			probeDevice(&d, root, log)
		}
		switch {
		case wanted[d.Name] && opts.ProbeFirmware:
			probeFirmware(&d, root, log)
		case wanted[d.Name] && opts.ReadHealth:
			readHealth(&d, root, log)
		}
		v := loopView{own: assess(&d, sys)}
		if l, ok := sys.nodes.loops[d.Name]; ok {
			v.link = &l
		}
		views[d.Name] = v
		if wanted[d.Name] {
			out = append(out, d)
		}
	}
	for i := range out {
		d := &out[i]
		inherit(d, inheritedRefusals(d.Name, views, sys.nodes.stack))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// systemState is what the running system holds busy: mounts, swap, and the device graph
// that connects them to drives.
type systemState struct {
	nodes  nodes
	mounts []mountEntry
	swaps  []string // device names of active swap areas
}

func (s sysfs) systemState(status loopStatus, log *slog.Logger) (systemState, error) {
	st := systemState{nodes: s.nodes()}
	st.nodes.loops = s.loops(st.nodes, status, log)
	f, err := os.Open(s.path("proc", "self", "mountinfo"))
	if err != nil {
		return st, fmt.Errorf("inventory: cannot tell what is mounted: %w", err)
	}
	st.mounts, err = parseMountinfo(f)
	f.Close()
	if err != nil {
		return st, fmt.Errorf("inventory: %w", err)
	}
	f, err = os.Open(s.path("proc", "swaps"))
	if err != nil {
		return st, fmt.Errorf("inventory: cannot tell which swap is active: %w", err)
	}
	swaps, err := parseSwaps(f)
	f.Close()
	if err != nil {
		return st, fmt.Errorf("inventory: %w", err)
	}
	for _, sw := range swaps {
		name, ok := s.swapDevice(sw, st.nodes)
		if !ok {
			log.Warn("cannot tell which device holds an active swap area", "swap", sw)
			continue
		}
		st.swaps = append(st.swaps, name)
	}
	return st, nil
}

// swapDevice names the block device behind an entry of /proc/swaps: the device
// itself, or for a swap file the device holding its filesystem.
func (s sysfs) swapDevice(path string, ns nodes) (string, bool) {
	if name, ok := strings.CutPrefix(path, "/dev/mapper/"); ok {
		if n, ok := ns.byDMName(name); ok {
			return n.name, true
		}
	}
	if name, ok := strings.CutPrefix(path, "/dev/"); ok {
		if _, ok := ns.byName[name]; ok {
			return name, true
		}
	}
	devNo, err := fileDevNo(filepath.Join(s.root, path))
	if err != nil {
		return "", false
	}
	n, ok := ns.byDevNo[devNo]
	return n.name, ok
}

// device gathers everything sysfs, udev and ghw know about one disk. A missing device
// directory is returned as an fs.ErrNotExist error: the device is gone.
func (s sysfs) device(disk *block.Disk, sys systemState) (Device, error) {
	dir := s.blockDir(disk.Name)
	devNoBytes, err := os.ReadFile(filepath.Join(dir, "dev"))
	if err != nil {
		return Device{}, err
	}
	sysPath, err := s.devicePath(disk.Name)
	if err != nil {
		return Device{}, err
	}
	d := Device{
		Path:               "/dev/" + disk.Name,
		Name:               disk.Name,
		DevNo:              strings.TrimSpace(string(devNoBytes)),
		SysPath:            sysPath,
		SizeBytes:          disk.SizeBytes,
		PhysicalSectorSize: disk.PhysicalBlockSizeBytes,
		Removable:          disk.IsRemovable,
		ReadOnly:           readBool(filepath.Join(dir, "ro")),
		Rotational:         readBool(filepath.Join(dir, "queue", "rotational")),
		BackingFile:        readString(filepath.Join(dir, "loop", "backing_file")),
		Partitions:         []Partition{},
		Mounts:             []Mount{},
		Holders:            []string{},
		InUseBy:            []string{},
		Refusals:           []string{},
	}
	d.LogicalSectorSize, _ = readUint(filepath.Join(dir, "queue", "logical_block_size"))
	d.Transport = transportFor(sysPath)
	d.Media = mediaFor(d.Transport, d.Name, sysPath, d.Rotational)
	d.Class, d.ClassReason = classify(d, readString(filepath.Join(dir, "device", "type")))
	if l, ok := sys.nodes.loops[disk.Name]; ok {
		d.Backing = l.backing
	}

	udev := s.udevProperties(d.DevNo)
	d.identify(s, dir, disk, udev)
	switch udev["ID_PART_TABLE_TYPE"] {
	case "gpt":
		d.PartitionTable = TableGPT
	case "dos":
		d.PartitionTable = TableMBR
	}
	if d.PartitionTable == "" && udev["ID_FS_TYPE"] != "" {
		d.PartitionTable = TableNone
		d.Filesystem = udev["ID_FS_TYPE"]
	}

	for _, p := range disk.Partitions {
		pdir := filepath.Join(dir, p.Name)
		devNo := readString(filepath.Join(pdir, "dev"))
		if devNo == "" {
			continue // gone, or not a partition directory
		}
		number, _ := strconv.Atoi(readString(filepath.Join(pdir, "partition")))
		start, _ := readUint(filepath.Join(pdir, "start"))
		pudev := s.udevProperties(devNo)
		d.Partitions = append(d.Partitions, Partition{
			Path:       "/dev/" + p.Name,
			Name:       p.Name,
			Number:     number,
			Start:      start * 512, // sysfs counts 512-byte units whatever the sector size
			Size:       p.SizeBytes,
			Type:       pudev["ID_PART_ENTRY_TYPE"],
			Label:      pudev["ID_PART_ENTRY_NAME"],
			Filesystem: pudev["ID_FS_TYPE"],
			DevNo:      devNo,
		})
	}
	sort.Slice(d.Partitions, func(i, j int) bool { return d.Partitions[i].Number < d.Partitions[j].Number })
	return d, nil
}

// identify fills model, vendor, serial, WWN and firmware: ghw's udev-derived values
// first, then sysfs attributes, which are all there is without a udev database.
func (d *Device) identify(s sysfs, dir string, disk *block.Disk, udev map[string]string) {
	known := func(v string) string {
		if v == util.UNKNOWN {
			return ""
		}
		return strings.TrimSpace(v)
	}
	first := func(vals ...string) string {
		for _, v := range vals {
			if v = strings.TrimSpace(v); v != "" {
				return v
			}
		}
		return ""
	}
	dev := filepath.Join(dir, "device")

	sysModel := first(readString(filepath.Join(dev, "model")), readString(filepath.Join(dev, "name")))
	d.Model = known(disk.Model)
	if d.Model == "" || d.Model == strings.ReplaceAll(sysModel, " ", "_") {
		// udev spells spaces as underscores; the kernel's own spelling is the drive's.
		d.Model = sysModel
	}
	d.Vendor = known(disk.Vendor)
	if d.Vendor == "" {
		d.Vendor = udev["ID_VENDOR"]
	}

	d.Serial = first(
		known(disk.SerialNumber),
		readString(filepath.Join(dev, "serial")),
		readString(filepath.Join(dir, "serial")),
	)
	if d.Serial == "" {
		if b, err := os.ReadFile(filepath.Join(dev, "vpd_pg80")); err == nil {
			d.Serial = parseVPD80(b)
		}
	}
	if d.Serial == "" && d.Transport == TransportUSB {
		d.Serial = s.usbSerial(d.SysPath)
	}

	d.WWN = known(disk.WWN)
	if d.WWN == "" {
		d.WWN = normalizeWWN(first(readString(filepath.Join(dir, "wwid")), readString(filepath.Join(dev, "wwid"))))
	}
	d.Firmware = first(
		udev["ID_REVISION"],
		readString(filepath.Join(dev, "firmware_rev")),
		readString(filepath.Join(dev, "rev")),
		readString(filepath.Join(dev, "fwrev")),
	)
}

// assess decides whether the device may be wiped, and why not; each partition gets
// the share of the reasons that concerns it. It returns the reasons with their
// origins, for the loop devices stacked on d to inherit (see inherit).
func assess(d *Device, sys systemState) []reason {
	mine := func(name string) bool { return sys.nodes.stack(name)[d.Name] }
	use := map[string]bool{}
	partUse := make([]map[string]bool, len(d.Partitions))
	for i := range partUse {
		partUse[i] = map[string]bool{}
		d.Partitions[i].InUseBy = []string{}
		d.Partitions[i].Refusals = []string{}
	}
	var reasons []reason
	// refuse records a reason for the drive, and for every partition that the
	// device named by cause rests on; a reason with no cause concerns the whole
	// drive, and so every partition.
	refuse := func(r reason, cause string, uses ...string) {
		reasons = append(reasons, r)
		d.Refusals = append(d.Refusals, r.text)
		for _, u := range uses {
			use[u] = true
		}
		under := map[string]bool{}
		if cause != "" {
			under = sys.nodes.stack(cause)
		}
		for i := range d.Partitions {
			p := &d.Partitions[i]
			if cause != "" && (p.Name == "" || !under[p.Name]) {
				continue
			}
			p.Refusals = append(p.Refusals, r.text)
			for _, u := range uses {
				partUse[i][u] = true
			}
		}
	}
	// onIt says a state of the device name in a clause about d: "is mounted on /x"
	// when name is d, "has /dev/name mounted on /x" otherwise.
	onIt := func(name, self, other string) string {
		if name == d.Name {
			return self
		}
		return fmt.Sprintf(other, "/dev/"+name)
	}

	for _, m := range sys.mounts {
		n, ok := sys.nodes.byDevNo[m.DevNo]
		if !ok || !mine(n.name) {
			continue
		}
		d.Mounts = append(d.Mounts, Mount{Device: "/dev/" + n.name, MountPoint: m.MountPoint, FSType: m.FSType})
		switch m.MountPoint {
		case "/":
			why := fmt.Sprintf("holds the running system's root filesystem (/ on /dev/%s)", n.name)
			refuse(reason{why, n.name, why}, n.name, UseMounted, UseRoot)
		case "/boot", "/boot/efi", "/efi":
			why := fmt.Sprintf("holds the running system's boot filesystem (%s on /dev/%s)", m.MountPoint, n.name)
			refuse(reason{why, n.name, why}, n.name, UseMounted, UseBoot)
		default:
			refuse(reason{fmt.Sprintf("mounted: /dev/%s on %s", n.name, m.MountPoint), n.name,
				onIt(n.name, "is mounted on "+m.MountPoint, "has %s mounted on "+m.MountPoint)}, n.name, UseMounted)
		}
	}
	for _, sw := range sys.swaps {
		if mine(sw) {
			refuse(reason{"active swap: /dev/" + sw, sw, onIt(sw, "is active swap", "has active swap on %s")}, sw, UseSwap)
		}
	}

	type held struct{ holder, under string }
	var holders []held
	if n, ok := sys.nodes.byName[d.Name]; ok {
		for _, h := range listDir(filepath.Join(n.dir, "holders")) {
			holders = append(holders, held{h, d.Name})
		}
	}
	for _, p := range d.Partitions {
		if n, ok := sys.nodes.byName[p.Name]; ok && p.Name != "" {
			for _, h := range listDir(filepath.Join(n.dir, "holders")) {
				holders = append(holders, held{h, p.Name})
			}
		}
	}
	for _, h := range holders {
		if slices.Contains(d.Holders, h.holder) {
			continue
		}
		d.Holders = append(d.Holders, h.holder)
		why := "in use by " + sys.nodes.holderLabel(h.holder)
		refuse(reason{why, h.holder, "is " + why}, h.under, UseHolder)
	}
	slices.Sort(d.Holders)

	// A loop device over the drive, a partition of it, or (for a loop device) over
	// it: the kernel links no holder, yet writing here changes what it shows.
	for _, name := range slices.Sorted(maps.Keys(sys.nodes.loops)) {
		l := sys.nodes.loops[name]
		if l.disk != d.Name || name == d.Name {
			continue
		}
		why := "backs loop device /dev/" + name + ": detach it first"
		refuse(reason{why, name, why}, l.node, UseLoop)
	}

	if d.BackingFile != "" && d.Backing == nil {
		// A loop device whose backing object is unknown is judged here, with the
		// device's own state, so that a loop device above it inherits the refusal.
		refuse(reason{"cannot tell what it sits on: " + d.BackingFile + " resolves to no file or device", "",
			"cannot be resolved to what it sits on"}, "", UseBacking)
	}
	d.InUseBy = sortedKeys(use)
	for i := range d.Partitions {
		d.Partitions[i].InUseBy = sortedKeys(partUse[i])
	}

	// The partitions of the running system's disk are refused too, even idle ones:
	// a slip there takes the machine down.
	if use[UseRoot] || use[UseBoot] {
		for i := range d.Partitions {
			if p := &d.Partitions[i]; !partUse[i][UseRoot] && !partUse[i][UseBoot] {
				p.Refusals = append(p.Refusals, "partition of the running system's disk "+d.Path)
			}
		}
	}
	if d.ReadOnly {
		refuse(reason{"read-only device", "", "is read-only"}, "")
	}
	if d.SizeBytes == 0 {
		refuse(reason{"no medium (size 0)", "", "has no medium (size 0)"}, "")
	}
	if strings.HasPrefix(d.Name, "sr") {
		refuse(reason{"optical drive: decom does not overwrite optical media", "", "is an optical drive"}, "")
	}
	if n, ok := sys.nodes.byName[d.Name]; ok && len(listDir(filepath.Join(n.dir, "slaves"))) > 0 {
		why := "stacked device built on other drives: wipe the drives beneath it instead"
		refuse(reason{why, "", "is a " + why}, "")
	}
	d.Wipeable = len(d.Refusals) == 0
	return reasons
}

// inherit adds to a loop device the refusals it inherits from what it sits on; they
// concern the whole device, and so each of its partitions.
func inherit(d *Device, reasons []string) {
	if len(reasons) == 0 {
		return
	}
	d.Refusals = append(d.Refusals, reasons...)
	for i := range d.Partitions {
		d.Partitions[i].Refusals = append(d.Partitions[i].Refusals, reasons...)
		if !slices.Contains(d.Partitions[i].InUseBy, UseBacking) {
			d.Partitions[i].InUseBy = append(d.Partitions[i].InUseBy, UseBacking)
			slices.Sort(d.Partitions[i].InUseBy)
		}
	}
	if !slices.Contains(d.InUseBy, UseBacking) {
		d.InUseBy = append(d.InUseBy, UseBacking)
		slices.Sort(d.InUseBy)
	}
	d.Wipeable = false
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
