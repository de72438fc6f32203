// Package inventory discovers the block devices of a Linux machine and decides which of them
// may be wiped.
//
// Scan lists every drive with its identity (model, serial, WWN, firmware), geometry,
// transport and media type, partition table, partitions and filesystems, and everything
// that makes it busy: mounts, active swap, holders (device-mapper, md), loop devices
// attached over it, and the running system's root and boot filesystems. A drive that is
// busy, read-only, empty or optical is not wipeable, and Refusals says why in words a
// technician can act on.
//
// A loop device is resolved to what it sits on (LOOP_GET_STATUS64; on a fake host, sysfs'
// backing_file and a stat of that path) and judged with it: it inherits the refusals of
// the drive it sits on, or of the other loop devices over the same file, down the chain.
// Class says whether a device is a fixed drive of the machine, a removable one or a
// virtual device, for choosing drives in bulk.
//
// Base facts come from ghw; inventory fills ghw's gaps from sysfs (identity without a udev
// database, the real transport from the device's sysfs path) and probes signatures from the
// device's own bytes. Nothing in this package ever opens a device for writing.
//
// Every path is resolved below Options.Root, so tests run Scan against fake sysfs trees.
package inventory

import "github.com/decom-project/decom/internal/jsonint"

// Transport values: how a drive is attached, resolved from its sysfs device path.
const (
	TransportSATA    = "sata"
	TransportSAS     = "sas"
	TransportSCSI    = "scsi"
	TransportNVMe    = "nvme"
	TransportUSB     = "usb"
	TransportVirtio  = "virtio"
	TransportMMC     = "mmc"
	TransportLoop    = "loop"
	TransportUnknown = "unknown"
)

// Media values: what stores the bits.
const (
	MediaHDD     = "hdd"
	MediaSSD     = "ssd"
	MediaFlash   = "flash"
	MediaVirtual = "virtual"
	MediaUnknown = "unknown"
)

// Partition table values.
const (
	TableGPT  = "gpt"
	TableMBR  = "mbr"
	TableNone = "none"
)

// Usage values for Device.InUseBy.
const (
	UseBoot    = "boot"    // holds /boot or /boot/efi of the running system
	UseHolder  = "holder"  // the drive or a partition is claimed by dm, md, bcache, …
	UseMounted = "mounted" // the drive, a partition or something stacked on them is mounted
	UseRoot    = "root"    // holds the running system's root filesystem
	UseSwap    = "swap"    // the drive, a partition or something stacked on them is active swap
	UseLoop    = "loop"    // the drive or a partition backs a loop device
	UseBacking = "backing" // a loop device that sits on a device or file that is in use or may not be written
)

// Class values: what kind of device, for choosing drives in bulk (decom wipe --all).
const (
	ClassFixed     = "fixed"     // a drive built into the machine: SATA, SAS, NVMe, virtio, eMMC, …
	ClassRemovable = "removable" // removable media, a drive on USB, an SD card
	ClassVirtual   = "virtual"   // no drive of its own: loop, RAM disk, zram, nbd, device-mapper, md
)

