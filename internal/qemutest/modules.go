package qemutest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// DefaultModules drive every bus a Disk can sit on, plus sd and sg for the SCSI and ATA ones.
// Their dependencies come from the modules themselves.
var DefaultModules = []string{
	"nvme", "ahci", "ata_piix", "virtio_pci", "virtio_blk", "virtio_scsi", "sd_mod", "sg",
}

// module is one kernel module to load.
type module struct {
	name  string // normalised: '-' as '_'
	path  string // the file under the modules directory
	image []byte // the ELF image, decompressed
}

// moduleTree indexes a kernel's modules directory (lib/modules/VERSION).
type moduleTree struct {
	dir     string
	files   map[string]string // normalised name → path
	builtin map[string]bool   // built into the kernel: nothing to load
}

// modName normalises a module name or file name the way the kernel compares them.
func modName(s string) string {
	s = filepath.Base(s)
	if i := strings.Index(s, ".ko"); i >= 0 {
		s = s[:i]
	}
	return strings.ReplaceAll(s, "-", "_")
}

func openModuleTree(dir string) (*moduleTree, error) {
	mt := &moduleTree{dir: dir, files: map[string]string{}, builtin: map[string]bool{}}
	err := filepath.WalkDir(filepath.Join(dir, "kernel"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.Contains(d.Name(), ".ko") {
			mt.files[modName(d.Name())] = path
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("modules of %s: %w", dir, err)
	}
	if f, err := os.Open(filepath.Join(dir, "modules.builtin")); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" {
				mt.builtin[modName(line)] = true
			}
		}
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	return mt, nil
}

// resolve returns the modules to load for names, each after the modules it depends on.
//
// Debian's kernel package ships no modules.dep (its postinst runs depmod), so the dependencies
// are read where depmod's come from too: the depends= line modpost writes into each module's
// .modinfo section.
func (mt *moduleTree) resolve(names []string) ([]module, error) {
	var order []module
	state := map[string]int{} // 1: visiting, 2: done
	var visit func(name, from string) error
	visit = func(name, from string) error {
		name = modName(name)
		switch state[name] {
		case 1:
			return fmt.Errorf("module %s: dependency cycle through %s", name, from)
		case 2:
			return nil
		}
		if mt.builtin[name] {
			state[name] = 2
			return nil
		}
		path, ok := mt.files[name]
		if !ok {
			if from != "" {
				return fmt.Errorf("module %s (needed by %s) is not in %s", name, from, mt.dir)
			}
			return fmt.Errorf("module %s is not in %s", name, mt.dir)
		}
		state[name] = 1
		image, err := readModule(path)
		if err != nil {
			return err
		}
		deps, err := moduleDepends(image)
		if err != nil {
			return fmt.Errorf("module %s: %w", name, err)
		}
		for _, d := range deps {
			if err := visit(d, name); err != nil {
				return err
			}
		}
		state[name] = 2
		order = append(order, module{name: name, path: path, image: image})
		return nil
	}
	for _, n := range names {
		if err := visit(n, ""); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// moduleDepends reads the depends= entry of a module's .modinfo section.
func moduleDepends(image []byte) ([]string, error) {
	f, err := elf.NewFile(bytes.NewReader(image))
	if err != nil {
		return nil, err
	}
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, fmt.Errorf("no .modinfo section")
	}
	info, err := sec.Data()
	if err != nil {
		return nil, err
	}
	for _, kv := range bytes.Split(info, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok {
			if len(v) == 0 {
				return nil, nil
			}
			return strings.Split(string(v), ","), nil
		}
	}
	return nil, nil
}

// readModule reads a module file, decompressed: init_module wants the ELF image.
func readModule(path string) ([]byte, error) {
	switch {
	case strings.HasSuffix(path, ".ko"):
		return os.ReadFile(path)
	case strings.HasSuffix(path, ".ko.gz"):
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return io.ReadAll(zr)
	case strings.HasSuffix(path, ".ko.xz"):
		return decompressWith(path, "xz")
	case strings.HasSuffix(path, ".ko.zst"):
		return decompressWith(path, "zstd")
	}
	return nil, fmt.Errorf("%s: not a kernel module file", path)
}

func decompressWith(path, tool string) ([]byte, error) {
	var stderr bytes.Buffer
	cmd := exec.Command(tool, "-dc", path)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s -dc %s: %v: %s", tool, path, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
