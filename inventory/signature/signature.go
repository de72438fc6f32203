// Package signature recognises filesystems, volume managers, RAID members and encrypted
// containers from a block device's own bytes, the way blkid and udev name them
// (ID_FS_TYPE), without writing anything and without any tool or library outside Go.
//
// Callers hand Probe the device, or one partition of it, as an io.ReaderAt with its size
// (ExampleProbe runs this over image files):
//
//	func probe(path string) (signature.Result, error) {
//		f, err := os.Open(path) // read-only
//		if err != nil {
//			return signature.Result{}, err
//		}
//		defer f.Close()
//		size, err := f.Seek(0, io.SeekEnd) // the size of a block device, or of a file
//		if err != nil {
//			return signature.Result{}, err
//		}
//		return signature.Probe(f, size) // an error only when the device could not be read
//	}
//
// Result.Type is "" when nothing is recognised.
//
// A partition is probed through an io.SectionReader over the whole device. Probe reads a
// few small pieces, into fixed buffers of at most 4 KiB, and allocates nothing whose size
// comes from the device; where a format points elsewhere (NTFS to its MFT, FAT32 to its
// FSInfo sector) the offset is checked against the device's size before it is read. A
// device too short to hold a signature simply does not have it; only a failed read is
// an error.
//
// When a device carries several signatures (a new filesystem over an old swap area, say),
// one answer is chosen by a fixed order, described on Probe.
package signature

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// Type names, spelled as blkid spells ID_FS_TYPE.
const (
	Ext2      = "ext2"
	Ext3      = "ext3"
	Ext4      = "ext4"
	XFS       = "xfs"
	Btrfs     = "btrfs"
	NTFS      = "ntfs"
	VFAT      = "vfat"
	ExFAT     = "exfat"
	Swap      = "swap"
	LUKS      = "crypto_LUKS"
	LVM2      = "LVM2_member"
	LinuxRAID = "linux_raid_member"
	ZFS       = "zfs_member"
	ISO9660   = "iso9660"
)

// Types lists every Type that Probe can report, in no particular order.
var Types = []string{Ext2, Ext3, Ext4, XFS, Btrfs, NTFS, VFAT, ExFAT, Swap, LUKS, LVM2, LinuxRAID, ZFS, ISO9660}

// Result is what Probe found.
type Result struct {
	// Type is "" when nothing was recognised, otherwise one of Types.
	Type string
	// Version is what blkid reports as VERSION, where the format records one: "1" or
	// "2" for LUKS, the metadata version ("0.90.0", "1.0", "1.1", "1.2") for md RAID,
	// "FAT12", "FAT16" or "FAT32" for vfat, "1.0" for ext and exFAT, "1" for swap,
	// "LVM2 001" for LVM, the pool version for ZFS. Empty otherwise.
	Version string
	// UUID is the volume's identifier formatted as blkid formats it; empty when the
	// format has none or it is all zeros.
	UUID string
	// Label is the volume name stored in the superblock, trimmed; empty when there is
	// none or when the format keeps it elsewhere (exFAT, NTFS).
	Label string
}

// minDeviceSize is the size at or below which blkid probes nothing, and neither do we:
// no format here fits in a kilobyte.
const minDeviceSize = 1024

// prober holds the device and the small buffers one Probe call reads into.
type prober struct {
	r    io.ReaderAt
	size int64

	boot   [512]byte // the first sector, read once
	bootOK bool
	buf    [4096]byte // scratch for one read at a time
}

// check is one recogniser. It reports found=false, with a nil error, when its signature
// is absent or does not hold up.
type check func(p *prober) (res Result, found bool, err error)

// order is the order in which Probe tries the recognisers; the first that matches wins.
//
//  1. Containers, as blkid does: md RAID (0.90 and 1.0 at the end, 1.1 and 1.2 at the
//     start), LVM2, LUKS. A RAID1 member shows its filesystem at offset 0 as well, and
//     whatever lives inside an LVM or LUKS volume is not the device's own.
//  2. Filesystems whose superblock sits at offset 0 and owns the first sector: XFS, NTFS,
//     exFAT, vfat.
//  3. ext2/3/4 (1 KiB), btrfs (64 KiB), iso9660 (32 KiB).
//  4. ZFS after the filesystems: a new filesystem rarely reaches the two labels at the
//     end of the device, so an old pool's labels often outlive it (blkid then calls the
//     device ambivalent and names nothing). Then a LUKS2 secondary header whose primary
//     is gone, which blkid also reports.
//  5. Swap last: its signature is one string near the end of the first page, and mkfs
//     tools that write a superblock at 1 KiB often leave an old one in place.
var order = []check{
	(*prober).linuxRAID,
	(*prober).lvm2,
	(*prober).luks,
	(*prober).xfs,
	(*prober).ntfs,
	(*prober).exfat,
	(*prober).vfat,
	(*prober).ext,
	(*prober).btrfs,
	(*prober).iso9660,
	(*prober).zfs,
	(*prober).luks2Secondary,
	(*prober).swap,
}

// Probe reports which of the known signatures r carries, where r is a device or
// partition of size bytes. It only reads. A device of 1 KiB or less is "" (as in blkid).
// The error is non-nil only when r fails to read a range inside size; reading past the
// real end of a reader that is shorter than size counts as the signature being absent.
//
// When several signatures are present, Probe returns the first in this order:
// linux_raid_member, LVM2_member, crypto_LUKS, xfs, ntfs, exfat, vfat, ext4/ext3/ext2,
// btrfs, iso9660, zfs_member, crypto_LUKS (LUKS2 secondary header only), swap.
// blkid checks the containers first too; where it would call two filesystems ambivalent
// and report nothing, this order names the one at the lower offset or with the stronger
// checks, since the other is usually a leftover.
func Probe(r io.ReaderAt, size int64) (Result, error) {
	if r == nil || size <= minDeviceSize {
		return Result{}, nil
	}
	p := &prober{r: r, size: size}
	ok, err := p.read(p.boot[:], 0)
	if err != nil {
		return Result{}, err
	}
	p.bootOK = ok
	for _, c := range order {
		res, found, err := c(p)
		if err != nil {
			return Result{}, err
		}
		if found {
			return res, nil
		}
	}
	return Result{}, nil
}

// read fills b from offset off. It reports false, with no error, when the range lies
// outside the device or the reader ends before it; any other failure is an error.
func (p *prober) read(b []byte, off int64) (bool, error) {
	n := int64(len(b))
	if off < 0 || n > p.size || off > p.size-n {
		return false, nil
	}
	got, err := p.r.ReadAt(b, off)
	if got == len(b) {
		return true, nil
	}
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return false, nil
	}
	return false, fmt.Errorf("read %d bytes at offset %d: %w", len(b), off, err)
}

// text turns a fixed-size on-disk name into a string: up to the first NUL, trailing
// white space removed, invalid UTF-8 replaced.
func text(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	s := strings.TrimRightFunc(string(b), unicode.IsSpace)
	return strings.ToValidUTF8(s, "\uFFFD")
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// uuid formats 16 bytes as a DCE UUID, or returns "" for all zeros.
func uuid(b []byte) string {
	if len(b) != 16 || allZero(b) {
		return ""
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// serial formats a 4-byte little-endian volume serial number as FAT and exFAT print it.
func serial(b []byte) string {
	if len(b) != 4 || allZero(b) {
		return ""
	}
	return fmt.Sprintf("%02X%02X-%02X%02X", b[3], b[2], b[1], b[0])
}

func isPow2(n uint64) bool { return n != 0 && n&(n-1) == 0 }
