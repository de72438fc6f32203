package agent

import (
	"encoding/binary"
	"errors"
	"path/filepath"
	"testing"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/disk"
	"github.com/diskfs/go-diskfs/filesystem"
)

// fat32Image makes a whole-device FAT32 image of 40 MiB with label and returns its path.
func fat32Image(t testing.TB, label string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fat.img")
	d, err := diskfs.Create(p, 40<<20, diskfs.SectorSize512)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.CreateFilesystem(disk.FilesystemSpec{Partition: 0, FSType: filesystem.TypeFat32, VolumeLabel: label}); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFATLabelFAT32(t *testing.T) {
	for label, want := range map[string]string{"DECOM-DATA": "DECOM-DATA", "": "", "short": "short"} {
		b, err := readAt(fat32Image(t, label), 0, 512)
		if err != nil {
			t.Fatal(err)
		}
		got, err := FATLabel(b)
		if err != nil || got != want {
			t.Errorf("label %q: FATLabel = %q, %v; want %q", label, got, err, want)
		}
	}
}

// fat16BootSector is a FAT16 boot sector as mkfs.fat -F 16 -n LABEL writes it.
func fat16BootSector(label string) []byte {
	b := make([]byte, 512)
	copy(b, []byte{0xeb, 0x3c, 0x90})
	copy(b[3:], "mkfs.fat")
	binary.LittleEndian.PutUint16(b[11:], 512) // bytes per sector
	b[13] = 4                                  // sectors per cluster
	binary.LittleEndian.PutUint16(b[14:], 4)   // reserved sectors
	b[16] = 2                                  // FATs
	binary.LittleEndian.PutUint16(b[17:], 512) // root entries
	binary.LittleEndian.PutUint16(b[22:], 64)  // sectors per FAT
	b[36], b[38] = 0x80, 0x29
	copy(b[43:54], []byte(label + "           ")[:11])
	copy(b[54:], "FAT16   ")
	b[510], b[511] = 0x55, 0xaa
	return b
}

func TestFATLabel(t *testing.T) {
	good := fat16BootSector("DECOM-DATA")
	if got, err := FATLabel(good); err != nil || got != "DECOM-DATA" {
		t.Fatalf("FAT16: %q, %v", got, err)
	}
	if got, err := FATLabel(fat16BootSector("NO NAME")); err != nil || got != "" {
		t.Errorf("NO NAME: %q, %v; want no label", got, err)
	}
	for name, mangle := range map[string]func(b []byte){
		"no signature":         func(b []byte) { b[511] = 0 },
		"no jump":              func(b []byte) { b[0] = 0 },
		"odd sector size":      func(b []byte) { binary.LittleEndian.PutUint16(b[11:], 500) },
		"cluster size not 2^n": func(b []byte) { b[13] = 3 },
		"no FATs":              func(b []byte) { b[16] = 0 },
		"no extended BPB":      func(b []byte) { b[38] = 0x28 },
		"short":                nil,
		"zeros":                func(b []byte) { clear(b) },
	} {
		b := append([]byte(nil), good...)
		if mangle == nil {
			b = b[:100]
		} else {
			mangle(b)
		}
		if got, err := FATLabel(b); !errors.Is(err, ErrNotFAT) {
			t.Errorf("%s: FATLabel = %q, %v; want ErrNotFAT", name, got, err)
		}
	}
}

func FuzzFATLabel(f *testing.F) {
	f.Add(fat16BootSector("DECOM-DATA"))
	f.Add(make([]byte, 512))
	f.Fuzz(func(t *testing.T, b []byte) {
		label, err := FATLabel(b)
		if err == nil && len(label) > 11*3 {
			t.Fatalf("label %q longer than 11 bytes can spell", label)
		}
	})
}

// isoDescriptor is a primary volume descriptor with volume identifier id.
func isoDescriptor(id string) []byte {
	b := make([]byte, 2048)
	b[0] = 1
	copy(b[1:], "CD001")
	b[6] = 1
	copy(b[40:72], []byte(id + "                                ")[:32])
	return b
}

func TestISOVolumeID(t *testing.T) {
	if id, ok := ISOVolumeID(isoDescriptor("DECOM")); !ok || id != "DECOM" {
		t.Errorf("ISOVolumeID = %q, %v", id, ok)
	}
	b := isoDescriptor("DECOM")
	b[1] = 'X'
	if _, ok := ISOVolumeID(b); ok {
		t.Error("no CD001: accepted")
	}
	if _, ok := ISOVolumeID(make([]byte, 2048)); ok {
		t.Error("zeros: accepted")
	}
}
