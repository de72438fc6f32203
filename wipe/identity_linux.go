package wipe

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/inventory"
)

// fdIdentity is the identityReader of real devices: it speaks to the drive through a
// duplicate of the descriptor the gate opened, never through a new open of its node.
type fdIdentity struct{}

func (fdIdentity) readIdentity(d *Device) (answeredIdentity, error) {
	t := d.Target
	if t.Drive.Transport == inventory.TransportLoop { // a loop device, or a partition of one
		return loopIdentity(d.f)
	}
	switch t.Drive.Transport {
	case inventory.TransportNVMe:
		f, err := dupFile(d.f)
		if err != nil {
			return answeredIdentity{}, err
		}
		nv := devio.NewNVMeDevice(f)
		defer nv.Close()
		nsid, err := nv.NamespaceID()
		if err != nil {
			return answeredIdentity{}, err
		}
		return identifyNVMe(nv, nsid)
	case inventory.TransportSATA, inventory.TransportSAS, inventory.TransportSCSI:
		f, err := dupFile(d.f)
		if err != nil {
			return answeredIdentity{}, err
		}
		sg := devio.NewSGDevice(f)
		defer sg.Close()
		return identifySCSI(sg)
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

// dupFile duplicates f's descriptor; the copy is the caller's to close.
func dupFile(f *os.File) (*os.File, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}
