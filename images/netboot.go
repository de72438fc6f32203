package images

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// The network boot's files, as Build writes them into Config.Netboot: the kernel, the
// same initramfs the USB image and the ISO carry, and an iPXE script that loads both
// with the kernel command line. A DHCP/TFTP server (dnsmasq, say) hands the script to
// the machine's iPXE; iPXE fetches the kernel and the initramfs relative to the
// script's own URL, so the three files stay together in one directory.
const (
	NetbootKernel = "vmlinuz"
	NetbootInitrd = "initrd.img"
	NetbootScript = "decom.ipxe"
)

// Netboot says what Build wrote for a network boot.
type Netboot struct {
	Dir string `json:"dir"`
	// Cmdline is the kernel command line the script gives, decom.config= and
	// decom.config.sha256= included.
	Cmdline string `json:"cmdline"`
	// ConfigURL is where the machines fetch their config, ConfigSHA256 its SHA-256
	// (the local config file's, which must be served there unchanged).
	ConfigURL    string `json:"config_url"`
	ConfigSHA256 string `json:"config_sha256"`
	Kernel       File   `json:"kernel"`
	Initrd       File   `json:"initrd"`
	Script       File   `json:"script"`
}

// netbootConfig checks the network boot's settings and returns the config file's
// SHA-256 (hex).
func netbootConfig(cfg Config) (string, error) {
	if cfg.NetbootConfig == "" || cfg.NetbootConfigURL == "" {
		return "", errors.New("image build: a network boot needs its config file and the URL the machines fetch it from (both)")
	}
	if err := checkConfigURL(cfg.NetbootConfigURL); err != nil {
		return "", err
	}
	b, err := os.ReadFile(cfg.NetbootConfig)
	if err != nil {
		return "", fmt.Errorf("image build: network boot config: %w", err)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return "", fmt.Errorf("image build: network boot config %s is empty", cfg.NetbootConfig)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// checkConfigURL accepts an http:// or https:// URL that can stand unquoted on a kernel
// command line and in an iPXE script: no spaces, quotes or iPXE's ${…} expansion.
func checkConfigURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("image build: network boot config URL %q: want an http:// or https:// URL", s)
	}
	for _, r := range s {
		if r <= ' ' || r == '"' || r == '\'' || r == '$' || r == '\\' || r >= 0x7f {
			return fmt.Errorf("image build: network boot config URL %q: %q cannot stand on a kernel command line or in an iPXE script (percent-encode it)", s, r)
		}
	}
	return nil
}

// netbootCmdline is the network boot's kernel command line.
func netbootCmdline(cmdline, configURL, configSHA256 string) string {
	return cmdline + " decom.config=" + configURL + " decom.config.sha256=" + configSHA256
}

// ipxeScript is the iPXE script that boots the kernel and initramfs beside it.
// initrd= on the kernel's line is what a UEFI iPXE's kernel needs to find its
// initramfs; a BIOS boot ignores it.
func ipxeScript(release, cmdline string) []byte {
	return []byte(fmt.Sprintf(`#!ipxe
# decom network boot (kernel %s), written by decom image build --netboot.
# iPXE fetches the kernel and the initramfs from beside this script (TFTP or HTTP).
# The agent fetches its config from decom.config= and uses it only when its
# SHA-256 is decom.config.sha256=; else it wipes nothing.
echo decom: loading the kernel and the initramfs
kernel %s initrd=%s %s || goto failed
initrd %s || goto failed
boot || goto failed
:failed
echo decom: the network boot failed; nothing was wiped
`, release, NetbootKernel, NetbootInitrd, cmdline, NetbootInitrd))
}

// writeNetboot writes the network boot's files into dir.
func writeNetboot(dir, kernel, initrd string, script []byte) (kf, inf, sf File, err error) {
	copyTo := func(name, src string) (File, error) {
		b, err := os.ReadFile(src)
		if err != nil {
			return File{}, err
		}
		return writeOutput(filepath.Join(dir, name), func(tmp string) error { return os.WriteFile(tmp, b, 0o644) })
	}
	if kf, err = copyTo(NetbootKernel, kernel); err != nil {
		return
	}
	if inf, err = copyTo(NetbootInitrd, initrd); err != nil {
		return
	}
	sf, err = writeOutput(filepath.Join(dir, NetbootScript), func(tmp string) error { return os.WriteFile(tmp, script, 0o644) })
	return
}
