package inventory

import "strings"

// classify says whether d is a drive built into the machine (ClassFixed), one that
// is meant to come and go (ClassRemovable), or no drive of its own (ClassVirtual),
// and what makes it so. mmcType is the MMC card type from sysfs ("SD", "MMC"), ""
// for other devices.
func classify(d Device, mmcType string) (class, why string) {
	virtual := []struct{ prefix, what string }{
		{"zram", "compressed RAM disk (zram)"},
		{"ram", "RAM disk"},
		{"nbd", "network block device"},
		{"dm-", "device-mapper device"},
		{"md", "software RAID device (md)"},
	}
	if d.Transport == TransportLoop {
		return ClassVirtual, "loop device"
	}
	for _, v := range virtual {
		if strings.HasPrefix(d.Name, v.prefix) {
			return ClassVirtual, v.what
		}
	}
	if strings.HasPrefix(d.SysPath, "/devices/virtual/") && d.Transport != TransportNVMe {
		// An NVMe multipath namespace lives below /devices/virtual/nvme-subsystem,
		// yet it is a drive.
		return ClassVirtual, "virtual block device"
	}
	switch {
	case d.Transport == TransportUSB:
		return ClassRemovable, "USB-attached drive"
	case d.Transport == TransportMMC && mmcType == "SD":
		return ClassRemovable, "SD card"
	case d.Removable:
		return ClassRemovable, "removable media"
	}
	return ClassFixed, ""
}
