package qemutest

import (
	"fmt"
	"path/filepath"
	"sync"

	"github.com/decom-project/decom/internal/kmod"
)

// DefaultModules drive every bus a Disk can sit on, plus sd and sg for the SCSI and ATA ones.
// Their dependencies come from the modules themselves (package kmod).
var DefaultModules = []string{
	"nvme", "ahci", "ata_piix", "virtio_pci", "virtio_blk", "virtio_scsi", "sd_mod", "sg",
}

// module is one kernel module to load.
type module struct {
	name  string // normalised: '-' as '_'
	path  string // the file under the modules directory
	image []byte // the ELF image, decompressed
}

// indexes caches the scan of each modules directory: every Run needs it.
var indexes sync.Map // modules directory → *indexEntry

type indexEntry struct {
	once sync.Once
	x    *kmod.Index
	err  error
}

func scanModules(dir string) (*kmod.Index, error) {
	e, _ := indexes.LoadOrStore(dir, &indexEntry{})
	ie := e.(*indexEntry)
	ie.once.Do(func() { ie.x, ie.err = kmod.Scan(dir) })
	return ie.x, ie.err
}

// resolveModules returns the modules to load for names from the kernel modules in dir, each
// after the modules it depends on, read and decompressed.
func resolveModules(dir string, names []string) ([]module, error) {
	x, err := scanModules(dir)
	if err != nil {
		return nil, err
	}
	mods, err := x.Closure(names...)
	if err != nil {
		return nil, err
	}
	out := make([]module, 0, len(mods))
	for _, m := range mods {
		path := filepath.Join(dir, filepath.FromSlash(m.Path))
		image, err := kmod.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("module %s: %w", m.Name, err)
		}
		out = append(out, module{name: m.Name, path: path, image: image})
	}
	return out, nil
}
