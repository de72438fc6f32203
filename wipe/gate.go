package wipe

import (
	"context"
	"errors"
	"fmt"
	"github.com/decom-project/decom/internal/blockio"
	"github.com/decom-project/decom/internal/jsonint"
	"io/fs"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/decom-project/decom/inventory"
)

// Target kinds.
const (
	KindDrive     = "drive"
	KindPartition = "partition"
	KindFile      = "file"
)

// ErrRefused is what every refusal of the safety gate wraps: nothing was written.
var ErrRefused = errors.New("refused")

// RefusedError says why the gate will not let a target be written.
type RefusedError struct {
	Path    string
	Reasons []string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s: refused: %s", e.Path, strings.Join(e.Reasons, "; "))
}

func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

func refused(path string, reasons ...string) error {
	return &RefusedError{Path: path, Reasons: reasons}
}

// Identity is what must still hold when the first byte is written: the same device
// number, the same drive (serial, WWN, model), the same size, and for loop devices
// the same backing file; for image files the same inode.
type Identity struct {
	DevNo       string `json:"dev_no,omitempty"`
	Serial      string `json:"serial,omitempty"`
	WWN         string `json:"wwn,omitempty"`
	Model       string `json:"model,omitempty"`
	SizeBytes   uint64 `json:"size_bytes"`
	BackingFile string `json:"backing_file,omitempty"`
	// Backing is what a loop device sits on, by device number or inode (and the part
	// of it shown), whatever its path is now.
	Backing *inventory.Backing `json:"backing,omitempty"`
	// Inode is an image file's inode number, a JSON string: on some filesystems
	// (overlayfs, large XFS) it exceeds what float-based JSON readers hold exactly.
	Inode jsonint.Uint64 `json:"inode,omitempty"`

	// ConfirmedBy says how the gate made sure, through the descriptor it opened for
	// writing, that it holds the planned target (one of the ConfirmedBy constants),
	// and Confirmed what it compared there; both are empty until Open.
	ConfirmedBy string   `json:"confirmed_by,omitempty"`
	Confirmed   []string `json:"confirmed,omitempty"`
}

// Target is a device or file that passed the gate's first check, with what the gate
// saw of it. Open checks it all again right before writing.
type Target struct {
	// Path is the path as given, made absolute against the working directory; Node
	// the block device node or regular file it resolves to.
	Path string `json:"path"`
	Node string `json:"node"`
	Kind string `json:"kind"`
	// Drive is the inventory of the whole drive (for a partition, the drive that holds
	// it); empty for files.
	Drive      inventory.Device `json:"-"`
	Partition  int              `json:"partition,omitempty"`
	Identity   Identity         `json:"identity"`
	SectorSize int              `json:"sector_size"`
	Warnings   []string         `json:"warnings,omitempty"`
}

// Size is the number of bytes a wipe of t overwrites.
func (t Target) Size() int64 { return int64(t.Identity.SizeBytes) }

// Gate is the one safety gate. Every path that writes to a device or file gets there
// through Check and Open; nothing else in decom opens a target for writing.
type Gate struct {
	// Inventory configures the scans the gate relies on.
	Inventory inventory.Options
	Logger    *slog.Logger

	// lookup and scan replace inventory's in tests.
	lookup func(ctx context.Context, path string) (inventory.Device, error)
	scan   func(ctx context.Context) ([]inventory.Device, error)
	// identity replaces the drive's own answers in tests.
	identity identityReader
}

func (g *Gate) lookupDevice(ctx context.Context, path string) (inventory.Device, error) {
	if g.lookup != nil {
		return g.lookup(ctx, path)
	}
	return inventory.Lookup(ctx, g.Inventory, path)
}

func (g *Gate) scanAll(ctx context.Context) ([]inventory.Device, error) {
	if g.scan != nil {
		return g.scan(ctx)
	}
	return inventory.Scan(ctx, g.Inventory)
}

