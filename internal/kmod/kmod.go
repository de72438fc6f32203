// Package kmod indexes a kernel's loadable modules and loads them, without depmod, modprobe
// or udev: what the boot image's builder and its PID-1 agent need.
//
// The image builder scans Debian's modules directory, picks the drivers it wants, adds their
// dependencies and stores the index of exactly the modules it packed beside them:
//
//	func packModules(modulesDir string, w io.Writer) ([]kmod.Module, error) {
//		x, err := kmod.Scan(modulesDir)
//		if err != nil {
//			return nil, err
//		}
//		mods, err := x.Closure("nvme", "ahci", "usb_storage") // dependencies first
//		if err != nil {
//			return nil, err
//		}
//		byName := slices.SortedFunc(slices.Values(mods), func(a, b kmod.Module) int { return strings.Compare(a.Name, b.Name) })
//		err = kmod.WriteIndex(w, &kmod.Index{Kernel: x.Kernel, Modules: byName, Builtin: x.Builtin})
//		return mods, err
//	}
//
// The agent reads that index back, matches each device's modalias (from sysfs) against the
// modules' aliases the way modprobe does, and loads what matched, dependencies first:
//
//	func loadModules(modulesDir, modalias string, load func(modulesDir string, m kmod.Module) error) error {
//		f, err := os.Open(filepath.Join(modulesDir, kmod.IndexFile))
//		if err != nil {
//			return err
//		}
//		defer f.Close()
//		x, err := kmod.ReadIndex(f)
//		if err != nil {
//			return err
//		}
//		for _, m := range x.Match(modalias) {
//			mods, err := x.Closure(m.Name)
//			if err != nil {
//				return err
//			}
//			for _, d := range mods {
//				if err := load(modulesDir, d); err != nil { // kmod.Load: a module already loaded is no error
//					return err
//				}
//			}
//		}
//		return nil
//	}
//
// ExampleScan runs both over a made-up modules directory; ExampleLoad passes kmod.Load.
//
// Dependencies come from where depmod takes them too: the depends= entry modpost writes into
// each module's .modinfo section (Debian's kernel package ships no modules.dep; its postinst
// runs depmod). Aliases are the module's alias= entries. Modules may be plain .ko files or
// compressed (.ko.xz, .ko.zst, .ko.gz); they are decompressed in Go.
package kmod

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// IndexFile is the name of the index inside /lib/modules/<kernel>/ in the boot image.
const IndexFile = "decom-modules.json"

// Module is one loadable kernel module.
type Module struct {
	// Name is the module's name as the kernel compares it: '-' written as '_'.
	Name string `json:"name"`
	// Path is the module's file relative to the modules directory, with '/' separators,
	// e.g. kernel/drivers/nvme/host/nvme.ko (or .ko.xz, .ko.zst, .ko.gz).
	Path string `json:"path"`
	// Depends are the (normalised) names of the modules it needs, from .modinfo depends=.
	Depends []string `json:"depends"`
	// Aliases are the module's .modinfo alias= globs, matched against devices' modaliases.
	Aliases []string `json:"aliases"`
}

// Index is the set of modules of one kernel.
type Index struct {
	// Kernel is the kernel release the modules are for (uname -r).
	Kernel string `json:"kernel"`
	// Modules are sorted by Name, each name once.
	Modules []Module `json:"modules"`
	// Builtin are the (normalised, sorted) names of modules built into the kernel: a
	// dependency on one of them needs nothing loaded.
	Builtin []string `json:"builtin"`
}

// Name normalises a module name or module file name the way the kernel compares them:
// "kernel/lib/crc-t10dif.ko.zst" and "crc-t10dif" are both "crc_t10dif".
func Name(s string) string {
	s = filepath.Base(s)
	if i := strings.Index(s, ".ko"); i >= 0 {
		s = s[:i]
	}
	return strings.ReplaceAll(s, "-", "_")
}

// Lookup returns the module called name (normalised first).
func (x *Index) Lookup(name string) (Module, bool) {
	name = Name(name)
	i, ok := slices.BinarySearchFunc(x.Modules, name, func(m Module, n string) int { return strings.Compare(m.Name, n) })
	if !ok {
		return Module{}, false
	}
	return x.Modules[i], true
}

