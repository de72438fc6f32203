package signature

import (
	"encoding/binary"
)

// Builders for the formats no tool here can write to a plain file (mdadm and pvcreate
// want block devices, ZFS wants its kernel module), plus the negative cases. Each lays
// out the on-disk structure field by field from the format's documentation; the test
// writes them to testdata/*.hex with -update, checks the committed files still match,
// and asks blkid to agree with what they claim.

type builtFixture struct {
	name  string
	build func() *fixture
}

var builtFixtures = []builtFixture{
	{"md-0.90-le", func() *fixture { return md090Fixture(binary.LittleEndian) }},
	{"md-0.90-be", func() *fixture { return md090Fixture(binary.BigEndian) }},
	{"md-1.0", func() *fixture { return md1Fixture("1.0") }},
	{"md-1.1", func() *fixture { return md1Fixture("1.1") }},
	{"md-1.2", func() *fixture { return md1Fixture("1.2") }},
	{"md-0.90-last-partition", md090LastPartitionFixture},
	{"lvm2", lvm2Fixture},
	{"zfs-le", zfsLEFixture},
	{"zfs-be-all-labels", zfsBEFixture},
	{"mbr", mbrFixture},
	{"mbr-bpb-lookalike", mbrLookalikeFixture},
}

var (
	fixtureUUID     = []byte{0x5e, 0xc0, 0x3d, 0xa1, 0x7b, 0x42, 0x4c, 0x1e, 0x9a, 0x2f, 0x60, 0x11, 0xd4, 0x83, 0x0b, 0x77}
	fixtureUUIDText = "5ec03da1-7b42-4c1e-9a2f-6011d4830b77"
)

const mib = 1 << 20

// md090Superblock is a version 0.90 superblock as the first 64 bytes of mdp_super_t:
// fifteen 32-bit words in the creating host's byte order.
func md090Superblock(order binary.ByteOrder, arrayKiB uint32) []byte {
	b := make([]byte, 4096)
	words := []struct {
		off int
		v   uint32
	}{
		{0, mdMagic}, {4, 0}, {8, 90}, {12, 0}, // magic, major, minor, patch
		{16, 0}, // gvalid_words
		{20, binary.BigEndian.Uint32(fixtureUUID[0:4])}, // set_uuid0
		{24, 1700000000}, // ctime
		{28, 1},          // level: RAID1
		{32, arrayKiB},   // size of each component, KiB
		{36, 2}, {40, 2}, // nr_disks, raid_disks
		{44, 0}, {48, 0}, // md_minor, not_persistent
		{52, binary.BigEndian.Uint32(fixtureUUID[4:8])},   // set_uuid1
		{56, binary.BigEndian.Uint32(fixtureUUID[8:12])},  // set_uuid2
		{60, binary.BigEndian.Uint32(fixtureUUID[12:16])}, // set_uuid3
	}
	for _, w := range words {
		order.PutUint32(b[w.off:], w.v)
	}
	return b
}

// The UUID is four numbers, stored in the host's byte order and printed most
// significant byte first, so the same UUID prints the same from either host.
func md090Fixture(order binary.ByteOrder) *fixture {
	const size = 8 * mib
	im := newSparseImage(size)
	off := int64(size&^(mdReserved-1) - mdReserved)
	im.put(off, md090Superblock(order, uint32(off/1024)))
	name := "little"
	if order == binary.BigEndian {
		name = "big"
	}
	return &fixture{
		comment: []string{"md RAID1 member, metadata 0.90 (" + name + "-endian host): superblock in the last 64 KiB-aligned 64 KiB"},
		image:   im,
		want:    Result{Type: LinuxRAID, Version: "0.90.0", UUID: fixtureUUIDText},
	}
}

// md1Superblock is struct mdp_superblock_1 (little-endian) for a device whose superblock
// lives at byte off.
func md1Superblock(off int64, deviceSectors uint64) []byte {
	b := make([]byte, 512)
	le := binary.LittleEndian
	le.PutUint32(b[0:], mdMagic)
	le.PutUint32(b[4:], 1) // major_version
	copy(b[16:32], fixtureUUID)
	copy(b[32:64], "decom:0") // set_name, host:name as mdadm writes it
	le.PutUint64(b[64:], 1700000000)
	le.PutUint32(b[72:], 1)                 // level
	le.PutUint64(b[80:], deviceSectors-128) // size
	le.PutUint32(b[92:], 2)                 // raid_disks
	le.PutUint64(b[136:], deviceSectors-128)
	le.PutUint64(b[144:], uint64(off)/512) // super_offset, in sectors
	le.PutUint32(b[160:], 0)               // dev_number
	copy(b[168:184], []byte("per-device-uuid!"))
	le.PutUint64(b[200:], 1) // events
	le.PutUint32(b[220:], 2) // max_dev
	return b
}

