package inventory

import (
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/decom-project/decom/internal/blockio"
	"github.com/decom-project/decom/internal/jsonint"
)

// maxLoopDepth bounds how far a chain of loop devices is followed. The kernel refuses
// cycles and limits chains itself; the bound guards against a fake or racing tree.
const maxLoopDepth = 16

// loopLink is a loop device's resolved backing, tied to the device graph.
type loopLink struct {
	backing *Backing
	node    string // backing block device (a disk, partition or loop device); "" for a file
	disk    string // the whole device that holds node
}

// fileKey identifies a backing regular file; "" for a block device or an unresolved one.
func (l loopLink) fileKey() string {
	if l.backing == nil || l.backing.Inode == 0 || l.backing.FSDevNo == "" {
		return ""
	}
	return fmt.Sprintf("%s/%d", l.backing.FSDevNo, l.backing.Inode)
}

// loopStatus asks the kernel what a loop device sits on; the real one issues
// LOOP_GET_STATUS64 on /dev/NAME opened read-only.
type loopStatus func(name, devNo string) (*unix.LoopInfo64, error)

// loops resolves every attached loop device among ns to what it sits on. A device the
// kernel cannot be asked about (no status function, an error) is resolved from sysfs.
func (s sysfs) loops(ns nodes, status loopStatus, log *slog.Logger) map[string]loopLink {
	out := map[string]loopLink{}
	for _, name := range slices.Sorted(maps.Keys(ns.byName)) {
		n := ns.byName[name]
		if n.parent != "" || !strings.HasPrefix(name, "loop") {
			continue
		}
		// The kernel shows loop/ only while the device is bound to a backing object.
		file := readString(filepath.Join(n.dir, "loop", "backing_file"))
		if file == "" {
			continue
		}
		var b *Backing
		if status != nil {
			info, err := status(name, n.devNo)
			if err == nil {
				b = BackingFromStatus(info)
			} else {
				log.Debug("LOOP_GET_STATUS64 failed; resolving the loop device from sysfs", "device", "/dev/"+name, "err", err)
			}
		}
		if b == nil {
			b = s.backingFromSysfs(n, file, ns)
		}
		if b == nil {
			log.Warn("cannot tell what a loop device sits on", "device", "/dev/"+name, "backing_file", file)
			continue
		}
		l := loopLink{backing: b}
		if b.DevNo != "" {
			if bn, ok := ns.byDevNo[b.DevNo]; ok {
				l.node, l.disk = bn.name, bn.name
				if bn.parent != "" {
					l.disk = bn.parent
				}
				b.Device = "/dev/" + bn.name
			}
		}
		out[name] = l
	}
	return out
}

// BackingFromStatus reads LOOP_GET_STATUS64's answer: lo_rdevice is the backing
// inode's rdev, non-zero only for a block device; lo_device and lo_inode identify a
// backing file. Nil for a detached device.
func BackingFromStatus(info *unix.LoopInfo64) *Backing {
	b := &Backing{Offset: info.Offset, SizeLimit: info.Sizelimit, Source: "ioctl"}
	switch {
	case info.Rdevice != 0:
		b.DevNo = blockio.DevNo(info.Rdevice)
	case info.Inode != 0:
		b.FSDevNo, b.Inode = blockio.DevNo(info.Device), jsonint.Uint64(info.Inode)
	default:
		return nil
	}
	return b
}

// backingFromSysfs resolves a loop device from its backing_file: a stat of that path
// below the root, or, on a fake host without device nodes, a /dev/NAME that names a
// block device sysfs knows. Nil when the file is gone or unreadable.
func (s sysfs) backingFromSysfs(n node, file string, ns nodes) *Backing {
	b := &Backing{Source: "sysfs"}
	b.Offset, _ = readUint(filepath.Join(n.dir, "loop", "offset"))
	b.SizeLimit, _ = readUint(filepath.Join(n.dir, "loop", "sizelimit"))
	if strings.HasSuffix(file, " (deleted)") {
		return nil // its name now is nobody's: only the kernel can say which inode it was
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(s.root, file), &st); err == nil {
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFBLK:
			b.DevNo = blockio.DevNo(st.Rdev)
			return b
		case unix.S_IFREG:
			b.FSDevNo, b.Inode = blockio.DevNo(st.Dev), jsonint.Uint64(st.Ino)
			return b
		}
		return nil
	}
	if name, ok := strings.CutPrefix(file, "/dev/"); ok {
		if bn, ok := ns.byName[name]; ok {
			b.DevNo = bn.devNo
			return b
		}
	}
	return nil
}

