package inventory

import (
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/decom-project/decom/inventory/signature"
	"github.com/diskfs/go-diskfs/partition/gpt"
	"github.com/diskfs/go-diskfs/partition/mbr"
)

// maxGPTEntries bounds the partition entry array inventory agrees to read. The UEFI
// default is 128 entries of 128 bytes; a header asking for more than 1 MiB is treated as
// damaged rather than allocated.
const maxGPTEntryBytes = 1 << 20

// tableEntry is what an on-disk partition table says about one partition.
type tableEntry struct {
	Start, Size uint64 // bytes
	Type        string
	Label       string
}

// diskLayout is what a device's own first and last sectors say.
type diskLayout struct {
	Table      string // gpt, mbr or none
	Filesystem string // signature on the whole device
	Entries    map[int]tableEntry
}

// readLayout reads the partition table and whole-device signature from r, a device of
// size bytes with the given sector sizes. It only reads. Damaged or hostile tables are
// reported as errors, never trusted with an allocation or allowed to panic.
func readLayout(r io.ReaderAt, size int64, logical, physical int) (layout diskLayout, err error) {
	defer func() {
		if p := recover(); p != nil {
			layout, err = diskLayout{}, fmt.Errorf("partition table parser failed on this device's data: %v", p)
		}
	}()
	if logical <= 0 {
		logical = 512
	}
	if physical <= 0 {
		physical = logical
	}
	f := &readerFile{r: r, size: size}

	if ok, err := plausibleGPT(r, logical); err != nil {
		return diskLayout{}, err
	} else if ok {
		if t, err := gpt.Read(f, logical, physical); err == nil {
			layout = diskLayout{Table: TableGPT, Entries: map[int]tableEntry{}}
			for _, p := range t.Partitions {
				if p.Type == gpt.Unused {
					continue
				}
				layout.Entries[p.Index] = tableEntry{
					Start: p.Start * uint64(logical),
					Size:  (p.End - p.Start + 1) * uint64(logical),
					Type:  strings.ToLower(string(p.Type)), // as udev and blkid spell it
					Label: p.Name,
				}
			}
			return layout, nil
		}
	}

	sig, err := signature.Probe(r, size)
	if err != nil {
		return diskLayout{}, err
	}
	switch sig.Type {
	case "vfat", "ntfs", "exfat":
		// Their boot sectors end in 0x55AA like an MBR; the signature decides.
		return diskLayout{Table: TableNone, Filesystem: sig.Type}, nil
	}
	if t, err := mbr.Read(f, logical, physical); err == nil {
		layout = diskLayout{Table: TableMBR, Filesystem: sig.Type, Entries: map[int]tableEntry{}}
		for _, p := range t.Partitions {
			if p.Type == mbr.Empty {
				continue
			}
			layout.Entries[p.Index] = tableEntry{
				Start: uint64(p.Start) * uint64(logical),
				Size:  uint64(p.Size) * uint64(logical),
				Type:  fmt.Sprintf("0x%02x", byte(p.Type)),
			}
		}
		if len(layout.Entries) > 0 {
			return layout, nil
		}
	}
	return diskLayout{Table: TableNone, Filesystem: sig.Type}, nil
}

// plausibleGPT reports whether LBA 1 holds a GPT header whose entry array is of a
// sane size. A header with a bad size is an error: the device claims a GPT that
// cannot be right.
func plausibleGPT(r io.ReaderAt, logical int) (bool, error) {
	hdr := make([]byte, 92)
	if _, err := r.ReadAt(hdr, int64(logical)); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return false, nil
		}
		return false, fmt.Errorf("read partition table: %w", err)
	}
	if string(hdr[:8]) != "EFI PART" {
		return false, nil
	}
	count := uint64(binary.LittleEndian.Uint32(hdr[80:84]))
	entrySize := uint64(binary.LittleEndian.Uint32(hdr[84:88]))
	if entrySize < 128 || entrySize%8 != 0 || count*entrySize > maxGPTEntryBytes {
		return false, fmt.Errorf("implausible GPT header: %d entries of %d bytes", count, entrySize)
	}
	return true, nil
}

