package signature

import (
	"fmt"
	"math"
	"strconv"
)

// xfs checks the XFS superblock at offset 0 with the same sanity rules blkid applies, so
// that four stray bytes reading "XFSB" are not enough.
func (p *prober) xfs() (Result, bool, error) {
	b := p.boot[:]
	if !p.bootOK || string(b[0:4]) != "XFSB" {
		return Result{}, false, nil
	}
	var (
		blockSize  = uint64(be.Uint32(b[4:]))
		dataBlocks = be.Uint64(b[8:])
		rtExtSize  = uint64(be.Uint32(b[80:]))
		agBlocks   = uint64(be.Uint32(b[84:]))
		agCount    = uint64(be.Uint32(b[88:]))
		sectSize   = uint64(be.Uint16(b[102:]))
		inodeSize  = uint64(be.Uint16(b[104:]))
		blockLog   = uint64(b[120])
		sectLog    = uint64(b[121])
		inodeLog   = uint64(b[122])
		inoPBLog   = uint64(b[123])
		imaxPct    = b[127]
	)
	valid := agCount > 0 &&
		sectLog >= 9 && sectLog <= 15 && sectSize == 1<<sectLog &&
		blockLog >= 9 && blockLog <= 16 && blockSize == 1<<blockLog &&
		inodeLog >= 8 && inodeLog <= 11 && inodeSize == 1<<inodeLog &&
		blockLog-inodeLog == inoPBLog &&
		rtExtSize*blockSize >= 4<<10 && rtExtSize*blockSize <= 1<<30 &&
		imaxPct <= 100 &&
		dataBlocks != 0 &&
		dataBlocks <= agCount*agBlocks &&
		dataBlocks >= (agCount-1)*agBlocks+64
	if !valid {
		return Result{}, false, nil
	}
	return Result{Type: XFS, UUID: uuid(b[32:48]), Label: text(b[108:120])}, true, nil
}

// ntfs checks an NTFS boot sector: its BIOS parameter block must have NTFS's shape (the
// FAT fields zero), and the master file table it points to must start with "FILE".
func (p *prober) ntfs() (Result, bool, error) {
	b := p.boot[:]
	if !p.bootOK || string(b[3:11]) != "NTFS    " {
		return Result{}, false, nil
	}
	sectorSize := uint64(le.Uint16(b[11:]))
	perCluster := uint64(b[13])
	if sectorSize < 256 || sectorSize > 4096 || !isPow2(perCluster) || perCluster > 128 ||
		sectorSize*perCluster > 64<<10 {
		return Result{}, false, nil
	}
	if le.Uint16(b[14:]) != 0 || b[16] != 0 || le.Uint16(b[17:]) != 0 || le.Uint16(b[19:]) != 0 ||
		le.Uint16(b[22:]) != 0 || le.Uint32(b[32:]) != 0 {
		return Result{}, false, nil
	}
	// Clusters per MFT record: a small power of two, or a negative log2 of the size in
	// bytes.
	var recordSize uint64
	switch c := int8(b[64]); {
	case c >= -31 && c <= -9:
		recordSize = 1 << uint(-c)
	case c > 0 && isPow2(uint64(c)) && c <= 64:
		recordSize = uint64(c) * perCluster * sectorSize
	default:
		return Result{}, false, nil
	}
	clusters := le.Uint64(b[40:]) / perCluster
	mft, mirror := le.Uint64(b[48:]), le.Uint64(b[56:])
	if mft > clusters || mirror > clusters {
		return Result{}, false, nil
	}
	clusterSize := sectorSize * perCluster
	if mft > math.MaxInt64/clusterSize {
		return Result{}, false, nil
	}
	first := mft * clusterSize
	// The $Volume record is the fourth; check it exists too, as blkid does.
	if first > math.MaxInt64-3*recordSize {
		return Result{}, false, nil
	}
	for _, off := range []uint64{first, first + 3*recordSize} {
		m := p.buf[:4]
		ok, err := p.read(m, int64(off))
		if err != nil || !ok || string(m) != "FILE" {
			return Result{}, false, err
		}
	}
	res := Result{Type: NTFS}
	if serial := le.Uint64(b[72:]); serial != 0 {
		res.UUID = fmt.Sprintf("%016X", serial)
	}
	return res, true, nil
}

