package wipe

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/decom-project/decom/inventory"
)

// fdIdentity is the identityReader of real devices: it speaks to the drive through a
// duplicate of the descriptor the gate opened, never through a new open of its node.
type fdIdentity struct{}

func (fdIdentity) readIdentity(d *Handle) (answeredIdentity, error) {
	t := d.Target
	if t.Drive.Transport == inventory.TransportLoop { // a loop device, or a partition of one
		return loopIdentity(d.f.OS())
	}
	switch t.Drive.Transport {
	case inventory.TransportNVMe, inventory.TransportSATA, inventory.TransportSAS, inventory.TransportSCSI:
		drv, err := d.commands()
		if err != nil {
			return answeredIdentity{}, err
		}
		defer drv.Close()
		if drv.NVMe != nil {
			return identifyNVMe(drv.NVMe, drv.NSID)
		}
		return identifySCSI(drv.SCSI)
	}
	// USB bridges report serials of their own, or none; eMMC, virtio-blk and the
	// like answer no identify command.
	return answeredIdentity{}, fmt.Errorf("a %s device is not asked for its identity", dash(t.Drive.Transport))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// loopIdentity reads what a loop device sits on through f: the backing block
// device's number, or the backing file's filesystem and inode, and the part shown.
func loopIdentity(f *os.File) (answeredIdentity, error) {
	info, err := unix.IoctlLoopGetStatus64(int(f.Fd()))
	if err != nil {
		return answeredIdentity{}, fmt.Errorf("LOOP_GET_STATUS64: %w", err)
	}
	b := inventory.BackingFromStatus(info)
	if b == nil {
		// Detached since the plan: it sits on nothing, which is not what was planned.
		b = &inventory.Backing{Source: "ioctl"}
	}
	return answeredIdentity{How: ConfirmedByLoop, Backing: b}, nil
}