// IsBuiltin reports whether the module called name is built into the kernel.
func (x *Index) IsBuiltin(name string) bool {
	_, ok := slices.BinarySearch(x.Builtin, Name(name))
	return ok
}

// ErrUnknown is wrapped by the errors of Closure for a module the index does not hold.
var ErrUnknown = errors.New("no such module")

// Closure returns the modules called names and everything they depend on, each once, every
// module after the modules it depends on, in an order that depends only on the index and
// names. Modules built into the kernel are left out; a name (or dependency) that is neither
// in the index nor built in is an error wrapping ErrUnknown, as is a dependency cycle.
func (x *Index) Closure(names ...string) ([]Module, error) {
	var order []Module
	state := map[string]int{} // 1: visiting, 2: done
	var visit func(name, from string) error
	visit = func(name, from string) error {
		name = Name(name)
		switch state[name] {
		case 1:
			return fmt.Errorf("module %s: dependency cycle through %s", name, from)
		case 2:
			return nil
		}
		if x.IsBuiltin(name) {
			state[name] = 2
			return nil
		}
		m, ok := x.Lookup(name)
		if !ok {
			if from != "" {
				return fmt.Errorf("module %s (needed by %s): %w in %s", name, from, ErrUnknown, x.Kernel)
			}
			return fmt.Errorf("module %s: %w in %s", name, ErrUnknown, x.Kernel)
		}
		state[name] = 1
		for _, d := range m.Depends {
			if err := visit(d, name); err != nil {
				return err
			}
		}
		state[name] = 2
		order = append(order, m)
		return nil
	}
	for _, n := range names {
		if err := visit(n, ""); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// Match returns the modules with an alias that matches modalias (a device's
// /sys/.../modalias), sorted by name. Aliases are globs with fnmatch's semantics as modprobe
// uses them: '*' matches any run of bytes ('/' included), '?' any one byte, [...] a set
// ([!...] or [^...] its complement, a-z ranges), and '\' quotes the next byte.
func (x *Index) Match(modalias string) []Module {
	var out []Module
	for _, m := range x.Modules {
		for _, a := range m.Aliases {
			if Glob(a, modalias) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

// WriteIndex writes x as indented JSON.
func WriteIndex(w io.Writer, x *Index) error {
	if err := x.validate(); err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(x)
}

// ReadIndex reads an index WriteIndex wrote. It checks what Lookup, Closure and Load rely
// on: modules sorted by unique names, paths that stay inside the modules directory, sorted
// built-ins.
func ReadIndex(r io.Reader) (*Index, error) {
	var x Index
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&x); err != nil {
		return nil, fmt.Errorf("module index: %w", err)
	}
	if dec.More() {
		return nil, errors.New("module index: data after the index")
	}
	if err := x.validate(); err != nil {
		return nil, err
	}
	return &x, nil
}

func (x *Index) validate() error {
	if x.Kernel == "" || strings.ContainsAny(x.Kernel, "/\x00") || x.Kernel == "." || x.Kernel == ".." {
		return fmt.Errorf("module index: bad kernel release %q", x.Kernel)
	}
	for i, m := range x.Modules {
		if m.Name == "" || m.Name != Name(m.Name) {
			return fmt.Errorf("module index: bad module name %q", m.Name)
		}
		if i > 0 && x.Modules[i-1].Name >= m.Name {
			return fmt.Errorf("module index: modules not sorted by unique name at %q", m.Name)
		}
		if !validPath(m.Path) || Name(m.Path) != m.Name {
			return fmt.Errorf("module index: module %s: bad path %q", m.Name, m.Path)
		}
		for _, d := range m.Depends {
			if d == "" || d != Name(d) {
				return fmt.Errorf("module index: module %s: bad dependency %q", m.Name, d)
			}
		}
	}
	for i, b := range x.Builtin {
		if b == "" || b != Name(b) || (i > 0 && x.Builtin[i-1] >= b) {
			return fmt.Errorf("module index: built-in modules not sorted unique names at %q", b)
		}
	}
	return nil
}

// validPath accepts a clean relative slash path to a module file.
func validPath(p string) bool {
	if p == "" || path.IsAbs(p) || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") ||
		strings.ContainsAny(p, "\\\x00") {
		return false
	}
	return compression(p) != "" || strings.HasSuffix(p, ".ko")
}