// exfat checks an exFAT main boot region: jump code, the zeroed legacy BPB, sane sector
// and cluster shifts, and the checksum sector that closes the region.
func (p *prober) exfat() (Result, bool, error) {
	b := p.boot[:]
	if !p.bootOK || string(b[3:11]) != "EXFAT   " {
		return Result{}, false, nil
	}
	if b[0] != 0xEB || b[1] != 0x76 || b[2] != 0x90 || b[510] != 0x55 || b[511] != 0xAA || !allZero(b[11:64]) {
		return Result{}, false, nil
	}
	sectorShift, clusterShift := uint(b[108]), uint(b[109])
	if sectorShift < 9 || sectorShift > 12 || sectorShift+clusterShift > 25 {
		return Result{}, false, nil
	}
	ok, err := p.exfatChecksum(1 << sectorShift)
	if err != nil || !ok {
		return Result{}, false, err
	}
	return Result{
		Type:    ExFAT,
		Version: fmt.Sprintf("%d.%d", b[105], b[104]),
		UUID:    serial(b[100:104]),
	}, true, nil
}

// exfatChecksum computes the boot region checksum over the first eleven sectors (the
// volume flags and percent-in-use bytes excluded) and compares it with every copy in the
// twelfth sector.
func (p *prober) exfatChecksum(sectorSize int) (bool, error) {
	var sum uint32
	b := p.buf[:sectorSize]
	for s := range 11 {
		ok, err := p.read(b, int64(s*sectorSize))
		if err != nil || !ok {
			return false, err
		}
		for i, c := range b {
			if s == 0 && (i == 106 || i == 107 || i == 112) {
				continue
			}
			sum = (sum>>1 | sum<<31) + uint32(c)
		}
	}
	ok, err := p.read(b, int64(11*sectorSize))
	if err != nil || !ok {
		return false, err
	}
	for i := 0; i+4 <= len(b); i += 4 {
		if le.Uint32(b[i:]) != sum {
			return false, nil
		}
	}
	return true, nil
}

// FAT limits on the number of clusters.
const (
	fat12Max = 0xFF4
	fat16Max = 0xFFF4
	fat32Max = 0x0FFFFFF6
)