func md1Fixture(version string) *fixture {
	const size = 8 * mib
	var off int64
	where := ""
	switch version {
	case "1.0":
		off, where = size&^4095-8192, "8 KiB before the 4 KiB-aligned end"
	case "1.1":
		off, where = 0, "at offset 0"
	case "1.2":
		off, where = 4096, "at 4 KiB"
	}
	im := newSparseImage(size)
	im.put(off, md1Superblock(off, size/512))
	return &fixture{
		comment: []string{"md RAID1 member, metadata " + version + ": superblock " + where},
		image:   im,
		want:    Result{Type: LinuxRAID, Version: version, UUID: fixtureUUIDText, Label: "decom:0"},
	}
}

// md090LastPartitionFixture is a whole disk whose last MBR partition, running to the
// end of the disk, is a 0.90 member. Its superblock sits where the disk's own would, but
// it belongs to the partition; blkid reports nothing for the disk and so does Probe.
func md090LastPartitionFixture() *fixture {
	const size = 16 * mib
	im := newSparseImage(size)
	mbr := make([]byte, 512)
	partitionEntry(mbr, 0, 0x83, 2048, 8192)
	partitionEntry(mbr, 1, 0xfd, 10240, size/512-10240)
	mbr[510], mbr[511] = 0x55, 0xAA
	im.put(0, mbr)
	off := int64(size&^(mdReserved-1) - mdReserved)
	partSize := int64(size - 10240*512)
	im.put(off, md090Superblock(binary.LittleEndian, uint32((partSize&^(mdReserved-1)-mdReserved)/1024)))
	return &fixture{
		comment: []string{
			"disk with an MBR; partition 2 runs to the end and is an md 0.90 member,",
			"so the superblock in the disk's last 64 KiB belongs to the partition",
		},
		image: im,
		want:  Result{},
	}
}

func partitionEntry(mbr []byte, i int, typ byte, first, count uint32) {
	e := mbr[446+16*i:]
	e[4] = typ
	binary.LittleEndian.PutUint32(e[8:], first)
	binary.LittleEndian.PutUint32(e[12:], count)
}

// lvm2Fixture is a physical volume as pvcreate writes it: the label in sector 1, then
// the PV header with its data and metadata area lists.
func lvm2Fixture() *fixture {
	const size = 8 * mib
	im := newSparseImage(size)
	b := make([]byte, 512)
	le := binary.LittleEndian
	copy(b[0:], "LABELONE")
	le.PutUint64(b[8:], 1)   // sector_xl: this label's own sector
	le.PutUint32(b[20:], 32) // offset_xl: the PV header follows the label header
	copy(b[24:], "LVM2 001")
	copy(b[32:64], "dEcOm0abcdEFGHij1234KLMNop5678qr") // PV UUID, 32 characters
	le.PutUint64(b[64:], size)                         // device size
	le.PutUint64(b[72:], mib)                          // data area: offset, size 0 = to the end
	le.PutUint64(b[80:], 0)
	// a zero entry ends the data list, then the metadata list
	le.PutUint64(b[104:], 4096)
	le.PutUint64(b[112:], mib-4096)
	le.PutUint32(b[16:], lvmCRC(b[20:]))
	im.put(512, b)
	im.put(4096, []byte(" LVM2 x[5A%r0N*>")) // the metadata area's magic, for realism
	return &fixture{
		comment: []string{"LVM2 physical volume: label in sector 1 with its CRC"},
		image:   im,
		want:    Result{Type: LVM2, Version: "LVM2 001", UUID: "dEcOm0-abcd-EFGH-ij12-34KL-MNop-5678qr"},
	}
}

// zfsNVList is the start of a vdev label's XDR-encoded configuration: a 12-byte header
// then name/value pairs, each: encoded size, decoded size, name (length, bytes padded to
// 4), type, element count, value.
func zfsNVList(pool string, guid uint64) []byte {
	be := binary.BigEndian
	out := []byte{1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1} // XDR, host endian, version, flags
	pad := func(s string) []byte {
		b := make([]byte, (len(s)+3)&^3)
		copy(b, s)
		return b
	}
	pair := func(name string, typ uint32, value []byte) {
		var p []byte
		p = be.AppendUint32(p, 0) // encoded size, set below
		p = be.AppendUint32(p, 0) // decoded size, unused here
		p = be.AppendUint32(p, uint32(len(name)))
		p = append(p, pad(name)...)
		p = be.AppendUint32(p, typ)
		p = be.AppendUint32(p, 1)
		p = append(p, value...)
		be.PutUint32(p[0:], uint32(len(p)))
		out = append(out, p...)
	}
	u64 := func(v uint64) []byte { return be.AppendUint64(nil, v) }
	str := func(s string) []byte { return append(be.AppendUint32(nil, uint32(len(s))), pad(s)...) }
	pair("version", 8, u64(5000))
	pair("name", 9, str(pool))
	pair("state", 8, u64(0))
	pair("txg", 8, u64(4))
	pair("pool_guid", 8, u64(guid))
	pair("guid", 8, u64(guid+1))
	return append(out, make([]byte, 8)...) // two zero words end the list
}