// ioctlLoopStatus opens /dev/NAME below root read-only, checks it is the block device
// devNo, and asks it LOOP_GET_STATUS64.
func ioctlLoopStatus(root string) loopStatus {
	return func(name, devNo string) (*unix.LoopInfo64, error) {
		f, err := openForProbe(root, name, devNo)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return unix.IoctlLoopGetStatus64(int(f.Fd()))
	}
}

// reason is one refusal of a device, with what inheritance needs to pass it on to
// the loop devices above.
type reason struct {
	text string // as listed in Refusals
	// origin is the device whose state causes the refusal: what is mounted, swapping,
	// holding or sitting on the drive. "" for the drive's own state (read-only, …).
	origin string
	// clause says the same of the drive after "which": "is mounted on /mnt".
	clause string
}

// loopView is what inheritance knows of one device: its own refusals and, for a
// loop device, what it sits on.
type loopView struct {
	own  []reason
	link *loopLink
}

// inheritedRefusals lists what the loop device name inherits: the refusals of the
// device it sits on (and of that device's whole disk), of the loop devices that share
// its backing file, and so on down the chain. A refusal that the device causes itself
// (it, or something stacked on it, is what makes the device below busy) is not passed
// back up. restsOn(name) is the set of devices name rests on, itself included.
// views lacks a device when it could not be inventoried; sitting on such a device is
// a refusal of its own.
func inheritedRefusals(name string, views map[string]loopView, restsOn func(string) map[string]bool) []string {
	var out []string
	seen := map[string]bool{name: true}
	var walk func(cur string, members, chain []string)
	walk = func(cur string, members, chain []string) {
		v, ok := views[cur]
		if !ok || v.link == nil || len(chain) >= maxLoopDepth {
			return
		}
		type hop struct{ name, phrase string }
		var next []hop
		switch l := v.link; {
		case l.disk != "":
			phrase := "sits on /dev/" + l.node
			if l.node != l.disk {
				phrase += " of /dev/" + l.disk
			}
			next = append(next, hop{l.disk, phrase})
		case l.backing != nil && l.backing.DevNo != "":
			out = append(out, say(append(slices.Clone(chain), "sits on block device "+l.backing.DevNo),
				reason{clause: "the inventory does not list"}))
		}
		if key := v.link.fileKey(); key != "" {
			for _, p := range slices.Sorted(maps.Keys(views)) {
				if pl := views[p].link; p != cur && pl != nil && pl.fileKey() == key {
					next = append(next, hop{p, "shares its backing file with /dev/" + p})
				}
			}
		}
		for _, h := range next {
			if seen[h.name] {
				continue
			}
			seen[h.name] = true
			ch := append(slices.Clone(chain), h.phrase)
			x, ok := views[h.name]
			if !ok {
				out = append(out, say(ch, reason{clause: "could not be inventoried"}))
				continue
			}
			for _, r := range x.own {
				if r.origin != "" && restsOnAny(restsOn(r.origin), members) {
					continue
				}
				out = append(out, say(ch, r))
			}
			walk(h.name, append(slices.Clone(members), h.name), ch)
		}
	}
	walk(name, []string{name}, nil)
	return out
}

func restsOnAny(under map[string]bool, names []string) bool {
	for _, n := range names {
		if under[n] {
			return true
		}
	}
	return false
}

// say renders an inherited refusal: the chain of hops, then the reason said of the
// last device: "sits on /dev/loop1, which sits on /dev/loop0, which is mounted on /mnt".
func say(chain []string, r reason) string {
	s := chain[0]
	for _, c := range chain[1:] {
		s += ", which " + c
	}
	if r.clause != "" {
		return s + ", which " + r.clause
	}
	return s + ": " + r.text
}

// loopClosure adds to need every device that the loop devices in need sit on or
// share a backing file with, down their chains: what their inheritance reads.
func loopClosure(need map[string]bool, loops map[string]loopLink) {
	work := make([]string, 0, len(need))
	for n := range need {
		work = append(work, n)
	}
	for len(work) > 0 {
		cur := work[len(work)-1]
		work = work[:len(work)-1]
		l, ok := loops[cur]
		if !ok {
			continue
		}
		add := func(n string) {
			if n != "" && !need[n] {
				need[n] = true
				work = append(work, n)
			}
		}
		add(l.disk)
		if key := l.fileKey(); key != "" {
			for p, pl := range loops {
				if pl.fileKey() == key {
					add(p)
				}
			}
		}
	}
}
