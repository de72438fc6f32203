package signature

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strconv"
)

var (
	le = binary.LittleEndian
	be = binary.BigEndian
)

// md RAID superblocks (Linux md driver, mdadm).
const (
	mdMagic    = 0xa92b4efc
	mdReserved = 64 << 10 // 0.90 keeps its superblock in the last 64 KiB-aligned 64 KiB
)

// linuxRAID looks for an md superblock: 0.90 and 1.0 near the end of the device, 1.1 at
// its start and 1.2 at 4 KiB, in the order blkid tries them.
func (p *prober) linuxRAID() (Result, bool, error) {
	if p.size > mdReserved {
		off := p.size&^(mdReserved-1) - mdReserved
		if res, ok, err := p.md090(off); err != nil || ok {
			return res, ok, err
		}
		off = p.size&^(4096-1) - 8192
		if res, ok, err := p.md1(off, "1.0"); err != nil || ok {
			return res, ok, err
		}
	}
	if res, ok, err := p.md1(0, "1.1"); err != nil || ok {
		return res, ok, err
	}
	return p.md1(4096, "1.2")
}

// md090 checks for a version 0.90 superblock, written in the byte order of the host
// that made it.
func (p *prober) md090(off int64) (Result, bool, error) {
	b := p.buf[:64]
	if ok, err := p.read(b, off); !ok || err != nil {
		return Result{}, false, err
	}
	var order binary.ByteOrder
	switch {
	case le.Uint32(b) == mdMagic:
		order = le
	case be.Uint32(b) == mdMagic:
		order = be
	default:
		return Result{}, false, nil
	}
	major, minor, patch := order.Uint32(b[4:]), order.Uint32(b[8:]), order.Uint32(b[12:])
	arrayBytes := int64(order.Uint32(b[32:])) << 10 // the size field counts KiB
	if p.size < arrayBytes+mdReserved || off < arrayBytes {
		return Result{}, false, nil
	}
	// On a whole disk, the superblock of a 0.90 member that is the disk's last
	// partition lands where the disk's own would be. blkid then leaves the disk alone.
	if p.mbrCovers(off-arrayBytes, off+mdReserved) {
		return Result{}, false, nil
	}
	// The UUID is four 32-bit words; the first sits apart from the other three, which
	// exist from minor version 90 on. Each word is printed most significant byte first.
	var id [16]byte
	be.PutUint32(id[0:], order.Uint32(b[20:]))
	if minor >= 90 {
		be.PutUint32(id[4:], order.Uint32(b[52:]))
		be.PutUint32(id[8:], order.Uint32(b[56:]))
		be.PutUint32(id[12:], order.Uint32(b[60:]))
	}
	return Result{
		Type:    LinuxRAID,
		Version: fmt.Sprintf("%d.%d.%d", major, minor, patch),
		UUID:    uuid(id[:]),
	}, true, nil
}

// md1 checks for a version 1 superblock at off. It records its own position in sectors,
// which rules out a superblock seen from the wrong place.
func (p *prober) md1(off int64, version string) (Result, bool, error) {
	b := p.buf[:256]
	if ok, err := p.read(b, off); !ok || err != nil {
		return Result{}, false, err
	}
	if le.Uint32(b) != mdMagic || le.Uint32(b[4:]) != 1 || le.Uint64(b[144:]) != uint64(off)>>9 {
		return Result{}, false, nil
	}
	return Result{
		Type:    LinuxRAID,
		Version: version,
		UUID:    uuid(b[16:32]),
		Label:   text(b[32:64]),
	}, true, nil
}

