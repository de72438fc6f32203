package signature_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/fat32"

	"github.com/decom-project/decom/inventory/signature"
)

// probe reports the signature of the device, or image file, at path.
func probe(path string) (signature.Result, error) {
	f, err := os.Open(path) // read-only
	if err != nil {
		return signature.Result{}, err
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd) // the size of a block device, or of a file
	if err != nil {
		return signature.Result{}, err
	}
	return signature.Probe(f, size) // an error only when the device could not be read
}

// Two image files stand in for devices: one holding a FAT32 filesystem that go-diskfs
// made, labelled as decom's data partition is, and one never written. go-diskfs's
// reproducible mode leaves the volume serial number zero, which blkid reports as no UUID.
func ExampleProbe() {
	dir, err := os.MkdirTemp("", "signature-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	const size = 64 << 20
	b, err := file.CreateFromPath(filepath.Join(dir, "data.img"), size)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = fat32.Create(b, size, 0, 512, "DECOM-DATA", true)
	b.Close()
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, "blank.img"), make([]byte, 1<<20), 0o600); err != nil {
		fmt.Println(err)
		return
	}

	for _, name := range []string{"data.img", "blank.img"} {
		res, err := probe(filepath.Join(dir, name))
		if err != nil {
			fmt.Println(err)
			return
		}
		if res.Type == "" {
			fmt.Printf("%s: nothing recognised\n", name)
			continue
		}
		fmt.Printf("%s: %s %s, UUID %q, label %q\n", name, res.Type, res.Version, res.UUID, res.Label)
	}
	// Output:
	// data.img: vfat FAT32, UUID "", label "DECOM-DATA"
	// blank.img: nothing recognised
}