// zfsUberblock is the head of an uberblock: magic, version, txg, guid sum, timestamp.
func zfsUberblock(order binary.ByteOrder, txg uint64) []byte {
	b := make([]byte, 1024)
	order.PutUint64(b[0:], zfsMagic)
	order.PutUint64(b[8:], 5000)
	order.PutUint64(b[16:], txg)
	order.PutUint64(b[24:], 0x1234)
	order.PutUint64(b[32:], 1700000000)
	return b
}

// zfsLEFixture has four little-endian uberblocks in label 0 only.
func zfsLEFixture() *fixture {
	const size = 64 * mib
	im := newSparseImage(size)
	im.put(zfsNVListStart, zfsNVList("tank", 1234567890123456789))
	for i := range 4 {
		im.put(zfsUberblockStart+int64(i)*1024, zfsUberblock(binary.LittleEndian, uint64(i+1)))
	}
	return &fixture{
		comment: []string{"ZFS vdev, little-endian: four uberblocks in label 0"},
		image:   im,
		want:    Result{Type: ZFS, Version: "5000", UUID: "1234567890123456789", Label: "tank"},
	}
}

// zfsBEFixture has one big-endian uberblock in each of the four labels, on a device
// whose size is not a multiple of the label size, so the end labels are found only with
// the alignment right.
func zfsBEFixture() *fixture {
	const size = 64*mib + 100<<10
	im := newSparseImage(size)
	align := int64(size % zfsLabelSize)
	labels := []int64{0, zfsLabelSize, size - 2*zfsLabelSize - align, size - zfsLabelSize - align}
	for i, l := range labels {
		im.put(l+zfsNVListStart, zfsNVList("bigpool", 987654321))
		// 4 KiB uberblocks (ashift 12): slot i of the ring.
		im.put(l+zfsUberblockStart+int64(i)*4096, zfsUberblock(binary.BigEndian, uint64(i+1)))
	}
	return &fixture{
		comment: []string{"ZFS vdev, big-endian: one 4 KiB uberblock in each label, size not 256 KiB-aligned"},
		image:   im,
		want:    Result{Type: ZFS, Version: "5000", UUID: "987654321", Label: "bigpool"},
	}
}

// mbrFixture is a disk with a classic MBR: boot code, two partitions, 0x55AA, and no
// BIOS parameter block. It must not pass for FAT.
func mbrFixture() *fixture {
	im := newSparseImage(8 * mib)
	b := make([]byte, 512)
	copy(b, []byte{0xfa, 0x31, 0xc0, 0x8e, 0xd8, 0x8e, 0xd0, 0xbc, 0x00, 0x7c}) // cli; xor ax,ax; ...
	partitionEntry(b, 0, 0x0c, 2048, 8192)                                      // a FAT32 LBA partition
	b[446] = 0x80
	partitionEntry(b, 1, 0x83, 10240, 4096)
	b[510], b[511] = 0x55, 0xAA
	im.put(0, b)
	return &fixture{
		comment: []string{"MBR partition table, no BPB: not vfat"},
		image:   im,
		want:    Result{},
	}
}

// mbrLookalikeFixture is an MBR whose first bytes happen to form a plausible FAT BIOS
// parameter block but carry no FAT type string. blkid would call it vfat; Probe does
// not, because the partition entries say it is a partition table.
func mbrLookalikeFixture() *fixture {
	im := newSparseImage(8 * mib)
	b := make([]byte, 512)
	le := binary.LittleEndian
	b[0], b[1], b[2] = 0xeb, 0x63, 0x90 // jmp, as GRUB's boot sector starts
	le.PutUint16(b[11:], 512)           // bytes per sector
	b[13] = 4                           // sectors per cluster
	le.PutUint16(b[14:], 1)             // reserved sectors
	b[16] = 2                           // FATs
	le.PutUint16(b[17:], 512)           // root entries
	le.PutUint16(b[19:], 16384)         // sectors
	b[21] = 0xf8                        // media
	le.PutUint16(b[22:], 16)            // sectors per FAT
	partitionEntry(b, 0, 0x83, 2048, 14336)
	b[446] = 0x80
	b[510], b[511] = 0x55, 0xAA
	im.put(0, b)
	return &fixture{
		comment: []string{"MBR with a partition whose boot code reads as a FAT BPB: not vfat"},
		image:   im,
		want:    Result{},
		// blkid's superblock probe would say vfat here; refusing it is this package's choice.
		blkidSkip: "blkid calls this vfat; Probe deliberately does not",
	}
}
