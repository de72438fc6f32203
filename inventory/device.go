// Package inventory discovers the block devices of a Linux machine and decides which of them
// may be wiped.
//
// Scan lists every drive with its identity (model, serial, WWN, firmware), geometry,
// transport and media type, partition table, partitions and filesystems, and everything
// that makes it busy: mounts, active swap, holders (device-mapper, md) and the running
// system's root and boot filesystems. A drive that is busy, read-only, empty or optical is
// not wipeable, and Refusals says why in words a technician can act on.
//
// Base facts come from ghw; inventory fills ghw's gaps from sysfs (identity without a udev
// database, the real transport from the device's sysfs path) and probes signatures from the
// device's own bytes. Nothing in this package ever opens a device for writing.
//
// Every path is resolved below Options.Root, so tests run Scan against fake sysfs trees.
package inventory

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
	// BackingFile is the file behind a loop device.
	BackingFile string  `json:"backing_file,omitempty"`
	Mounts      []Mount `json:"mounts"`
	// Holders lists the devices stacked on the drive or its partitions (dm-0, md127, …).
	Holders  []string `json:"holders"`
	InUseBy  []string `json:"in_use_by"`
	Wipeable bool     `json:"wipeable"`
	Refusals []string `json:"refusals"`
	// DevNo is the kernel's major:minor of the device.
	DevNo string `json:"dev_no"`
	// SysPath is the resolved sysfs device path, the evidence for Transport.
	SysPath string `json:"sys_path"`

	// What the drive's firmware can do to sanitize it, and its state, when the drive
	// was asked (Options.ProbeFirmware); nil otherwise, and for devices that have no
	// firmware to ask (loop, virtual).
	Capabilities  *Capabilities  `json:"capabilities,omitempty"`
	SecurityState *SecurityState `json:"security_state,omitempty"`
	HPA           *HPA           `json:"hpa,omitempty"`
	DCO           *DCO           `json:"dco,omitempty"`
	AMAX          *AMAX          `json:"amax,omitempty"`
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