// Check decides whether path may be wiped at all, from the inventory's verdict. It
// writes nothing and opens nothing for writing.
//
// A relative path is taken relative to the working directory, as a shell would; the
// Target's Path is then absolute. (With a fake Inventory.Root, the absolute path is
// resolved below it.)
func (g *Gate) Check(ctx context.Context, path string) (Target, error) {
	if path == "" {
		return Target{}, fmt.Errorf("empty path: %w", inventory.ErrNotFound)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return Target{}, fmt.Errorf("%s: %w", path, err)
	}
	path = abs
	node, err := filepath.EvalSymlinks(filepath.Join(g.root(), path))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Target{}, fmt.Errorf("%s: %w", path, inventory.ErrNotFound)
		}
		return Target{}, fmt.Errorf("%s: %w", path, err)
	}
	var st unix.Stat_t
	if err := unix.Stat(node, &st); err != nil {
		return Target{}, fmt.Errorf("%s: %w", path, err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		return g.checkFile(ctx, path, node, st)
	case unix.S_IFBLK:
		return g.checkBlock(ctx, path, node, st)
	}
	return Target{}, refused(path, "neither a block device nor a regular image file")
}

func (g *Gate) root() string {
	if g.Inventory.Root == "" {
		return "/"
	}
	return g.Inventory.Root
}

func (g *Gate) checkBlock(ctx context.Context, path, node string, st unix.Stat_t) (Target, error) {
	d, err := g.lookupDevice(ctx, path)
	if err != nil {
		return Target{}, err
	}
	devNo := blockio.DevNo(st.Rdev)
	t := Target{Path: path, Node: node, Kind: KindDrive, Drive: d, SectorSize: int(d.LogicalSectorSize),
		Identity: driveIdentity(d)}
	if devNo == d.DevNo {
		if !d.Wipeable {
			return Target{}, refused(path, d.Refusals...)
		}
		return t, nil
	}
	i := slices.IndexFunc(d.Partitions, func(p inventory.Partition) bool { return p.DevNo == devNo })
	if i < 0 {
		return Target{}, fmt.Errorf("%s: %w", path, inventory.ErrVanished)
	}
	p := d.Partitions[i]
	if len(p.Refusals) > 0 {
		return Target{}, refused(path, p.Refusals...)
	}
	t.Kind = KindPartition
	t.Partition = p.Number
	t.Identity.DevNo = devNo
	t.Identity.SizeBytes = p.Size
	t.Warnings = append(t.Warnings, fmt.Sprintf(
		"%s is a partition: only it is overwritten; the rest of %s and its partition table stay", path, d.Path))
	return t, nil
}

func driveIdentity(d inventory.Device) Identity {
	id := Identity{DevNo: d.DevNo, Serial: d.Serial, WWN: d.WWN, Model: d.Model,
		SizeBytes: d.SizeBytes, BackingFile: d.BackingFile}
	if d.Backing != nil {
		b := *d.Backing // the plan's own copy
		id.Backing = &b
	}
	return id
}

func (g *Gate) checkFile(ctx context.Context, path, node string, st unix.Stat_t) (Target, error) {
	if reasons := g.fileRefusals(ctx, node, st); len(reasons) > 0 {
		return Target{}, refused(path, reasons...)
	}
	if st.Size == 0 {
		return Target{}, refused(path, "empty file: nothing to overwrite")
	}
	return Target{Path: path, Node: node, Kind: KindFile, SectorSize: 512,
		Identity: Identity{DevNo: blockio.DevNo(st.Dev),
			Inode: jsonint.Uint64(st.Ino), SizeBytes: uint64(st.Size)}}, nil
}

// fileRefusals says why an image file must not be written: it backs a loop device
// (whose user would see its data change underneath), or it lives below /dev, /proc
// or /sys. A backing file is recognised by its device and inode, so a hard link or a
// bind-mounted path to it is refused like the file itself; the path is compared only
// for loop devices the inventory could not resolve.
func (g *Gate) fileRefusals(ctx context.Context, node string, st unix.Stat_t) []string {
	for _, dir := range []string{"dev", "proc", "sys"} {
		if strings.HasPrefix(node, filepath.Join(g.root(), dir)+"/") {
			return []string{"not an image file: it lives below /" + dir}
		}
	}
	devNo := blockio.DevNo(st.Dev)
	devs, err := g.scanAll(ctx)
	if err != nil {
		return []string{"cannot tell whether a loop device uses it: " + err.Error()}
	}
	var out []string
	for _, d := range devs {
		var backs bool
		if b := d.Backing; b != nil && b.Inode != 0 {
			backs = uint64(b.Inode) == st.Ino && b.FSDevNo == devNo
		} else if b == nil && d.BackingFile != "" {
			backs = filepath.Clean(d.BackingFile) == strings.TrimPrefix(node, strings.TrimSuffix(g.root(), "/"))
		}
		if backs {
			out = append(out, "backs loop device "+d.Path+": detach it first")
		}
	}
	return out
}
