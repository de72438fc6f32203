package debcache

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestCaches(t *testing.T) {
	kernel, boot := t.TempDir(), t.TempDir()
	t.Setenv("DECOM_KERNEL_CACHE", kernel)
	t.Setenv("DECOM_BOOT_CACHE", boot)
	if KernelCache() != kernel || LoaderCache() != boot {
		t.Fatalf("caches %s, %s; want the environment's", KernelCache(), LoaderCache())
	}
	if _, _, err := Kernel(); !errors.Is(err, ErrNoCache) {
		t.Errorf("empty kernel cache: %v, want ErrNoCache", err)
	}
	if _, _, err := Loader(); !errors.Is(err, ErrNoCache) {
		t.Errorf("empty loader cache: %v, want ErrNoCache", err)
	}
	for _, bad := range []string{"", "..", "a/b"} {
		os.WriteFile(filepath.Join(kernel, "current"), []byte(bad+"\n"), 0o644)
		if _, _, err := Kernel(); !errors.Is(err, ErrNoCache) {
			t.Errorf("current %q: %v, want ErrNoCache", bad, err)
		}
	}
	const rel = "6.1.0-1-amd64"
	os.WriteFile(filepath.Join(kernel, "current"), []byte(rel+"\n"), 0o644)
	if _, _, err := Kernel(); !errors.Is(err, ErrNoCache) {
		t.Errorf("current names a release that is not there: %v", err)
	}
	mods := filepath.Join(kernel, rel, "lib", "modules", rel)
	os.MkdirAll(mods, 0o755)
	os.WriteFile(filepath.Join(kernel, rel, "vmlinuz"), []byte("k"), 0o644)
	if v, m, err := Kernel(); err != nil || v != filepath.Join(kernel, rel, "vmlinuz") || m != mods {
		t.Errorf("Kernel: %s, %s, %v", v, m, err)
	}
	os.WriteFile(filepath.Join(boot, "current"), []byte("252.39-1\n"), 0o644)
	os.MkdirAll(filepath.Join(boot, "252.39-1"), 0o755)
	os.WriteFile(filepath.Join(boot, "252.39-1", "systemd-bootx64.efi"), []byte("MZ"), 0o644)
	if efi, v, err := Loader(); err != nil || v != "252.39-1" || filepath.Base(efi) != "systemd-bootx64.efi" {
		t.Errorf("Loader: %s, %s, %v", efi, v, err)
	}
}
