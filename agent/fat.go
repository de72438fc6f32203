package agent

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
)

// ErrNotFAT is returned by FATLabel for a sector that is no FAT boot sector.
var ErrNotFAT = errors.New("not a FAT boot sector")

// FATLabel returns the volume label recorded in a FAT12, FAT16 or FAT32 boot sector (the
// first 512 bytes of the filesystem), with its padding removed; "" when the volume has
// none ("NO NAME"). It reads the extended BIOS parameter block, where mkfs.vfat, Windows
// and go-diskfs all write the label; a sector that is not a FAT boot sector with an
// extended BPB is ErrNotFAT.
func FATLabel(sector []byte) (string, error) {
	if len(sector) < 512 || sector[510] != 0x55 || sector[511] != 0xaa {
		return "", ErrNotFAT
	}
	// A jump instruction opens every FAT boot sector.
	if sector[0] != 0xeb && sector[0] != 0xe9 {
		return "", ErrNotFAT
	}
	bytesPerSector := binary.LittleEndian.Uint16(sector[11:])
	switch bytesPerSector {
	case 512, 1024, 2048, 4096:
	default:
		return "", ErrNotFAT
	}
	perCluster := sector[13]
	if perCluster == 0 || perCluster&(perCluster-1) != 0 {
		return "", ErrNotFAT
	}
	if binary.LittleEndian.Uint16(sector[14:]) == 0 || sector[16] == 0 { // reserved sectors, FATs
		return "", ErrNotFAT
	}
	rootEntries := binary.LittleEndian.Uint16(sector[17:])
	fatSize16 := binary.LittleEndian.Uint16(sector[22:])
	// FAT32 keeps its extended BPB after 28 more bytes of FAT32-only fields.
	ext := 36
	if rootEntries == 0 && fatSize16 == 0 {
		ext = 64
	}
	// Drive number, reserved byte, then the extended boot signature: 0x29 says that
	// the volume ID, label and filesystem type follow (0x28 has the ID only).
	if sector[ext+2] != 0x29 {
		return "", ErrNotFAT
	}
	label := sector[ext+7 : ext+18]
	return cleanLabel(label), nil
}

func cleanLabel(b []byte) string {
	b = bytes.TrimRight(b, " \x00")
	s := strings.ToValidUTF8(string(b), "?")
	if s == "NO NAME" {
		return ""
	}
	return s
}

// isoVolumeDescriptorOffset is where an ISO 9660 filesystem keeps its primary volume
// descriptor: sector 16 of 2048 bytes.
const isoVolumeDescriptorOffset = 16 * 2048

// ISOVolumeID returns the volume identifier of an ISO 9660 primary volume descriptor (the
// 2048 bytes at offset 32768 of the medium), and whether b is one.
func ISOVolumeID(b []byte) (string, bool) {
	if len(b) < 72 || b[0] != 1 || string(b[1:6]) != "CD001" || b[6] != 1 {
		return "", false
	}
	return strings.TrimSpace(strings.ToValidUTF8(string(bytes.TrimRight(b[40:72], " \x00")), "?")), true
}
