// Package sysfstest builds fake machines for inventory's tests: a directory tree with
// the parts of /sys, /proc, /run/udev and /dev that inventory reads, described in a
// txtar archive.
//
// Each archive file becomes a file below the root, with conveniences that keep fixtures
// short and close to what a kernel shows:
//
//   - a file named "…/DIR/:attrs" holds one attribute a line, relative to DIR:
//     "path=value" writes value and a newline ("queue/rotational=1"); "path:hex=00 80"
//     writes the bytes the hex digits spell (binary attributes such as vpd_pg80);
//     "path -> target" makes a symlink ("device -> ../.."); "path/" makes an empty
//     directory ("holders/"). Blank lines and lines starting with # are skipped;
//   - a file whose name ends in "@" is a symlink to the path its content names;
//   - every block device directory below sys/devices, one with a "dev" file and
//     either a "queue" directory (a whole disk) or a "partition" file (a partition),
//     gets its sys/dev/block/MAJ:MIN link, and every whole disk its sys/block/NAME
//     link, as the kernel would make them.
//
// The archive file "expect.json" is not materialised: tests keep their expectations there.
package sysfstest

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// Load materialises the txtar file at path in a fresh temporary directory and returns
// the directory and the parsed archive.
func Load(t testing.TB, path string) (string, *txtar.Archive) {
	t.Helper()
	ar, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := Materialize(root, ar); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return root, ar
}

// Materialize writes the fake machine described by ar below root.
func Materialize(root string, ar *txtar.Archive) error {
	for _, f := range ar.Files {
		name := filepath.Clean(f.Name)
		if name == "expect.json" {
			continue
		}
		if !filepath.IsLocal(name) {
			return fmt.Errorf("%s: path leaves the fake root", f.Name)
		}
		var err error
		switch {
		case filepath.Base(name) == ":attrs":
			err = writeAttrs(filepath.Join(root, filepath.Dir(name)), string(f.Data))
		case strings.HasSuffix(name, "@"):
			err = symlink(strings.TrimSpace(string(f.Data)), filepath.Join(root, strings.TrimSuffix(name, "@")))
		default:
			err = writeFile(filepath.Join(root, name), f.Data)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
	}
	return linkBlockDevices(root)
}

func writeAttrs(dir, text string) error {
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if p, target, ok := strings.Cut(line, " -> "); ok {
			if err := symlink(strings.TrimSpace(target), filepath.Join(dir, strings.TrimSpace(p))); err != nil {
				return fmt.Errorf("line %d: %w", i+1, err)
			}
			continue
		}
		if p, ok := strings.CutSuffix(line, "/"); ok {
			if err := os.MkdirAll(filepath.Join(dir, p), 0o755); err != nil {
				return fmt.Errorf("line %d: %w", i+1, err)
			}
			continue
		}
		p, value, ok := strings.Cut(line, "=")
		if !ok {
			return fmt.Errorf("line %d: want path=value, path:hex=HEX, path -> target or path/: %q", i+1, line)
		}
		data := []byte(value + "\n")
		if p, ok = strings.CutSuffix(p, ":hex"); ok {
			var err error
			if data, err = hex.DecodeString(strings.Join(strings.Fields(value), "")); err != nil {
				return fmt.Errorf("line %d: %w", i+1, err)
			}
		}
		if err := writeFile(filepath.Join(dir, p), data); err != nil {
			return fmt.Errorf("line %d: %w", i+1, err)
		}
	}
	return nil
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

func symlink(target, link string) error {
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return err
	}
	return os.Symlink(target, link)
}

// linkBlockDevices makes the sys/dev/block and sys/block links for the block devices
// below sys/devices that the archive did not link itself.
func linkBlockDevices(root string) error {
	devices := filepath.Join(root, "sys", "devices")
	if _, err := os.Stat(devices); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return filepath.WalkDir(devices, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink != 0 || d.IsDir() || d.Name() != "dev" {
			return err
		}
		dir := filepath.Dir(path)
		disk := isDir(filepath.Join(dir, "queue"))
		partition := exists(filepath.Join(dir, "partition"))
		if !disk && !partition {
			return nil // a character device, or not a device at all
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		devNo := strings.TrimSpace(string(b))
		if err := relLink(dir, filepath.Join(root, "sys", "dev", "block", devNo)); err != nil {
			return err
		}
		if disk {
			return relLink(dir, filepath.Join(root, "sys", "block", filepath.Base(dir)))
		}
		return nil
	})
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// relLink links link to target with a relative path, unless link exists already.
func relLink(target, link string) error {
	if _, err := os.Lstat(link); err == nil {
		return nil
	}
	rel, err := filepath.Rel(filepath.Dir(link), target)
	if err != nil {
		return err
	}
	return symlink(rel, link)
}
