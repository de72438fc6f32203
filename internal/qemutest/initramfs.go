package qemutest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/u-root/u-root/pkg/cpio"

	"github.com/decom-project/decom/internal/qemutest/wire"
)

// initramfs is what goes into the guest's initramfs.
type initramfs struct {
	init    string            // host path of the guest init binary, /init in the guest
	config  wire.Config       // /qemutest.json; its Modules are filled from modules
	modules []module          // into wire.ModulesDir, in load order
	files   map[string]string // guest path → host path
}

// write writes the initramfs as an uncompressed newc cpio archive to dst. Uncompressed because
// decompressing in the guest costs more under TCG than QEMU's loading of a bigger file.
func (ir *initramfs) write(dst string) (err error) {
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	w := &numbering{w: cpio.NewDedupWriter(cpio.Newc.Writer(bw))}

	dirs := map[string]bool{}
	mkdirs := func(p string) error {
		var parents []string
		for d := path.Dir(p); d != "/" && d != "." && !dirs[d]; d = path.Dir(d) {
			parents = append(parents, d)
		}
		for i := len(parents) - 1; i >= 0; i-- {
			dirs[parents[i]] = true
			if err := w.WriteRecord(cpio.Directory(strings.TrimPrefix(parents[i], "/"), 0o755)); err != nil {
				return err
			}
		}
		return nil
	}
	for _, d := range []string{"/dev", "/proc", "/sys", "/tmp", "/root", wire.ModulesDir} {
		if err := mkdirs(d + "/x"); err != nil {
			return err
		}
	}
	// The kernel opens /dev/console for init before anything is mounted.
	if err := w.WriteRecord(cpio.CharDev("dev/console", 0o600, 5, 1)); err != nil {
		return err
	}

	cfg := ir.config
	cfg.Modules = nil
	for i, m := range ir.modules {
		file := fmt.Sprintf("%03d-%s.ko", i, m.name)
		cfg.Modules = append(cfg.Modules, wire.Module{Name: m.name, File: file})
		rec := cpio.StaticRecord(m.image, cpio.Info{Name: strings.TrimPrefix(wire.ModulesDir, "/") + "/" + file, Mode: cpio.S_IFREG | 0o644})
		if err := w.WriteRecord(rec); err != nil {
			return err
		}
	}
	js, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	if err := w.WriteRecord(cpio.StaticFile(strings.TrimPrefix(wire.ConfigPath, "/"), string(js), 0o644)); err != nil {
		return err
	}

	files := map[string]string{"/init": ir.init}
	for g, h := range ir.files {
		if !path.IsAbs(g) || path.Clean(g) != g || g == "/" {
			return fmt.Errorf("guest path %q: want a clean absolute path", g)
		}
		if _, ok := files[g]; ok || g == wire.ConfigPath || strings.HasPrefix(g, wire.ModulesDir+"/") {
			return fmt.Errorf("guest path %q is taken", g)
		}
		files[g] = h
	}
	for _, g := range slices.Sorted(maps.Keys(files)) {
		if err := mkdirs(g); err != nil {
			return err
		}
		if err := writeHostFile(w, g, files[g]); err != nil {
			return err
		}
	}
	if err := cpio.WriteTrailer(w); err != nil {
		return err
	}
	return bw.Flush()
}

// writeHostFile copies the regular file host to guest path g, keeping its permission bits.
func writeHostFile(w cpio.RecordWriter, g, host string) error {
	f, err := os.Open(host)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s (for %s in the guest) is not a regular file", host, g)
	}
	return w.WriteRecord(cpio.Record{
		ReaderAt: f,
		Info: cpio.Info{
			Name:     strings.TrimPrefix(g, "/"),
			Mode:     cpio.S_IFREG | uint64(st.Mode().Perm()),
			FileSize: uint64(st.Size()),
			MTime:    uint64(st.ModTime().Unix()),
		},
	})
}

// numbering gives every record an inode number of its own and a link count, as the kernel's
// unpacker expects of an archive without hard links.
type numbering struct {
	w   cpio.RecordWriter
	ino uint64
}

func (n *numbering) WriteRecord(r cpio.Record) error {
	if r.Name != cpio.Trailer {
		n.ino++
		r.Ino, r.NLink = n.ino, 1
	}
	return n.w.WriteRecord(r)
}
