package signature

import (
	"bytes"
	"encoding/binary"
	"path/filepath"
	"testing"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/disk"
	"github.com/diskfs/go-diskfs/filesystem"
)

// The boot agent finds its data partition (FAT, labelled DECOM-DATA) and the ISO it
// booted from (volume identifier DECOM…) by the labels Probe reads: these tests pin
// down the labels of the media decom's own image builder writes, and what is no label.

// fat16BootSector is a FAT16 boot sector as mkfs.fat -F 16 -n label writes it, for a
// filesystem of 64 MiB.
func fat16BootSector(label string) []byte {
	b := make([]byte, 512)
	copy(b, []byte{0xeb, 0x3c, 0x90})
	copy(b[3:], "mkfs.fat")
	binary.LittleEndian.PutUint16(b[11:], 512)    // bytes per sector
	b[13] = 4                                     // sectors per cluster
	binary.LittleEndian.PutUint16(b[14:], 4)      // reserved sectors
	b[16] = 2                                     // FATs
	binary.LittleEndian.PutUint16(b[17:], 512)    // root entries
	b[21] = 0xf8                                  // media: fixed disk
	binary.LittleEndian.PutUint16(b[22:], 64)     // sectors per FAT
	binary.LittleEndian.PutUint32(b[32:], 131072) // sectors
	b[36], b[38] = 0x80, 0x29
	copy(b[43:54], []byte(label + "           ")[:11])
	copy(b[54:], "FAT16   ")
	b[510], b[511] = 0x55, 0xaa
	return b
}

func TestFATBootSectorLabel(t *testing.T) {
	const size = 64 << 20
	for _, tc := range []struct {
		name   string
		mangle func(b []byte)
		want   Result // UUID not compared
	}{
		{"mkfs.fat", nil, Result{Type: VFAT, Version: "FAT16", Label: "DECOM-DATA"}},
		{"NO NAME is no label", func(b []byte) { copy(b[43:54], "NO NAME    ") }, Result{Type: VFAT, Version: "FAT16"}},
		{"extended boot signature 0x28: no label", func(b []byte) { b[38] = 0x28 }, Result{Type: VFAT, Version: "FAT16"}},
		// blkid takes these for FAT too, label and all.
		{"no 0x55AA", func(b []byte) { b[511] = 0 }, Result{Type: VFAT, Version: "FAT16", Label: "DECOM-DATA"}},
		{"no jump", func(b []byte) { b[0] = 0 }, Result{Type: VFAT, Version: "FAT16", Label: "DECOM-DATA"}},
		// No FAT at all.
		{"odd sector size", func(b []byte) { binary.LittleEndian.PutUint16(b[11:], 500) }, Result{}},
		{"cluster size not 2^n", func(b []byte) { b[13] = 3 }, Result{}},
		{"no FATs", func(b []byte) { b[16] = 0 }, Result{}},
		{"zeros", func(b []byte) { clear(b) }, Result{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := fat16BootSector("DECOM-DATA")
			if tc.mangle != nil {
				tc.mangle(b)
			}
			im := newSparseImage(size)
			im.put(0, b)
			got, err := probeChecked(t, im, size)
			got.UUID = ""
			if err != nil || got != tc.want {
				t.Errorf("Probe = %+v, %v; want %+v", got, err, tc.want)
			}
			t.Run("blkid agrees", func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "fat.img")
				if err := im.writeFile(path); err != nil {
					t.Fatal(err)
				}
				tags := blkid(t, path)
				if tags["TYPE"] != got.Type || tags["LABEL_FATBOOT"] != got.Label {
					t.Errorf("blkid says TYPE=%q LABEL_FATBOOT=%q; Probe %q, %q", tags["TYPE"], tags["LABEL_FATBOOT"], got.Type, got.Label)
				}
			})
		})
	}
	// A device too short for the filesystem's sectors is no FAT either.
	b := fat16BootSector("DECOM-DATA")
	if got, err := Probe(bytes.NewReader(b[:100]), 100); err != nil || got.Type != "" {
		t.Errorf("100 bytes: Probe = %+v, %v; want nothing", got, err)
	}
}

// decom image build makes the stick's data partition with go-diskfs.
func TestGoDiskfsFAT32Label(t *testing.T) {
	for label, want := range map[string]string{"DECOM-DATA": "DECOM-DATA", "": "", "short": "short"} {
		p := filepath.Join(t.TempDir(), "fat.img")
		d, err := diskfs.Create(p, 40<<20, diskfs.SectorSize512)
		if err != nil {
			t.Fatal(err)
		}
		_, err = d.CreateFilesystem(disk.FilesystemSpec{Partition: 0, FSType: filesystem.TypeFat32, VolumeLabel: label})
		d.Close()
		if err != nil {
			t.Fatal(err)
		}
		f, size := openImage(t, p)
		got, err := probeChecked(t, f, size)
		if err != nil || got.Type != VFAT || got.Version != "FAT32" || got.Label != want {
			t.Errorf("label %q: Probe = %+v, %v; want FAT32 labelled %q", label, got, err, want)
		}
	}
}

// isoDescriptor is an ISO 9660 primary volume descriptor with volume identifier id.
func isoDescriptor(id string) []byte {
	b := make([]byte, 2048)
	b[0] = 1
	copy(b[1:], "CD001")
	b[6] = 1
	copy(b[40:72], []byte(id + "                                ")[:32])
	return b
}

// The label of an ISO made by genisoimage is checked by TestRecordedImages
// (testdata/tools/iso9660.hex).
func TestISOVolumeLabel(t *testing.T) {
	const size = 1 << 20
	for _, tc := range []struct {
		name string
		d    []byte
		want Result
	}{
		{"primary volume descriptor", isoDescriptor("DECOM"), Result{Type: ISO9660, Label: "DECOM"}},
		{"no CD001", func() []byte { b := isoDescriptor("DECOM"); b[1] = 'X'; return b }(), Result{}},
		{"zeros", make([]byte, 2048), Result{}},
	} {
		im := newSparseImage(size)
		im.put(32<<10, tc.d)
		if got, err := probeChecked(t, im, size); err != nil || got != tc.want {
			t.Errorf("%s: Probe = %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}