// readerFile presents an io.ReaderAt of known size as the file go-diskfs reads.
type readerFile struct {
	r    io.ReaderAt
	size int64
	off  int64
}

func (f *readerFile) ReadAt(p []byte, off int64) (int, error) { return f.r.ReadAt(p, off) }
func (f *readerFile) Read(p []byte) (int, error) {
	n, err := f.r.ReadAt(p, f.off)
	f.off += int64(n)
	return n, err
}
func (f *readerFile) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += f.off
	case io.SeekEnd:
		offset += f.size
	default:
		return 0, fmt.Errorf("seek: bad whence %d", whence)
	}
	if offset < 0 {
		return 0, fmt.Errorf("seek: negative offset")
	}
	f.off = offset
	return offset, nil
}
func (f *readerFile) Close() error               { return nil }
func (f *readerFile) Stat() (fs.FileInfo, error) { return readerFileInfo{f.size}, nil }

type readerFileInfo struct{ size int64 }

func (i readerFileInfo) Name() string       { return "device" }
func (i readerFileInfo) Size() int64        { return i.size }
func (i readerFileInfo) Mode() fs.FileMode  { return 0o400 }
func (i readerFileInfo) ModTime() time.Time { return time.Time{} }
func (i readerFileInfo) IsDir() bool        { return false }
func (i readerFileInfo) Sys() any           { return nil }

// applyLayout merges what the device's bytes say into d, over what udev said. A
// partition in the table that the kernel has no device for (its partition scanning
// is off, or it does not know the table type) is listed with an empty Path.
func applyLayout(d *Device, layout diskLayout) {
	d.PartitionTable = layout.Table
	if layout.Filesystem != "" {
		d.Filesystem = layout.Filesystem
	}
	numbers := make([]int, 0, len(layout.Entries))
	for n := range layout.Entries {
		numbers = append(numbers, n)
	}
	slices.Sort(numbers)
	for _, n := range numbers {
		e := layout.Entries[n]
		i := slices.IndexFunc(d.Partitions, func(p Partition) bool { return p.Number == n })
		if i < 0 {
			d.Partitions = append(d.Partitions, Partition{Number: n, Start: e.Start, Size: e.Size})
			i = len(d.Partitions) - 1
		}
		p := &d.Partitions[i]
		p.Type = e.Type
		if e.Label != "" {
			p.Label = e.Label
		}
	}
	slices.SortFunc(d.Partitions, func(a, b Partition) int { return a.Number - b.Number })
}

// probeDevice reads the device's own bytes, read-only, for its partition table and
// signatures. A device that cannot be opened keeps what udev said.
func probeDevice(d *Device, root string, log *slog.Logger) {
	if d.SizeBytes == 0 {
		return
	}
	f, err := openForProbe(root, d.Name, d.DevNo)
	if err != nil {
		log.Debug("device bytes not read; partition table and signatures from udev only", "device", d.Path, "err", err)
		return
	}
	defer f.Close()
	size := int64(d.SizeBytes)
	layout, err := readLayout(f, size, int(d.LogicalSectorSize), int(d.PhysicalSectorSize))
	if err != nil {
		log.Warn("cannot read the partition table", "device", d.Path, "err", err)
		return
	}
	applyLayout(d, layout)
	for i := range d.Partitions {
		p := &d.Partitions[i]
		if p.Start >= uint64(size) || p.Size == 0 {
			continue
		}
		psize := min(int64(p.Size), size-int64(p.Start))
		sig, err := signature.Probe(io.NewSectionReader(f, int64(p.Start), psize), psize)
		if err != nil {
			log.Warn("cannot read a partition's signature", "partition", p.Path, "err", err)
			continue
		}
		if sig.Type != "" {
			p.Filesystem = sig.Type
		}
	}
}