// Device is one block device as inventory sees it. The JSON form is a stable interface:
// fleet automation parses it, so fields are only ever added.
type Device struct {
	Path               string `json:"path"`
	Name               string `json:"name"`
	Vendor             string `json:"vendor"`
	Model              string `json:"model"`
	Serial             string `json:"serial"`
	WWN                string `json:"wwn"`
	Firmware           string `json:"firmware"`
	SizeBytes          uint64 `json:"size_bytes"`
	LogicalSectorSize  uint64 `json:"logical_sector_size"`
	PhysicalSectorSize uint64 `json:"physical_sector_size"`
	Transport          string `json:"transport"`
	Media              string `json:"media"`
	Rotational         bool   `json:"rotational"`
	Removable          bool   `json:"removable"`
	ReadOnly           bool   `json:"read_only"`
	// PartitionTable is gpt, mbr or none; empty when it could be read neither from the
	// device nor from udev.
	PartitionTable string      `json:"partition_table"`
	Partitions     []Partition `json:"partitions"`
	// Filesystem is the signature found on the device itself when it has no partition
	// table (a filesystem, LUKS, LVM PV, RAID member, …).
	Filesystem string `json:"filesystem"`
	// BackingFile is the file behind a loop device, as the kernel names it.
	BackingFile string `json:"backing_file,omitempty"`
	// Backing is what a loop device reads and writes, resolved to a device number or
	// an inode; nil for other devices, and for a loop device that could not be resolved.
	Backing *Backing `json:"backing,omitempty"`
	Mounts  []Mount  `json:"mounts"`
	// Holders lists the devices stacked on the drive or its partitions (dm-0, md127, …).
	Holders  []string `json:"holders"`
	InUseBy  []string `json:"in_use_by"`
	Wipeable bool     `json:"wipeable"`
	Refusals []string `json:"refusals"`
	// DevNo is the kernel's major:minor of the device.
	DevNo string `json:"dev_no"`
	// SysPath is the resolved sysfs device path, the evidence for Transport.
	SysPath string `json:"sys_path"`
	// Class is fixed, removable or virtual; ClassReason says what makes a device
	// removable or virtual ("USB-attached drive", "loop device").
	Class       string `json:"class"`
	ClassReason string `json:"class_reason,omitempty"`

	// What the drive's firmware can do to sanitize it, and its state, when the drive
	// was asked (Options.ProbeFirmware); nil otherwise, and for devices that have no
	// firmware to ask (loop, virtual).
	Capabilities  *Capabilities  `json:"capabilities,omitempty"`
	SecurityState *SecurityState `json:"security_state,omitempty"`
	HPA           *HPA           `json:"hpa,omitempty"`
	DCO           *DCO           `json:"dco,omitempty"`
	AMAX          *AMAX          `json:"amax,omitempty"`

	// Health is what the drive says of its own condition (SMART, the NVMe health log,
	// SCSI log pages), when it was asked (Options.ProbeFirmware or ReadHealth); nil
	// otherwise and for devices without firmware.
	Health *Health `json:"health,omitempty"`
}

// Backing is the object under a loop device: a block device (DevNo, Device) or a
// regular file (FSDevNo, Inode). Two loop devices over the same file have the same
// FSDevNo and Inode whatever path each was attached with.
type Backing struct {
	// DevNo is the major:minor of the backing block device, Device its path (a
	// drive, a partition or another loop device); both empty for a file.
	DevNo  string `json:"dev_no,omitempty"`
	Device string `json:"device,omitempty"`
	// FSDevNo is the major:minor of the filesystem holding the backing file, Inode
	// the file's inode number there; both empty for a block device.
	FSDevNo string `json:"fs_dev_no,omitempty"`
	// Inode is a JSON string (jsonint): it may exceed 2^53.
	Inode jsonint.Uint64 `json:"inode,omitempty"`
	// Offset and SizeLimit are the part of the backing object the loop device shows,
	// in bytes (SizeLimit 0: to the end).
	Offset    uint64 `json:"offset,omitempty"`
	SizeLimit uint64 `json:"size_limit,omitempty"`
	// Source says how it was resolved: "ioctl" (LOOP_GET_STATUS64 on the device) or
	// "sysfs" (loop/backing_file and a stat of that path, on fake hosts or when the
	// device cannot be opened).
	Source string `json:"source"`
}

// Partition is one partition of a Device. Path and Name are empty for a partition
// that is in the partition table but has no kernel device.
type Partition struct {
	Path   string `json:"path"`
	Name   string `json:"name"`
	Number int    `json:"number"`
	// Start and Size are in bytes.
	Start uint64 `json:"start"`
	Size  uint64 `json:"size"`
	// Type is the GPT partition type GUID or the MBR type id (0x83).
	Type       string `json:"type"`
	Label      string `json:"label"`
	Filesystem string `json:"filesystem"`
	DevNo      string `json:"dev_no"`
	// InUseBy and Refusals are the partition's own share of the drive's: what is
	// mounted from it, swapping on it or stacked on it.
	InUseBy  []string `json:"in_use_by"`
	Refusals []string `json:"refusals"`
}

// Mount is one mounted filesystem that lives on a Device, directly or through a holder.
type Mount struct {
	Device     string `json:"device"`
	MountPoint string `json:"mount_point"`
	FSType     string `json:"fs_type"`
}
