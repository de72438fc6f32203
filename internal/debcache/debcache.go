// Package debcache finds what scripts/fetch-kernel.sh and scripts/fetch-boot.sh unpacked
// from Debian's packages (the kernel with its modules, systemd-boot) in caches outside the
// checkout, so that fresh clones and CI reuse them. The image builder and the QEMU test
// harness read the same caches through it.
package debcache

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KernelCache is where scripts/fetch-kernel.sh unpacks Debian's kernel package:
// $DECOM_KERNEL_CACHE, else ~/.cache/decom/kernel. It is the cache internal/qemutest boots
// from: <cache>/current names a release, <cache>/<release>/vmlinuz is its kernel and
// <cache>/<release>/lib/modules/<release> its modules.
func KernelCache() string {
	return cacheDir("DECOM_KERNEL_CACHE", "kernel")
}

// LoaderCache is where scripts/fetch-boot.sh unpacks systemd-boot (Debian's
// systemd-boot-efi): $DECOM_BOOT_CACHE, else ~/.cache/decom/boot. <cache>/current names a
// package version, <cache>/<version>/systemd-bootx64.efi is the loader.
func LoaderCache() string {
	return cacheDir("DECOM_BOOT_CACHE", "boot")
}

func cacheDir(env, name string) string {
	if dir := os.Getenv(env); dir != "" {
		return dir
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "decom-"+name)
	}
	return filepath.Join(home, ".cache", "decom", name)
}

// ErrNoCache is wrapped by the errors of Kernel and Loader when the cache holds
// nothing usable: `make deps` (scripts/fetch-kernel.sh, scripts/fetch-boot.sh) fills it.
var ErrNoCache = errors.New("not in the cache")

// Kernel returns the kernel and modules directory the kernel cache names current.
func Kernel() (vmlinuz, modulesDir string, err error) {
	cache := KernelCache()
	version, err := current(cache)
	if err != nil {
		return "", "", fmt.Errorf("kernel: %w (scripts/fetch-kernel.sh, or make deps, fetches it)", err)
	}
	dir := filepath.Join(cache, version)
	vmlinuz = filepath.Join(dir, "vmlinuz")
	modulesDir = filepath.Join(dir, "lib", "modules", version)
	for _, p := range []string{vmlinuz, modulesDir} {
		if _, err := os.Stat(p); err != nil {
			return "", "", fmt.Errorf("kernel %s: %w: %v", version, ErrNoCache, err)
		}
	}
	return vmlinuz, modulesDir, nil
}

// Loader returns systemd-boot's EFI binary from the loader cache, with its Debian
// package version.
func Loader() (efi, version string, err error) {
	cache := LoaderCache()
	version, err = current(cache)
	if err != nil {
		return "", "", fmt.Errorf("systemd-boot: %w (scripts/fetch-boot.sh, or make deps, fetches it)", err)
	}
	efi = filepath.Join(cache, version, "systemd-bootx64.efi")
	if _, err := os.Stat(efi); err != nil {
		return "", "", fmt.Errorf("systemd-boot %s: %w: %v", version, ErrNoCache, err)
	}
	return efi, version, nil
}

// current reads the version a cache's current file names.
func current(cache string) (string, error) {
	b, err := os.ReadFile(filepath.Join(cache, "current"))
	if err != nil {
		return "", fmt.Errorf("%w: %s/current: %v", ErrNoCache, cache, err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" || v == "." || v == ".." || strings.ContainsAny(v, "/\x00") {
		return "", fmt.Errorf("%w: %s/current names no version", ErrNoCache, cache)
	}
	return v, nil
}
