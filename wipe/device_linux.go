package wipe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/decom-project/decom/internal/blockio"
	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/inventory"
)

// Device is a target the gate opened for writing. It is the only way decom writes to
// a drive, a partition or an image file.
type Device struct {
	Target Target
	// Direct reports whether writes bypass the page cache (O_DIRECT). When the
	// target refuses O_DIRECT (a file on tmpfs, say) writes are buffered and the
	// engine syncs periodically.
	Direct bool

	f    *os.File
	tail *os.File // buffered descriptor for an image file's unaligned tail
}

// Open checks t again, right before writing, and opens it. It refuses when anything
// the plan relied on changed: the inventory's verdict, the device number, the
// drive's serial, WWN, model or size, a loop device's backing file, an image file's
// inode. Drives and partitions are opened exclusively (O_EXCL), so the kernel
// refuses if anything mounts or claims them meanwhile, and the opened descriptor
// is checked to be the very device that was planned.
func (g *Gate) Open(ctx context.Context, t Target) (*Device, error) {
	now, err := g.Check(ctx, t.Path)
	if err != nil {
		return nil, err
	}
	if diffs := identityChanges(t, now); len(diffs) > 0 {
		return nil, refused(t.Path, "changed since the plan: "+strings.Join(diffs, ", "))
	}
	flags := unix.O_WRONLY | unix.O_CLOEXEC
	if t.Kind != KindFile {
		flags |= unix.O_EXCL
	}
	direct := true
	fd, err := unix.Open(t.Node, flags|unix.O_DIRECT, 0)
	if errors.Is(err, unix.EINVAL) {
		direct = false
		fd, err = unix.Open(t.Node, flags, 0)
	}
	switch {
	case errors.Is(err, unix.EBUSY):
		return nil, refused(t.Path, "in use: the kernel refused exclusive access (mounted, or claimed by another program)")
	case err != nil:
		return nil, fmt.Errorf("%s: open for writing: %w", t.Path, err)
	}
	f := os.NewFile(uintptr(fd), t.Node)
	d := &Device{Target: t, Direct: direct, f: f}
	if err := d.confirm(); err != nil {
		f.Close()
		return nil, err
	}
	if t.Kind == KindFile && direct && t.Size()%int64(t.SectorSize) != 0 {
		// O_DIRECT cannot write a partial sector; the file's last bytes go through
		// the page cache.
		d.tail, err = os.OpenFile(t.Node, os.O_WRONLY, 0)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: open for writing: %w", t.Path, err)
		}
	}
	return d, nil
}

