package images

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/u-root/u-root/pkg/cpio"

	"github.com/decom-project/decom/internal/kmod"
)

// initramfs is the content of the boot image's initramfs.
type initramfs struct {
	init       string        // host path of the static decom binary: /init
	modulesDir string        // host modules directory the modules come from
	index      *kmod.Index   // the modules to pack, with Paths as they will be in the image
	sources    []kmod.Module // the same modules, with Paths in modulesDir (maybe compressed)
	epoch      int64         // every entry's mtime
	caCerts    []byte        // PEM CA certificates for InitramfsCACerts; none when empty
}

// entry is one file, directory or device of the archive.
type entry struct {
	name string // without a leading '/'
	mode uint64 // cpio.S_IF* | permissions
	data func() ([]byte, error)
	rdev [2]uint64
}

// write writes the initramfs as a gzip-compressed newc cpio archive and returns the size of
// the uncompressed archive and of the (decompressed) modules in it. Entries are sorted by name (every directory before what it
// holds), owned by root, dated epoch and numbered from 1, so the same inputs make the same
// bytes. gzip because every kernel can unpack it and Go writes it deterministically.
func (ir *initramfs) write(w io.Writer) (size, moduleBytes int64, err error) {
	entries := map[string]entry{}
	dir := func(name string) {
		for d := name; d != "." && d != "/" && d != ""; d = path.Dir(d) {
			entries[d] = entry{name: d, mode: cpio.S_IFDIR | 0o755}
		}
	}
	file := func(name string, perm uint64, data func() ([]byte, error)) {
		dir(path.Dir(name))
		entries[name] = entry{name: name, mode: cpio.S_IFREG | perm, data: data}
	}
	for _, d := range []string{"dev", "proc", "sys", "run", "tmp", "root", "etc", "mnt"} {
		dir(d)
	}
	// The kernel opens /dev/console for init before anything is mounted.
	entries["dev/console"] = entry{name: "dev/console", mode: cpio.S_IFCHR | 0o600, rdev: [2]uint64{5, 1}}
	file("init", 0o755, func() ([]byte, error) { return os.ReadFile(ir.init) })
	if len(ir.caCerts) > 0 {
		file(strings.TrimPrefix(InitramfsCACerts, "/"), 0o644, func() ([]byte, error) { return ir.caCerts, nil })
	}

	base := "lib/modules/" + ir.index.Kernel
	dir(base)
	for i, m := range ir.index.Modules {
		src := filepath.Join(ir.modulesDir, filepath.FromSlash(ir.sources[i].Path))
		file(base+"/"+m.Path, 0o644, func() ([]byte, error) {
			b, err := kmod.ReadFile(src)
			moduleBytes += int64(len(b))
			return b, err
		})
	}
	var idx bytes.Buffer
	if err := kmod.WriteIndex(&idx, ir.index); err != nil {
		return 0, 0, err
	}
	file(base+"/"+kmod.IndexFile, 0o644, func() ([]byte, error) { return idx.Bytes(), nil })

	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	slices.Sort(names) // a directory sorts before what it holds: "a" < "a/b"

	zw, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return 0, 0, err
	}
	counter := &countingWriter{w: zw}
	cw := cpio.Newc.Writer(counter)
	for i, n := range names {
		e := entries[n]
		rec := cpio.Record{Info: cpio.Info{
			Ino: uint64(i + 1), Mode: e.mode, NLink: 1, MTime: uint64(ir.epoch),
			Name: e.name, Rmajor: e.rdev[0], Rminor: e.rdev[1],
		}}
		if e.mode&cpio.S_IFMT == cpio.S_IFDIR {
			rec.NLink = 2
		}
		if e.data != nil {
			b, err := e.data()
			if err != nil {
				return 0, 0, fmt.Errorf("initramfs /%s: %w", n, err)
			}
			rec.ReaderAt = bytes.NewReader(b)
			rec.FileSize = uint64(len(b))
		}
		if err := cw.WriteRecord(rec); err != nil {
			return 0, 0, fmt.Errorf("initramfs /%s: %w", n, err)
		}
	}
	if err := cpio.WriteTrailer(cw); err != nil {
		return 0, 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, 0, err
	}
	return counter.n, moduleBytes, nil
}

// imageModules turns the modules to pack into the index the image holds: compressed files
// are stored decompressed, so their paths lose the compression suffix.
func imageModules(mods []kmod.Module) []kmod.Module {
	out := make([]kmod.Module, len(mods))
	for i, m := range mods {
		m.Path = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m.Path, ".xz"), ".zst"), ".gz")
		out[i] = m
	}
	return out
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