// mbrCovers reports whether the first sector holds an MBR with a partition spanning
// the byte range [start, end). A GPT's protective entry does not count.
func (p *prober) mbrCovers(start, end int64) bool {
	b := p.boot[:]
	if !p.bootOK || b[510] != 0x55 || b[511] != 0xAA {
		return false
	}
	for i := range 4 {
		e := b[446+16*i : 446+16*(i+1)]
		typ, first, count := e[4], int64(le.Uint32(e[8:])), int64(le.Uint32(e[12:]))
		if e[0]&0x7f != 0 || typ == 0 || typ == 0xee || count == 0 {
			continue
		}
		if first*512 <= start && (first+count)*512 >= end {
			return true
		}
	}
	return false
}

// lvm2 looks for an LVM2 physical volume label in one of the first four sectors. The
// label carries its own sector number and a CRC, both checked.
func (p *prober) lvm2() (Result, bool, error) {
	for sector := range int64(4) {
		b := p.buf[:512]
		if sector == 0 {
			if !p.bootOK {
				continue
			}
			copy(b, p.boot[:])
		} else if ok, err := p.read(b, sector*512); err != nil {
			return Result{}, false, err
		} else if !ok {
			break
		}
		if string(b[0:8]) != "LABELONE" || string(b[24:32]) != "LVM2 001" {
			continue
		}
		if le.Uint64(b[8:]) != uint64(sector) || le.Uint32(b[16:]) != lvmCRC(b[20:512]) {
			continue
		}
		return Result{Type: LVM2, Version: "LVM2 001", UUID: lvmUUID(b[32:64])}, true, nil
	}
	return Result{}, false, nil
}

// lvmCRC is LVM's label checksum: the reflected CRC-32 polynomial with LVM's own
// initial value and no final inversion. crc32.Update inverts on the way in and out, so
// the inversions are undone around it.
func lvmCRC(b []byte) uint32 {
	const initial = 0xf597a6cf
	return ^crc32.Update(^uint32(initial), crc32.IEEETable, b)
}

// lvmUUID prints LVM's 32-character identifier in its 6-4-4-4-4-4-6 groups.
func lvmUUID(b []byte) string {
	for _, c := range b {
		if c < 0x21 || c > 0x7e {
			return ""
		}
	}
	s := string(b)
	return s[0:6] + "-" + s[6:10] + "-" + s[10:14] + "-" + s[14:18] + "-" + s[18:22] + "-" + s[22:26] + "-" + s[26:32]
}

// LUKS headers (cryptsetup). Both versions start with the same magic and a big-endian
// version number.
const (
	luksMagic          = "LUKS\xba\xbe"
	luksSecondaryMagic = "SKUL\xba\xbe"
)

// luksSecondaryOffsets are where a LUKS2 header keeps its copy, by metadata size.
var luksSecondaryOffsets = []int64{0x4000, 0x8000, 0x10000, 0x20000, 0x40000, 0x80000, 0x100000, 0x200000, 0x400000}

// luks looks for a primary LUKS header at offset 0.
func (p *prober) luks() (Result, bool, error) {
	if !p.bootOK {
		return Result{}, false, nil
	}
	res, ok := luksHeader(p.boot[:], luksMagic, 0)
	return res, ok, nil
}

// luks2Secondary looks for a LUKS2 header copy when the primary is gone.
func (p *prober) luks2Secondary() (Result, bool, error) {
	for _, off := range luksSecondaryOffsets {
		b := p.buf[:512]
		ok, err := p.read(b, off)
		if err != nil {
			return Result{}, false, err
		}
		if !ok {
			break
		}
		if b[7] != 2 || b[6] != 0 {
			continue
		}
		if res, ok := luksHeader(b, luksSecondaryMagic, off); ok {
			return res, true, nil
		}
	}
	return Result{}, false, nil
}

// luksHeader parses the first 512 bytes of a LUKS header found at off.
func luksHeader(b []byte, magic string, off int64) (Result, bool) {
	if string(b[0:6]) != magic {
		return Result{}, false
	}
	version := be.Uint16(b[6:])
	res := Result{Type: LUKS, Version: strconv.Itoa(int(version))}
	switch version {
	case 1:
		res.UUID = text(b[168:208])
	case 2:
		// A LUKS2 header records where it is; a copy seen elsewhere is not it.
		if be.Uint64(b[256:]) != uint64(off) {
			return Result{}, false
		}
		res.UUID = text(b[168:208])
		res.Label = text(b[24:72])
	}
	return res, true
}

