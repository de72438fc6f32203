package diskimage

import (
	"bytes"
	"path/filepath"
	"testing"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/disk"
	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/diskfs/go-diskfs/partition/gpt"
)

func TestWriteReadFiles(t *testing.T) {
	p := filepath.Join(t.TempDir(), "stick.img")
	d, err := diskfs.Create(p, 40<<20, diskfs.SectorSize512)
	if err != nil {
		t.Fatal(err)
	}
	table := &gpt.Table{LogicalSectorSize: 512, PhysicalSectorSize: 512, ProtectiveMBR: true, Partitions: []*gpt.Partition{
		{Index: 1, Start: 2048, End: 2048 + 36<<11 - 1, Type: gpt.MicrosoftBasicData, Name: "DECOM-DATA"},
	}}
	if err := d.Partition(table); err != nil {
		t.Fatal(err)
	}
	fs, err := d.CreateFilesystem(disk.FilesystemSpec{Partition: 1, FSType: filesystem.TypeFat32, VolumeLabel: "DECOM-DATA"})
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Mkdir("/certs"); err != nil {
		t.Fatal(err)
	}
	d.Close()

	big := bytes.Repeat([]byte("certificate "), 5000) // more than one cluster, not a multiple of one
	want := map[string][]byte{"certs/a.json": big, "certs/b.txt": []byte("b\n"), "config.yaml": []byte("method: zero\n")}
	if err := WriteFiles(p, 1, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFiles(p, 1, "/certs")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !bytes.Equal(got["a.json"], big) || string(got["b.txt"]) != "b\n" {
		t.Errorf("read back %d files: a.json %d bytes (want %d), b.txt %q", len(got), len(got["a.json"]), len(big), got["b.txt"])
	}
	root, err := ReadFiles(p, 1, "")
	if err != nil || string(root["config.yaml"]) != "method: zero\n" || len(root) != 1 {
		t.Errorf("root: %v, %v", root, err)
	}
	if _, err := ReadFiles(p, 1, "missing"); err == nil {
		t.Error("a missing directory read without error")
	}
	if _, err := ReadFiles(p, 2, ""); err == nil {
		t.Error("a missing partition read without error")
	}
}
