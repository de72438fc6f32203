// Package diskimage reads and writes files on the FAT partitions of disk image files with
// go-diskfs: how tests put a technician's config on a boot stick's DECOM-DATA partition and
// read back what the agent wrote there.
package diskimage

import (
	"fmt"
	"io"
	"os"
	"path"

	diskfs "github.com/diskfs/go-diskfs"
)

// WriteFiles writes files (name → content, names relative to the filesystem's root) onto
// partition part (from 1) of the image file.
func WriteFiles(image string, part int, files map[string][]byte) error {
	d, err := diskfs.Open(image, diskfs.WithOpenMode(diskfs.ReadWrite))
	if err != nil {
		return err
	}
	defer d.Close()
	fs, err := d.GetFilesystem(part)
	if err != nil {
		return fmt.Errorf("%s partition %d: %w", image, part, err)
	}
	for name, b := range files {
		f, err := fs.OpenFile(path.Join("/", name), os.O_CREATE|os.O_RDWR)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		_, err = f.Write(b)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// ReadFiles returns the regular files of directory dir of partition part (from 1) of the
// image file, by name.
func ReadFiles(image string, part int, dir string) (map[string][]byte, error) {
	d, err := diskfs.Open(image, diskfs.WithOpenMode(diskfs.ReadOnly))
	if err != nil {
		return nil, err
	}
	defer d.Close()
	fs, err := d.GetFilesystem(part)
	if err != nil {
		return nil, fmt.Errorf("%s partition %d: %w", image, part, err)
	}
	rel := path.Clean("/" + dir)[1:] // go-diskfs's ReadDir wants no leading slash...
	if rel == "" {
		rel = "." // ...and the root as "."
	}
	entries, err := fs.ReadDir(rel)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	out := map[string][]byte{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		f, err := fs.OpenFile(path.Join("/", rel, e.Name()), os.O_RDONLY)
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, err
		}
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		out[e.Name()] = b[:min(int64(len(b)), info.Size())] // go-diskfs reads whole clusters
	}
	return out, nil
}
