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
	"regexp"
)

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