// vfat checks a FAT boot sector. One with a FAT type string ("FAT16   ", "FAT32   ",
// "MSWIN"...) needs a valid BIOS parameter block; one without needs the 0x55AA mark, one
// or two FATs, and no partition table in the MBR's place, so that an MBR whose boot code
// happens to look like a BPB is not taken for a floppy.
func (p *prober) vfat() (Result, bool, error) {
	b := p.boot[:]
	if !p.bootOK {
		return Result{}, false, nil
	}
	switch string(b[3:11]) {
	case "NTFS    ", "EXFAT   ":
		return Result{}, false, nil // damaged, but not FAT
	}
	named := string(b[0x52:0x57]) == "MSWIN" || string(b[0x52:0x5a]) == "FAT32   " ||
		string(b[0x36:0x3b]) == "MSDOS" || string(b[0x36:0x3e]) == "FAT16   " ||
		string(b[0x36:0x3e]) == "FAT12   " || string(b[0x36:0x3e]) == "FAT     "
	marked := b[510] == 0x55 && b[511] == 0xAA
	fats := b[16]
	if !named {
		if !marked || fats > 2 || p.hasPartitionTable() {
			return Result{}, false, nil
		}
		switch string(b[0x36:0x3e]) {
		case "JFS     ", "HPFS    ":
			return Result{}, false, nil
		}
	}

	sectorSize := uint64(le.Uint16(b[11:]))
	perCluster := uint64(b[13])
	reserved := uint64(le.Uint16(b[14:]))
	media := b[21]
	if fats == 0 || reserved == 0 || (media < 0xf8 && media != 0xf0) || !isPow2(perCluster) ||
		!isPow2(sectorSize) || sectorSize < 512 || sectorSize > 4096 {
		return Result{}, false, nil
	}
	sectors := uint64(le.Uint16(b[19:]))
	if sectors == 0 {
		sectors = uint64(le.Uint32(b[32:]))
	}
	fatLength16 := uint64(le.Uint16(b[22:]))
	fatLength32 := uint64(le.Uint32(b[36:]))
	fatLength := fatLength16
	if fatLength == 0 {
		fatLength = fatLength32
	}
	fatSectors := fatLength * uint64(fats)
	rootSectors := (uint64(le.Uint16(b[17:]))*32 + sectorSize - 1) / sectorSize
	overhead := reserved + fatSectors + rootSectors
	if sectors < overhead {
		return Result{}, false, nil
	}
	clusters := (sectors - overhead) / perCluster
	limit := uint64(fat12Max)
	switch {
	case fatLength16 == 0 && fatLength32 != 0:
		limit = fat32Max
	case clusters > fat12Max:
		limit = fat16Max
	}
	if clusters > limit {
		return Result{}, false, nil
	}

	res := Result{Type: VFAT}
	// The label follows the extended boot signature 0x29; a BPB with 0x28 (or none)
	// has only a volume serial there, or boot code, and blkid reads no label from it.
	var label []byte
	switch {
	case fatLength16 != 0:
		if b[0x26] == 0x29 {
			label = b[0x2b:0x36]
		}
		res.UUID = serial(b[0x27:0x2b])
		switch {
		case clusters < fat12Max:
			res.Version = "FAT12"
		case clusters < fat16Max:
			res.Version = "FAT16"
		}
	case fatLength32 != 0:
		if b[0x42] == 0x29 {
			label = b[0x47:0x52]
		}
		res.UUID = serial(b[0x43:0x47])
		res.Version = "FAT32"
		ok, err := p.fat32Info(uint64(le.Uint16(b[0x30:])), sectorSize)
		if err != nil || !ok {
			return Result{}, false, err
		}
	}
	if label != nil && string(label) != "NO NAME    " {
		res.Label = text(label)
	}
	return res, true, nil
}

// fat32Info checks the FAT32 FSInfo sector's two signatures, which may also be zero.
func (p *prober) fat32Info(sector, sectorSize uint64) (bool, error) {
	if sector == 0 {
		return true, nil
	}
	b := p.buf[:512]
	ok, err := p.read(b, int64(sector*sectorSize))
	if err != nil || !ok {
		return false, err
	}
	lead, mid := string(b[0:4]), string(b[484:488])
	leadOK := lead == "RRaA" || lead == "RRdA" || lead == "\x00\x00\x00\x00"
	midOK := mid == "rrAa" || mid == "\x00\x00\x00\x00"
	return leadOK && midOK, nil
}

// hasPartitionTable reports whether the first sector's partition entries describe at
// least one plausible partition.
func (p *prober) hasPartitionTable() bool {
	b := p.boot[:]
	for i := range 4 {
		e := b[446+16*i : 446+16*(i+1)]
		if e[0]&0x7f == 0 && e[4] != 0 && le.Uint32(e[8:]) != 0 && le.Uint32(e[12:]) != 0 {
			return true
		}
	}
	return false
}

// ext feature bits that decide between ext2, ext3 and ext4.
const (
	extCompatHasJournal    = 0x0004
	extIncompatFiletype    = 0x0002
	extIncompatRecover     = 0x0004
	extIncompatJournalDev  = 0x0008
	extIncompatMetaBG      = 0x0010
	extROCompatSparseSuper = 0x0001
	extROCompatLargeFile   = 0x0002
	extROCompatBtreeDir    = 0x0004

	ext3Incompat = extIncompatFiletype | extIncompatRecover | extIncompatMetaBG
	ext3ROCompat = extROCompatSparseSuper | extROCompatLargeFile | extROCompatBtreeDir
)

