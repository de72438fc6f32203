package certificates

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path, err := WriteFileAtomic(dir, "c.sigstore.json", []byte("one"), 0o640)
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(dir, "c.sigstore.json") {
		t.Errorf("path %s", path)
	}
	// Replacing keeps the new content and the asked mode, umask or not.
	if _, err := WriteFileAtomic(dir, "c.sigstore.json", []byte("two"), 0o604); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(b, []byte("two")) {
		t.Fatalf("content %q, %v", b, err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o604 {
		t.Errorf("mode %v", fi.Mode())
	}
	sigOnlyFiles(t, dir, "c.sigstore.json")
}

func TestCreateFileAtomic(t *testing.T) {
	dir := t.TempDir()
	if _, err := CreateFileAtomic(dir, "log.key", []byte("first"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A second creator, as a second registry instance starting at the same moment would
	// be, leaves the first file alone.
	_, err := CreateFileAtomic(dir, "log.key", []byte("second"), 0o600)
	if !errors.Is(err, os.ErrExist) {
		t.Fatalf("second create: %v, want os.ErrExist", err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "log.key"))
	if string(b) != "first" {
		t.Errorf("content %q after a second create, want the first", b)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "log.key")); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
	sigOnlyFiles(t, dir, "log.key")
}

func TestWriteFileAtomicFailureLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	// The name is taken by a non-empty directory: the rename fails.
	os.MkdirAll(filepath.Join(dir, "taken", "x"), 0o755)
	if _, err := WriteFileAtomic(dir, "taken", []byte("data"), 0o644); err == nil {
		t.Fatal("rename over a directory succeeded")
	} else {
		t.Log(err)
	}
	sigOnlyFiles(t, dir, "taken")

	if _, err := WriteFileAtomic(filepath.Join(dir, "missing"), "f", []byte("data"), 0o644); err == nil {
		t.Error("write into a missing directory succeeded")
	}
	for _, name := range []string{"", ".", "..", "a/b", "../f"} {
		if _, err := WriteFileAtomic(dir, name, nil, 0o644); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
	sigOnlyFiles(t, dir, "taken")

	// A read-only directory (unless root, who may write anyway).
	ro := filepath.Join(dir, "ro")
	os.Mkdir(ro, 0o555)
	if _, err := WriteFileAtomic(ro, "f", []byte("data"), 0o644); err == nil && os.Geteuid() != 0 {
		t.Error("write into a read-only directory succeeded")
	}
}

// sigOnlyFiles fails unless dir holds exactly the named entries.
func sigOnlyFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if len(got) != len(names) {
		t.Fatalf("%s holds %q, want %q", dir, got, names)
	}
	for i := range got {
		if got[i] != names[i] {
			t.Fatalf("%s holds %q, want %q", dir, got, names)
		}
	}
}
