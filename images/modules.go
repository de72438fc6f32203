package images

import (
	"path"
	"strings"

	"github.com/decom-project/decom/internal/kmod"
)

// Class is one directory of the kernel's module tree whose modules go into the image.
type Class struct {
	// Dir is relative to the modules directory, e.g. "kernel/drivers/ata".
	Dir string
	// Include are globs (kmod.Glob, so '*' crosses '/') over a module's path relative to
	// Dir; none means every module below Dir.
	Include []string
	// Exclude are globs over the same path; they win over Include.
	Exclude []string
	// Why says what the class is for (documentation only).
	Why string
}

// DefaultClasses are the modules a server needs to see its drives, a USB keyboard and a
// network: storage controllers of every common kind, USB storage and host controllers,
// MMC, keyboards, the common server NICs, virtio and the filesystems of the data partition.
// Network storage (Fibre Channel, iSCSI, FCoE, NVMe over fabrics) is left out on purpose:
// decom wipes local media, not a SAN's. So are GPUs, sound and wireless. Dependencies are
// added by Closure, whatever directory they live in.
var DefaultClasses = []Class{
	{Dir: "kernel/drivers/nvme/host", Exclude: []string{"nvme-fc.*", "nvme-rdma.*", "nvme-tcp.*"},
		Why: "NVMe (PCIe; not over fabrics)"},
	{Dir: "kernel/drivers/pci/controller", Include: []string{"vmd.*"},
		Why: "Intel VMD, behind which many servers' NVMe drives sit"},
	{Dir: "kernel/drivers/ata", Why: "AHCI/SATA and PATA controllers"},
	{Dir: "kernel/drivers/scsi", Exclude: []string{
		// Fibre Channel, iSCSI and FCoE: SAN storage is not decom's to wipe.
		"be2iscsi/*", "bfa/*", "bnx2fc/*", "bnx2i/*", "csiostor/*", "cxgbi/*", "fcoe/*", "fnic/*",
		"libfc/*", "lpfc/*", "qedf/*", "qedi/*", "qla2xxx/*", "qla4xxx/*", "snic/*",
		"iscsi_*", "libiscsi*", "scsi_transport_iscsi.*", "scsi_transport_srp.*",
		"device_handler/*", // multipath SAN handlers
		"pcmcia/*", "scsi_debug.*", "xen-scsifront.*",
	}, Why: "SCSI disks, CD-ROMs, generic SCSI; SAS HBAs and RAID controllers (mpt3sas, megaraid_sas, aacraid, hpsa, smartpqi, ...), virtio-scsi, Hyper-V and VMware disks"},
	{Dir: "kernel/drivers/block", Include: []string{"virtio_blk.*", "mtip32xx/*", "xen-blkfront.*"},
		Why: "virtio disks, Micron PCIe SSDs, Xen disks"},
	{Dir: "kernel/drivers/usb/storage", Why: "USB mass storage and UAS"},
	{Dir: "kernel/drivers/usb/host", Why: "USB host controllers (xHCI, EHCI, OHCI, UHCI)"},
	{Dir: "kernel/drivers/mmc", Why: "SD/MMC cards and eMMC"},
	{Dir: "kernel/drivers/hid", Include: []string{
		"usbhid/*", "hid-generic.*", "hid-apple.*", "hid-cherry.*", "hid-chicony.*",
		"hid-logitech*", "hid-microsoft.*", "hid-lenovo.*",
	}, Why: "USB keyboards (boot protocol through hid-generic, and common vendors' quirks)"},
	{Dir: "kernel/drivers/virtio", Why: "virtio transports"},
	{Dir: "kernel/drivers/hv", Why: "Hyper-V VMBus"},
	{Dir: "kernel/drivers/net/ethernet/intel", Why: "Intel NICs (e1000e, igb, igc, ixgbe, i40e, ice, ...)"},
	{Dir: "kernel/drivers/net/ethernet/broadcom", Why: "Broadcom NICs (tg3, bnxt_en, bnx2x, ...)"},
	{Dir: "kernel/drivers/net/ethernet/mellanox", Why: "Mellanox/NVIDIA ConnectX NICs (mlx4, mlx5)"},
	{Dir: "kernel/drivers/net/ethernet/realtek", Why: "Realtek NICs (r8169, ...)"},
	{Dir: "kernel/drivers/net/ethernet/amazon", Why: "Amazon ENA"},
	{Dir: "kernel/drivers/net/ethernet/cisco", Why: "Cisco VIC (enic)"},
	{Dir: "kernel/drivers/net", Include: []string{"virtio_net.*", "vmxnet3/*", "hyperv/*"},
		Why: "virtual NICs: virtio, VMware, Hyper-V"},
	{Dir: "kernel/fs/fat", Why: "FAT (the DECOM-DATA partition)"},
	{Dir: "kernel/fs/nls", Include: []string{"nls_cp437.*", "nls_ascii.*", "nls_utf8.*", "nls_iso8859-1.*"},
		Why: "the code pages vfat asks for when it mounts (Debian: cp437, ascii, utf8)"},
	{Dir: "kernel/fs/isofs", Why: "ISO9660 (reading the boot ISO)"},
}

// selectModules returns the names of the modules the classes select from x, in the order
// of the classes and, within one, of their names, and the classes that selected nothing
// (another kernel may lack a directory: that is worth a warning, not a failed build).
func selectModules(x *kmod.Index, classes []Class) (names, empty []string) {
	for _, c := range classes {
		dir := strings.TrimSuffix(path.Clean(c.Dir), "/") + "/"
		n := 0
		for _, m := range x.Modules {
			rel, ok := strings.CutPrefix(m.Path, dir)
			if !ok || !matchAny(c.Include, rel, true) || matchAny(c.Exclude, rel, false) {
				continue
			}
			names = append(names, m.Name)
			n++
		}
		if n == 0 {
			empty = append(empty, c.Dir)
		}
	}
	return names, empty
}

func matchAny(globs []string, s string, empty bool) bool {
	if len(globs) == 0 {
		return empty
	}
	for _, g := range globs {
		if kmod.Glob(g, s) {
			return true
		}
	}
	return false
}