// ext reads the ext2/3/4 superblock at 1 KiB and names the family member as blkid does:
// ext4 when any feature is beyond what ext3 understands (extents, 64bit, flex_bg,
// huge_file, metadata_csum...), else ext3 with a journal, else ext2. An external journal
// device (blkid's "jbd") is not one of the reported types and is left unrecognised.
func (p *prober) ext() (Result, bool, error) {
	b := p.buf[:256]
	if ok, err := p.read(b, 1024); err != nil || !ok {
		return Result{}, false, err
	}
	if b[0x38] != 0x53 || b[0x39] != 0xEF {
		return Result{}, false, nil
	}
	compat, incompat, roCompat := le.Uint32(b[0x5c:]), le.Uint32(b[0x60:]), le.Uint32(b[0x64:])
	if incompat&extIncompatJournalDev != 0 {
		return Result{}, false, nil
	}
	res := Result{
		Version: fmt.Sprintf("%d.%d", le.Uint32(b[0x4c:]), le.Uint16(b[0x3e:])),
		UUID:    uuid(b[0x68:0x78]),
		Label:   text(b[0x78:0x88]),
	}
	switch {
	case incompat&^ext3Incompat != 0 || roCompat&^ext3ROCompat != 0:
		res.Type = Ext4
	case compat&extCompatHasJournal != 0:
		res.Type = Ext3
	default:
		res.Type = Ext2
	}
	return res, true, nil
}

// btrfs checks the primary superblock at 64 KiB.
func (p *prober) btrfs() (Result, bool, error) {
	if p.size < 1<<20 {
		return Result{}, false, nil
	}
	b := p.buf[:0x12b+256]
	if ok, err := p.read(b, 64<<10); err != nil || !ok {
		return Result{}, false, err
	}
	if string(b[64:72]) != "_BHRfS_M" {
		return Result{}, false, nil
	}
	return Result{Type: Btrfs, UUID: uuid(b[32:48]), Label: text(b[0x12b:])}, true, nil
}

// iso9660 checks for the first volume descriptor at 32 KiB. The label is the primary
// volume descriptor's volume identifier.
func (p *prober) iso9660() (Result, bool, error) {
	b := p.buf[:72]
	if ok, err := p.read(b, 32<<10); err != nil || !ok {
		return Result{}, false, err
	}
	if string(b[1:6]) != "CD001" {
		return Result{}, false, nil
	}
	res := Result{Type: ISO9660}
	if b[0] == 1 {
		res.Label = text(b[40:72])
	}
	return res, true, nil
}

// swapPageSizes are the page sizes whose swap signature blkid looks for, smallest first.
var swapPageSizes = []int64{4096, 8192, 16384, 32768, 65536}

// swap looks for the swap signature in the last ten bytes of the first page. For a
// version 1 area the header at 1 KiB must hold version 1 and a last page.
func (p *prober) swap() (Result, bool, error) {
	if p.size < 10*4096 {
		return Result{}, false, nil
	}
	// TuxOnIce hibernation images keep a valid swap signature; blkid leaves them be.
	if p.bootOK && string(p.boot[0:8]) == "\xed\xc3\x02\xe9\x98\x56\xe5\x0c" {
		return Result{}, false, nil
	}
	for _, page := range swapPageSizes {
		m := p.buf[:10]
		ok, err := p.read(m, page-10)
		if err != nil {
			return Result{}, false, err
		}
		if !ok {
			break
		}
		switch string(m) {
		case "SWAP-SPACE":
			return Result{Type: Swap, Version: "0"}, true, nil
		case "SWAPSPACE2":
			return p.swapHeader()
		}
	}
	return Result{}, false, nil
}

func (p *prober) swapHeader() (Result, bool, error) {
	b := p.buf[:512]
	if ok, err := p.read(b, 1024); err != nil || !ok {
		return Result{}, false, err
	}
	if v := le.Uint32(b[0:]); v != 1 && be.Uint32(b[0:]) != 1 {
		return Result{}, false, nil
	}
	if le.Uint32(b[4:]) == 0 {
		return Result{}, false, nil
	}
	res := Result{Type: Swap, Version: strconv.Itoa(1)}
	// Old mkswap versions left this area unset; trust the UUID and label only when the
	// padding after them is clean.
	if le.Uint32(b[172:]) == 0 && le.Uint32(b[176:]) == 0 {
		res.UUID = uuid(b[12:28])
		res.Label = text(b[28:44])
	}
	return res, true, nil
}
