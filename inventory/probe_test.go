package inventory

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"github.com/diskfs/go-diskfs/partition/gpt"
	"github.com/diskfs/go-diskfs/partition/mbr"
)

const (
	linuxFSGUID = "0fc63daf-8483-4772-8e79-3d69d8477de4"
	espGUID     = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
)

// writeGPT writes a GPT with the given partitions (start and size in 512-byte sectors)
// to the image file at path, the way a partitioning tool would.
func writeGPT(t testing.TB, path string, size int64, parts ...*gpt.Partition) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	table := &gpt.Table{LogicalSectorSize: 512, PhysicalSectorSize: 512, ProtectiveMBR: true, Partitions: parts}
	if err := table.Write(f, size); err != nil {
		t.Fatal(err)
	}
}

func newImage(t testing.TB, size int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
	return path
}

func layoutOf(t *testing.T, path string) (diskLayout, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	return readLayout(f, st.Size(), 512, 512)
}

func TestReadLayoutGPT(t *testing.T) {
	const size = 64 << 20
	img := newImage(t, size)
	writeGPT(t, img, size,
		&gpt.Partition{Index: 1, Start: 2048, End: 4095, Type: espGUID, Name: "EFI system"},
		&gpt.Partition{Index: 2, Start: 4096, End: 131038, Type: linuxFSGUID, Name: "data"},
	)
	got, err := layoutOf(t, img)
	if err != nil {
		t.Fatal(err)
	}
	if got.Table != TableGPT {
		t.Fatalf("table = %q, want gpt", got.Table)
	}
	want := map[int]tableEntry{
		1: {Start: 2048 * 512, Size: 2048 * 512, Type: espGUID, Label: "EFI system"},
		2: {Start: 4096 * 512, Size: (131038 - 4096 + 1) * 512, Type: linuxFSGUID, Label: "data"},
	}
	for n, w := range want {
		if got.Entries[n] != w {
			t.Errorf("partition %d = %+v, want %+v", n, got.Entries[n], w)
		}
	}
	if len(got.Entries) != 2 {
		t.Errorf("entries = %+v", got.Entries)
	}
}

func TestReadLayoutMBR(t *testing.T) {
	const size = 32 << 20
	img := newImage(t, size)
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	table := &mbr.Table{LogicalSectorSize: 512, PhysicalSectorSize: 512, Partitions: []*mbr.Partition{
		{Type: mbr.Linux, Start: 2048, Size: 20480},
		{Type: mbr.Fat32LBA, Start: 22528, Size: 20480},
	}}
	if err := table.Write(f, size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got, err := layoutOf(t, img)
	if err != nil {
		t.Fatal(err)
	}
	if got.Table != TableMBR || got.Entries[1].Type != "0x83" || got.Entries[2].Type != "0x0c" || len(got.Entries) != 2 {
		t.Errorf("layout = %+v, want mbr with 0x83 and 0x0c", got)
	}
}

func TestReadLayoutEmptyDevice(t *testing.T) {
	got, err := layoutOf(t, newImage(t, 8<<20))
	if err != nil {
		t.Fatal(err)
	}
	if got.Table != TableNone || got.Filesystem != "" {
		t.Errorf("blank device: %+v", got)
	}
}

// A GPT header with a valid checksum but an absurd entry array must be refused, not
// allocated.
func TestReadLayoutHostileGPT(t *testing.T) {
	img := newImage(t, 1<<20)
	hdr := make([]byte, 92)
	copy(hdr, "EFI PART")
	binary.LittleEndian.PutUint32(hdr[8:], 0x00010000)
	binary.LittleEndian.PutUint32(hdr[12:], 92)
	binary.LittleEndian.PutUint64(hdr[72:], 2)
	binary.LittleEndian.PutUint32(hdr[80:], 0xffffffff) // entries
	binary.LittleEndian.PutUint32(hdr[84:], 0xffffffff) // entry size
	binary.LittleEndian.PutUint32(hdr[16:], crc32.ChecksumIEEE(hdr))
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(hdr, 512); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := layoutOf(t, img); err == nil {
		t.Error("hostile GPT header accepted")
	}
}

type failingReader struct{}

func (failingReader) ReadAt([]byte, int64) (int, error) { return 0, errors.New("medium error") }

func TestReadLayoutReadError(t *testing.T) {
	if _, err := readLayout(failingReader{}, 1<<20, 512, 512); err == nil {
		t.Error("read error swallowed")
	}
}

func FuzzReadLayout(f *testing.F) {
	const size = 64 << 10
	img := newImage(f, size)
	writeGPT(f, img, size, &gpt.Partition{Index: 1, Start: 34, End: 100, Type: linuxFSGUID, Name: "x"})
	seed, err := os.ReadFile(img)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed[:34*512])
	f.Add(make([]byte, 4096))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := readLayout(bytes.NewReader(b), int64(len(b)), 512, 512)
		if err != nil {
			return
		}
		switch l.Table {
		case TableGPT, TableMBR, TableNone:
		default:
			t.Fatalf("table %q", l.Table)
		}
	})
}
