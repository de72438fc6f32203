package kmod

import (
	"bufio"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/u-root/u-root/pkg/kmodule"
)

// Scan indexes the modules directory of one kernel (lib/modules/<release>): every module
// file under it (kernel/, updates/, extra/, ...) with its .modinfo dependencies and aliases,
// and modules.builtin when it exists. The kernel release is the one the modules were built
// for (their vermagic), else the directory's name. When two files have one module name, the
// one outside kernel/ wins, as depmod's default search order has it.
func Scan(modulesDir string) (*Index, error) {
	files := map[string]string{} // name → relative path
	err := filepath.WalkDir(modulesDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !d.Type().IsRegular() || !isModuleFile(d.Name()) {
			return nil
		}
		rel, err := filepath.Rel(modulesDir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		name := Name(rel)
		if old, ok := files[name]; ok && !strings.HasPrefix(old, "kernel/") {
			return nil
		}
		files[name] = rel
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("modules of %s: %w", modulesDir, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("modules of %s: no module files", modulesDir)
	}

	x := &Index{}
	for name, rel := range files {
		x.Modules = append(x.Modules, Module{Name: name, Path: rel})
	}
	slices.SortFunc(x.Modules, func(a, b Module) int { return strings.Compare(a.Name, b.Name) })

	// Reading .modinfo is I/O and, for compressed modules, decompression: spread it.
	vermagic := make([]string, len(x.Modules))
	errs := make([]error, len(x.Modules))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) * 2 {
		wg.Go(func() {
			for i := range next {
				m := &x.Modules[i]
				info, err := readModinfo(filepath.Join(modulesDir, filepath.FromSlash(m.Path)))
				if err != nil {
					errs[i] = fmt.Errorf("module %s: %w", m.Path, err)
					continue
				}
				m.Depends, m.Aliases, vermagic[i] = parseModinfo(info)
			}
		})
	}
	for i := range x.Modules {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	x.Kernel = filepath.Base(filepath.Clean(modulesDir))
	for _, v := range vermagic {
		if f := strings.Fields(v); len(f) > 0 && !strings.ContainsAny(f[0], "/\x00") {
			x.Kernel = f[0]
			break
		}
	}
	builtin, err := readBuiltin(filepath.Join(modulesDir, "modules.builtin"))
	if err != nil {
		return nil, err
	}
	x.Builtin = builtin
	if err := x.validate(); err != nil {
		return nil, err
	}
	return x, nil
}

// readBuiltin reads modules.builtin (one module path a line); a missing file is no error.
func readBuiltin(file string) ([]string, error) {
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return []string{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := []string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			out = append(out, Name(line))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// isModuleFile reports whether a file name is a kernel module's, compressed or not.
func isModuleFile(name string) bool {
	return strings.HasSuffix(name, ".ko") || compression(name) != ""
}

// compression returns the compressed module suffix of name, or "".
func compression(name string) string {
	for _, s := range []string{".ko.xz", ".ko.zst", ".ko.gz"} {
		if strings.HasSuffix(name, s) {
			return s
		}
	}
	return ""
}

// ReadFile returns the ELF image of the module file at file, decompressed: what init_module
// wants, and what the image builder packs.
func ReadFile(file string) ([]byte, error) {
	if compression(file) == "" {
		return os.ReadFile(file)
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := kmodule.CompressionReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	// The decompressors hold resources (zstd's goroutines): release them.
	switch c := r.(type) {
	case interface{ Close() error }:
		defer c.Close()
	case interface{ Close() }:
		defer c.Close()
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: decompressing: %w", file, err)
	}
	return b, nil
}

// readModinfo returns the .modinfo section of a module file.
func readModinfo(file string) ([]byte, error) {
	var ra io.ReaderAt
	if compression(file) == "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		ra = f
	} else {
		b, err := ReadFile(file)
		if err != nil {
			return nil, err
		}
		ra = bytes.NewReader(b)
	}
	return Modinfo(ra)
}

// Modinfo returns the .modinfo section of a module's ELF image.
func Modinfo(image io.ReaderAt) ([]byte, error) {
	f, err := elf.NewFile(image)
	if err != nil {
		return nil, err
	}
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, errors.New("no .modinfo section")
	}
	return sec.Data()
}

// parseModinfo picks depends=, alias= and vermagic= out of a .modinfo section: NUL-separated
// key=value strings.
func parseModinfo(info []byte) (depends, aliases []string, vermagic string) {
	depends, aliases = []string{}, []string{}
	for _, kv := range bytes.Split(info, []byte{0}) {
		k, v, ok := bytes.Cut(kv, []byte("="))
		if !ok {
			continue
		}
		switch string(k) {
		case "depends":
			for _, d := range strings.Split(string(v), ",") {
				if d = strings.TrimSpace(d); d != "" {
					depends = append(depends, Name(d))
				}
			}
		case "alias":
			if len(v) > 0 {
				aliases = append(aliases, string(v))
			}
		case "vermagic":
			vermagic = string(v)
		}
	}
	return depends, aliases, vermagic
}
