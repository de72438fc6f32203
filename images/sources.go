package images

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
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

// ErrNoCache is wrapped by the errors of CachedKernel and CachedLoader when the cache holds
// nothing usable: `make deps` (scripts/fetch-kernel.sh, scripts/fetch-boot.sh) fills it.
var ErrNoCache = errors.New("not in the cache")

// CachedKernel returns the kernel and modules directory the kernel cache names current.
func CachedKernel() (vmlinuz, modulesDir string, err error) {
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

// CachedLoader returns systemd-boot's EFI binary from the loader cache, with its Debian
// package version.
func CachedLoader() (efi, version string, err error) {
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

// KernelVersion returns the version string of an x86 bzImage (what /proc/version shows),
// e.g. "6.1.0-56-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian
// 6.1.192-2 (2026-11-16)". It fails for anything that is not a bzImage.
func KernelVersion(bzImage []byte) (string, error) {
	// The setup header: "HdrS" at 0x202, and at 0x20e the offset (from 0x200) of the
	// version string.
	if len(bzImage) < 0x210 || string(bzImage[0x202:0x206]) != "HdrS" {
		return "", errors.New("not a Linux x86 kernel image (no HdrS setup header)")
	}
	off := int(binary.LittleEndian.Uint16(bzImage[0x20e:])) + 0x200
	if off >= len(bzImage) {
		return "", errors.New("kernel image: version string out of range")
	}
	s := bzImage[off:]
	if i := bytes.IndexByte(s, 0); i >= 0 && i < 512 {
		s = s[:i]
	} else {
		return "", errors.New("kernel image: version string not terminated")
	}
	if len(bytes.Fields(s)) == 0 {
		return "", errors.New("kernel image: empty version string")
	}
	return string(s), nil
}

var debianKernelVersion = regexp.MustCompile(`\bDebian (\S+)`)

// PE checks that b is a PE32+ image for x86-64 (an EFI application): the MZ header, the
// PE signature it points to, machine 0x8664.
func PE(b []byte) error {
	if len(b) < 0x40 || b[0] != 'M' || b[1] != 'Z' {
		return errors.New("not a PE image (no MZ header)")
	}
	off := int(binary.LittleEndian.Uint32(b[0x3c:]))
	if off < 0 || off+6 > len(b) || string(b[off:off+4]) != "PE\x00\x00" {
		return errors.New("not a PE image (no PE signature)")
	}
	if m := binary.LittleEndian.Uint16(b[off+4:]); m != 0x8664 {
		return fmt.Errorf("PE image for machine %#x, want x86-64 (0x8664)", m)
	}
	return nil
}

var loaderInfo = regexp.MustCompile(`#### LoaderInfo: (systemd-boot [^#\x00]+?) ####`)

// loaderName returns what systemd-boot says it is ("systemd-boot 252.39-1~deb12u2").
func loaderName(efi []byte) string {
	if m := loaderInfo.FindSubmatch(efi); m != nil {
		return string(m[1])
	}
	return ""
}

// hashFile returns a file's SHA-256 (hex) and size.
func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
