package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/decom-project/decom/internal/qemutest"
)

// netbootInputs are the inputs of a network boot alone: no loader.
func netbootInputs(t *testing.T) (Config, []byte) {
	t.Helper()
	vmlinuz, modules := qemutest.Kernel(t)
	dir := t.TempDir()
	config := []byte("operator:\n  name: Netboot\nregistry: https://registry.example\n")
	p := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(p, config, 0o600); err != nil {
		t.Fatal(err)
	}
	return Config{
		Netboot: filepath.Join(dir, "tftp"), NetbootConfig: p, NetbootConfigURL: "http://boot.example:8080/decom/config.yaml",
		Kernel: vmlinuz, Modules: modules, Binary: qemutest.Build(t, smokeInit), Append: "decom.method=zero",
		Epoch: time.Date(2024, 2, 29, 12, 34, 56, 0, time.UTC),
	}, config
}

// TestNetboot builds a network boot alone (no loader, no USB image, no ISO): the
// directory holds the kernel, the initramfs and the iPXE script, each as the result
// says, the script boots both with the config's URL and SHA-256, and a second build
// from the same inputs makes the same bytes.
func TestNetboot(t *testing.T) {
	cfg, config := netbootInputs(t)
	res, err := Build(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	nb := res.Netboot
	if nb == nil || res.Image != nil || res.ISO != nil || res.Loader.SHA256 != "" {
		t.Fatalf("result: netboot %+v, image %v, ISO %v, loader %q", nb, res.Image, res.ISO, res.Loader.SHA256)
	}
	sum := sha256.Sum256(config)
	if nb.ConfigSHA256 != hex.EncodeToString(sum[:]) || nb.ConfigURL != cfg.NetbootConfigURL {
		t.Errorf("config %s %s", nb.ConfigURL, nb.ConfigSHA256)
	}
	wantCmdline := Cmdline + " decom.method=zero decom.config=" + cfg.NetbootConfigURL + " decom.config.sha256=" + nb.ConfigSHA256
	if nb.Cmdline != wantCmdline {
		t.Errorf("cmdline %q, want %q", nb.Cmdline, wantCmdline)
	}
	kernel, err := os.ReadFile(cfg.Kernel)
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]File{NetbootKernel: nb.Kernel, NetbootInitrd: nb.Initrd, NetbootScript: nb.Script} {
		p := filepath.Join(cfg.Netboot, name)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		s := sha256.Sum256(b)
		if f.Path != p || f.Size != int64(len(b)) || f.SHA256 != hex.EncodeToString(s[:]) {
			t.Errorf("%s: result %+v, file %d bytes sha256 %x", name, f, len(b), s)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(cfg.Netboot, NetbootKernel)); !bytes.Equal(got, kernel) {
		t.Errorf("vmlinuz is not the kernel")
	}
	// The same initramfs as the USB image's and the ISO's.
	if nb.Initrd.SHA256 != res.Initramfs.SHA256 {
		t.Errorf("initrd.img %s, the build's initramfs %s", nb.Initrd.SHA256, res.Initramfs.SHA256)
	}
	script, _ := os.ReadFile(filepath.Join(cfg.Netboot, NetbootScript))
	for _, want := range []string{"#!ipxe\n", "\nkernel vmlinuz initrd=initrd.img " + wantCmdline + " || goto failed\n",
		"\ninitrd initrd.img || goto failed\n", "\nboot || goto failed\n"} {
		if !strings.Contains(string(script), want) {
			t.Errorf("the script lacks %q:\n%s", want, script)
		}
	}
	if !strings.HasPrefix(string(script), "#!ipxe\n") {
		t.Errorf("the script does not start with #!ipxe")
	}

	again := cfg
	again.Netboot = filepath.Join(t.TempDir(), "again")
	res2, err := Build(context.Background(), again)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []*File{&res2.Netboot.Kernel, &res2.Netboot.Initrd, &res2.Netboot.Script} {
		f.Path = strings.Replace(f.Path, again.Netboot, cfg.Netboot, 1)
	}
	res2.Netboot.Dir = cfg.Netboot
	if !reflect.DeepEqual(res, res2) {
		t.Errorf("a second build differs:\n%+v\n%+v", res.Netboot, res2.Netboot)
	}
}

func TestNetbootErrors(t *testing.T) {
	base, _ := netbootInputs(t)
	for _, tc := range []struct {
		name string
		edit func(c *Config)
		want string
	}{
		{"no config", func(c *Config) { c.NetbootConfig = "" }, "needs its config file and the URL"},
		{"no URL", func(c *Config) { c.NetbootConfigURL = "" }, "needs its config file and the URL"},
		{"ftp", func(c *Config) { c.NetbootConfigURL = "ftp://boot.example/c.yaml" }, "want an http:// or https:// URL"},
		{"no host", func(c *Config) { c.NetbootConfigURL = "http:///c.yaml" }, "want an http:// or https:// URL"},
		{"space", func(c *Config) { c.NetbootConfigURL = "http://boot.example/my config.yaml" }, "cannot stand on a kernel command line"},
		{"dollar", func(c *Config) { c.NetbootConfigURL = "http://boot.example/${net0/mac}.yaml" }, "cannot stand on a kernel command line"},
		{"missing file", func(c *Config) { c.NetbootConfig = filepath.Join(t.TempDir(), "none.yaml") }, "no such file"},
		{"empty file", func(c *Config) {
			c.NetbootConfig = filepath.Join(t.TempDir(), "empty.yaml")
			os.WriteFile(c.NetbootConfig, []byte("\n"), 0o600)
		}, "is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			cfg.Netboot = filepath.Join(t.TempDir(), "out")
			tc.edit(&cfg)
			_, err := Build(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Build: %v, want %q", err, tc.want)
			}
			if _, err := os.Stat(cfg.Netboot); err == nil {
				t.Errorf("%s was made", cfg.Netboot)
			}
		})
	}
}
