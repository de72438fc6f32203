package kmod

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Load loads module m from modulesDir into the running kernel, without parameters: a plain
// .ko through finit_module(2), a compressed one decompressed and through init_module(2). A
// module the kernel already has (EEXIST) is success. Load does not load dependencies: load
// the result of Index.Closure in order.
func Load(modulesDir string, m Module) error {
	if !validPath(m.Path) {
		return fmt.Errorf("module %s: bad path %q", m.Name, m.Path)
	}
	file := filepath.Join(modulesDir, filepath.FromSlash(m.Path))
	err := load(file)
	if errors.Is(err, unix.EEXIST) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("loading module %s: %w", m.Name, err)
	}
	return nil
}

func load(file string) error {
	if compression(file) == "" {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		err = unix.FinitModule(int(f.Fd()), "", 0)
		if !errors.Is(err, unix.ENOSYS) {
			return err
		}
	}
	image, err := ReadFile(file)
	if err != nil {
		return err
	}
	return unix.InitModule(image, "")
}