// confirm checks that the opened descriptor is the planned target, with the planned
// size, and locks image files against other decom runs.
func (d *Device) confirm() error {
	t := d.Target
	var st unix.Stat_t
	if err := unix.Fstat(int(d.f.Fd()), &st); err != nil {
		return fmt.Errorf("%s: %w", t.Path, err)
	}
	switch t.Kind {
	case KindFile:
		if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Ino != t.Identity.Inode || blockio.DevNo(st.Dev) != t.Identity.DevNo {
			return refused(t.Path, "the file opened is not the file planned")
		}
		if uint64(st.Size) != t.Identity.SizeBytes {
			return refused(t.Path, fmt.Sprintf("size changed since the plan: %d, now %d bytes", t.Identity.SizeBytes, st.Size))
		}
		if err := unix.Flock(int(d.f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			return refused(t.Path, "locked by another program")
		}
	default:
		if st.Mode&unix.S_IFMT != unix.S_IFBLK || blockio.DevNo(st.Rdev) != t.Identity.DevNo {
			return refused(t.Path, "the device opened is not the device planned")
		}
		size, ssz, err := blockio.Geometry(d.f)
		if err != nil {
			return fmt.Errorf("%s: %w", t.Path, err)
		}
		if size != t.Identity.SizeBytes {
			return refused(t.Path, fmt.Sprintf("size changed since the plan: %d, now %d bytes", t.Identity.SizeBytes, size))
		}
		d.Target.SectorSize = ssz
	}
	return nil
}

// identityChanges lists what differs between the planned target and now.
func identityChanges(plan, now Target) []string {
	var out []string
	diff := func(what, a, b string) {
		if a != b {
			out = append(out, fmt.Sprintf("%s %q, now %q", what, a, b))
		}
	}
	diff("node", plan.Node, now.Node)
	diff("kind", plan.Kind, now.Kind)
	a, b := plan.Identity, now.Identity
	diff("device number", a.DevNo, b.DevNo)
	diff("serial", a.Serial, b.Serial)
	diff("WWN", a.WWN, b.WWN)
	diff("model", a.Model, b.Model)
	diff("backing file", a.BackingFile, b.BackingFile)
	if a.SizeBytes != b.SizeBytes {
		out = append(out, fmt.Sprintf("size %d, now %d bytes", a.SizeBytes, b.SizeBytes))
	}
	if a.Inode != b.Inode {
		out = append(out, fmt.Sprintf("inode %d, now %d", a.Inode, b.Inode))
	}
	return out
}

// ReadPath names the opened device for reading it back: the process's own descriptor
// under /proc/self/fd, so a verifier opens the very device that was written, not
// whatever its path names now.
func (d *Device) ReadPath() string { return fmt.Sprintf("/proc/self/fd/%d", d.f.Fd()) }

// WriteAt writes p at off. With O_DIRECT, p must be aligned in memory and, except for
// an image file's last bytes, in length and offset to the sector size.
func (d *Device) WriteAt(p []byte, off int64) (int, error) {
	if d.tail != nil && len(p)%d.Target.SectorSize != 0 {
		return d.tail.WriteAt(p, off)
	}
	return d.f.WriteAt(p, off)
}

// Sync flushes what was written to the medium; for a drive this asks it to empty
// its volatile cache.
func (d *Device) Sync() error {
	if d.tail != nil {
		if err := d.tail.Sync(); err != nil {
			return err
		}
	}
	return d.f.Sync()
}

// Close releases the device.
func (d *Device) Close() error {
	var err error
	if d.tail != nil {
		err = d.tail.Close()
	}
	return errors.Join(err, d.f.Close())
}

// Commands returns the command interfaces of the opened drive, for a firmware sanitize:
// NVMe admin passthrough for an NVMe namespace, SG_IO otherwise. They go through a
// duplicate of the descriptor the gate opened and checked, never through a new open of
// the device node. The caller closes the Drive.
func (d *Device) Commands() (Drive, error) {
	if d.Target.Kind != KindDrive {
		return Drive{}, fmt.Errorf("%s: a firmware sanitize applies to whole drives only", d.Target.Path)
	}
	fd, err := unix.FcntlInt(d.f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return Drive{}, fmt.Errorf("%s: %w", d.Target.Path, err)
	}
	f := os.NewFile(uintptr(fd), d.Target.Node)
	drv := Drive{Path: d.Target.Path, Size: d.Target.Size()}
	if d.Target.Drive.Transport == inventory.TransportNVMe {
		nv := devio.NewNVMeDevice(f)
		nsid, err := nv.NamespaceID()
		if err != nil {
			nv.Close()
			return Drive{}, err
		}
		drv.NVMe, drv.NSID, drv.closer = nv, nsid, nv.Close
		return drv, nil
	}
	sg := devio.NewSGDevice(f)
	drv.SCSI, drv.closer = sg, sg.Close
	return drv, nil
}

// Regeometry reads the device's size again, after a Host Protected Area was removed:
// the overwrite then covers the sectors it hid.
func (d *Device) Regeometry() error {
	size, ssz, err := blockio.Geometry(d.f)
	if err != nil {
		return fmt.Errorf("%s: %w", d.Target.Path, err)
	}
	d.Target.Identity.SizeBytes, d.Target.SectorSize = size, ssz
	return nil
}

// DropCache discards the kernel's cached pages of the device (BLKFLSBUF), so that what
// is read afterwards comes from the drive.
func (d *Device) DropCache() error {
	if d.Target.Kind == KindFile {
		return nil
	}
	return unix.IoctlSetInt(int(d.f.Fd()), unix.BLKFLSBUF, 0)
}