// ZFS vdev labels: four copies of 256 KiB, two at the start and two at the end of the
// device, each with a ring of uberblocks in its second half.
const (
	zfsLabelSize      = 256 << 10
	zfsUberblockStart = 128 << 10
	zfsUberblockSlot  = 1 << 10 // the smallest uberblock; larger ones fall on these slots too
	zfsNVListStart    = 16 << 10
	zfsMagic          = 0x00bab10c
	zfsWant           = 4        // uberblocks to find before calling it ZFS, as blkid
	zfsMinSize        = 64 << 20 // the smallest vdev ZFS accepts
)

// zfs counts uberblocks, in either byte order, across the four labels.
func (p *prober) zfs() (Result, bool, error) {
	if p.size < zfsMinSize {
		return Result{}, false, nil
	}
	align := p.size % zfsLabelSize
	labels := [4]int64{0, zfsLabelSize, p.size - 2*zfsLabelSize - align, p.size - zfsLabelSize - align}
	found := 0
	for _, label := range labels {
		for chunk := int64(0); chunk < zfsLabelSize-zfsUberblockStart; chunk += int64(len(p.buf)) {
			b := p.buf[:]
			ok, err := p.read(b, label+zfsUberblockStart+chunk)
			if err != nil {
				return Result{}, false, err
			}
			if !ok {
				break
			}
			for slot := 0; slot+16 <= len(b); slot += zfsUberblockSlot {
				var order binary.ByteOrder
				switch {
				case le.Uint64(b[slot:]) == zfsMagic:
					order = le
				case be.Uint64(b[slot:]) == zfsMagic:
					order = be
				default:
					continue
				}
				if found++; found < zfsWant {
					continue
				}
				res := Result{Type: ZFS, Version: strconv.FormatUint(order.Uint64(b[slot+8:]), 10)}
				if err := p.zfsPool(label, &res); err != nil {
					return Result{}, false, err
				}
				return res, true, nil
			}
		}
	}
	return Result{}, false, nil
}

// zfsPool reads the pool name and GUID from the start of a label's XDR-encoded name/value
// list. Like blkid it looks only at the first 4 KiB of the list.
func (p *prober) zfsPool(label int64, res *Result) error {
	b := p.buf[:]
	ok, err := p.read(b, label+zfsNVListStart)
	if err != nil || !ok {
		return err
	}
	const (
		typeUint64 = 8
		typeString = 9
	)
	// 12 bytes of list header, then pairs: encoded size, decoded size, name length,
	// name padded to 4 bytes, value type, element count, value.
	for pos := 12; pos+12 <= len(b); {
		size := int(be.Uint32(b[pos:]))
		if size == 0 {
			break
		}
		nameLen := int(be.Uint32(b[pos+8:]))
		if size < 12 || nameLen < 0 || nameLen > size-12 || size > len(b)-pos {
			break
		}
		pair := b[pos : pos+size]
		name := string(pair[12 : 12+nameLen])
		valueStart := 12 + (nameLen+3)&^3
		if valueStart > len(pair) {
			break
		}
		value := pair[valueStart:]
		switch {
		case name == "name" && len(value) >= 12 && be.Uint32(value) == typeString:
			n := int(be.Uint32(value[8:]))
			if n >= 0 && n <= len(value)-12 {
				res.Label = text(value[12 : 12+n])
			}
		case name == "pool_guid" && len(value) >= 16 && be.Uint32(value) == typeUint64:
			if g := be.Uint64(value[8:]); g != 0 {
				res.UUID = strconv.FormatUint(g, 10)
			}
		}
		if res.Label != "" && res.UUID != "" {
			break
		}
		pos += size
	}
	return nil
}
