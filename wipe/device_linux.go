package wipe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/decom-project/decom/internal/blockio"
	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/inventory"
)

// Handle is a target the gate opened for writing. It is the only way decom writes to
// a drive, a partition or an image file.
type Handle struct {
	Target Target
	// Direct reports whether writes bypass the page cache (O_DIRECT). When the
	// target refuses O_DIRECT (a file on tmpfs, say) writes are buffered and the
	// engine syncs periodically.
	Direct bool

	// f is the opened target; for an image file whose size is not a multiple of
	// the sector size, with a buffered descriptor for the last bytes that reopens f
	// itself (through /proc/self/fd), never the file's path.
	f *blockio.File
	// disk is the whole-disk node of a partition, held open for its BSD lock.
	disk *os.File
}

// Open checks t again, right before writing, and opens it. It refuses when anything
// the plan relied on changed: the inventory's verdict, the device number, the
// drive's serial, WWN, model or size, a loop device's backing file, an image file's
// inode. Drives and partitions are opened exclusively (O_EXCL), so the kernel
// refuses if anything mounts or claims them meanwhile, and the opened descriptor
// is checked to be the very device that was planned: its device number and size,
// and what the drive itself answers to identify commands sent through it (serial
// and WWN; a loop device's backing file). The target is held with an exclusive BSD
// lock (flock) until Close, and refused when another program holds one: for a
// partition, on its whole disk too.
func (g *Gate) Open(ctx context.Context, t Target) (*Handle, error) {
	now, err := g.Check(ctx, t.Path)
	if err != nil {
		return nil, err
	}
	if diffs := identityChanges(t, now); len(diffs) > 0 {
		return nil, refused(t.Path, "changed since the plan: "+strings.Join(diffs, ", "))
	}
	f, err := blockio.Open(t.Node, blockio.Mode{Write: true, Exclusive: t.Kind != KindFile})
	switch {
	case errors.Is(err, unix.EBUSY):
		return nil, refused(t.Path, "in use: the kernel refused exclusive access (mounted, or claimed by another program)")
	case errors.Is(err, blockio.ErrUnsupported):
		return nil, refused(t.Path, notPlanned(t.Kind))
	case err != nil:
		return nil, fmt.Errorf("%s: open for writing: %w", t.Path, err)
	}
	d := &Handle{Target: t, Direct: f.Direct, f: f}
	if err := g.confirm(ctx, d); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// OpenAll opens each of ts as Open does, in order, checking them all against one
// inventory scan taken first instead of a scan for each: a scan reads every drive of
// the machine whatever it was asked about (about 12 ms with 20 loop devices on an idle
// machine, several times that under load), so opening 16 targets cost 16 of them,
// run one after another while the first targets were already being written. The
// checks themselves are Open's: the inventory's verdict, the identity compared with
// the plan, the exclusive open, and the descriptor's own answers. A target the scan
// does not hold (a device that appeared since, or one gone) is looked up on its own,
// which gives its precise error. hs[i] is nil where errs[i] is not.
func (g *Gate) OpenAll(ctx context.Context, ts []Target) (hs []*Handle, errs []error) {
	hs, errs = make([]*Handle, len(ts)), make([]error, len(ts))
	og := g
	if len(ts) > 1 && g.lookup == nil {
		// On a scan error each Open scans for itself and reports its own error.
		if devs, err := g.scanAll(ctx); err == nil {
			og = g.withScan(devs)
		}
	}
	for i, t := range ts {
		hs[i], errs[i] = og.Open(ctx, t)
	}
	return hs, errs
}

// withScan is g answering its lookups and scans from devs.
func (g *Gate) withScan(devs []inventory.Device) *Gate {
	s := *g
	s.scan = func(context.Context) ([]inventory.Device, error) { return devs, nil }
	s.lookup = func(ctx context.Context, path string) (inventory.Device, error) {
		var st unix.Stat_t
		if err := unix.Stat(filepath.Join(g.root(), path), &st); err == nil && st.Mode&unix.S_IFMT == unix.S_IFBLK {
			n := blockio.DevNo(st.Rdev)
			for _, d := range devs {
				holds := d.DevNo == n || slices.ContainsFunc(d.Partitions, func(p inventory.Partition) bool { return p.DevNo == n })
				if holds && d.SizeBytes > 0 {
					return d, nil
				}
			}
		}
		return g.lookupDevice(ctx, path)
	}
	return &s
}

// notPlanned is the refusal of a descriptor that is not the target planned.
func notPlanned(kind string) string {
	if kind == KindFile {
		return "the file opened is not the file planned"
	}
	return "the device opened is not the device planned"
}

// confirm checks that the opened descriptor is the planned target, with the planned
// size, and locks it.
func (g *Gate) confirm(ctx context.Context, d *Handle) error {
	t, f := d.Target, d.f
	switch t.Kind {
	case KindFile:
		if f.Block || f.Inode != uint64(t.Identity.Inode) || blockio.DevNo(f.Dev) != t.Identity.DevNo {
			return refused(t.Path, notPlanned(t.Kind))
		}
		if uint64(f.Size) != t.Identity.SizeBytes {
			return refused(t.Path, fmt.Sprintf("size changed since the plan: %d, now %d bytes", t.Identity.SizeBytes, f.Size))
		}
		if err := lock(ctx, f.OS(), t.Path); err != nil {
			return err
		}
		d.Target.Identity.ConfirmedBy = ConfirmedByFstat
		d.Target.Identity.Confirmed = []string{"device number", "inode", "size"}
		return nil
	}
	if !f.Block || blockio.DevNo(f.Rdev) != t.Identity.DevNo {
		return refused(t.Path, notPlanned(t.Kind))
	}
	if uint64(f.Size) != t.Identity.SizeBytes {
		return refused(t.Path, fmt.Sprintf("size changed since the plan: %d, now %d bytes", t.Identity.SizeBytes, f.Size))
	}
	d.Target.SectorSize = f.SectorSize
	if err := lock(ctx, f.OS(), t.Node); err != nil {
		return err
	}
	if t.Kind == KindPartition {
		var err error
		if d.disk, err = g.lockWholeDisk(ctx, t); err != nil {
			return err
		}
	}
	return g.confirmIdentity(d)
}

// lock takes the exclusive BSD lock on f, or says who holds it.
func lock(ctx context.Context, f *os.File, name string) error {
	reason, err := lockExclusive(ctx, f, name)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if reason != "" {
		return refused(name, reason)
	}
	return nil
}

// lockWholeDisk opens the drive that holds partition t, read-only, checks it is the
// planned drive, and locks it: udev and systemd lock the whole disk, not the
// partition, when they work on a partition.
func (g *Gate) lockWholeDisk(ctx context.Context, t Target) (*os.File, error) {
	node := filepath.Join(g.root(), t.Drive.Path)
	f, err := os.OpenFile(node, os.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: open its drive %s to lock it: %w", t.Path, t.Drive.Path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", t.Drive.Path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK || blockio.DevNo(st.Rdev) != t.Drive.DevNo {
		f.Close()
		return nil, refused(t.Path, fmt.Sprintf("%s is not the drive planned (device %s, planned %s)",
			t.Drive.Path, blockio.DevNo(st.Rdev), t.Drive.DevNo))
	}
	if err := lock(ctx, f, t.Drive.Path); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// confirmIdentity asks the opened device who it is and refuses it when its answer
// differs from the plan; it records how the identity was confirmed.
func (g *Gate) confirmIdentity(d *Handle) error {
	t := d.Target
	r := g.identity
	if r == nil {
		r = fdIdentity{}
	}
	got, err := r.readIdentity(d)
	if err != nil {
		// The device answers no identify command: its device number and size are
		// what there is, as before identify commands were sent.
		if g.Logger != nil {
			g.Logger.Debug("identity not read through the opened descriptor", "device", t.Path, "reason", err.Error())
		}
		d.Target.Identity.ConfirmedBy = ConfirmedByFstat
		d.Target.Identity.Confirmed = []string{"device number", "size"}
		return nil
	}
	diffs, compared := identityDiffs(t.Identity, got)
	if len(diffs) > 0 {
		return refused(t.Path, fmt.Sprintf("changed since the plan: %s (the drive's own answer to %s, through the descriptor opened for writing)",
			strings.Join(diffs, ", "), got.How))
	}
	d.Target.Identity.ConfirmedBy = got.How
	if len(compared) == 0 {
		d.Target.Identity.ConfirmedBy = ConfirmedByFstat
	}
	d.Target.Identity.Confirmed = append([]string{"device number", "size"}, compared...)
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
	if !sameBacking(a.Backing, b.Backing) {
		out = append(out, fmt.Sprintf("backing object %s, now %s", describeBacking(a.Backing), describeBacking(b.Backing)))
	}
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
func (d *Handle) ReadPath() string { return d.f.ProcPath() }

// WriteAt writes p at off. With O_DIRECT, p must be aligned in memory and, except for
// an image file's last bytes, in length and offset to the sector size.
func (d *Handle) WriteAt(p []byte, off int64) (int, error) { return d.f.WriteAt(p, off) }

// Sync flushes what was written to the medium; for a drive this asks it to empty
// its volatile cache.
func (d *Handle) Sync() error { return d.f.Sync() }

// Close releases the device, and with it the locks.
func (d *Handle) Close() error {
	err := d.f.Close()
	if d.disk != nil {
		err = errors.Join(err, d.disk.Close())
	}
	return err
}

// Commands returns the command interfaces of the opened drive, for a firmware sanitize:
// NVMe admin passthrough for an NVMe namespace, SG_IO otherwise. They go through a
// duplicate of the descriptor the gate opened and checked, never through a new open of
// the device node. The caller closes the Drive.
func (d *Handle) Commands() (DriveCommands, error) {
	if d.Target.Kind != KindDrive {
		return DriveCommands{}, fmt.Errorf("%s: a firmware sanitize applies to whole drives only", d.Target.Path)
	}
	return d.commands()
}

// commands opens the command interface of the opened device, whole drive or not:
// NVMe admin passthrough for an NVMe namespace, SG_IO otherwise, on a duplicate of
// the checked descriptor.
func (d *Handle) commands() (DriveCommands, error) {
	fd, err := unix.FcntlInt(d.f.OS().Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return DriveCommands{}, fmt.Errorf("%s: %w", d.Target.Path, err)
	}
	f := os.NewFile(uintptr(fd), d.Target.Node)
	drv := DriveCommands{Path: d.Target.Path, Size: d.Target.Size()}
	if d.Target.Drive.Transport == inventory.TransportNVMe {
		nv := devio.NewNVMeDevice(f)
		nsid, err := nv.NamespaceID()
		if err != nil {
			nv.Close()
			return DriveCommands{}, err
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
func (d *Handle) Regeometry() error {
	if err := d.f.Regeometry(); err != nil {
		return fmt.Errorf("%s: %w", d.Target.Path, err)
	}
	d.Target.Identity.SizeBytes, d.Target.SectorSize = uint64(d.f.Size), d.f.SectorSize
	return nil
}

// DropCache discards the kernel's cached pages of the device (BLKFLSBUF), so that what
// is read afterwards comes from the drive.
func (d *Handle) DropCache() error { return d.f.DropCache() }
