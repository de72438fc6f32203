package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/decom-project/decom/images"
	"github.com/decom-project/decom/internal/debcache"
	"github.com/decom-project/decom/internal/qemutest"
)

// TestConfigExample reads the example config file the boot image ships the way decom reads
// config files: every key must be one decom knows.
func TestConfigExample(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, images.ConfigExample(), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(p)
	if err != nil {
		t.Fatalf("config.yaml.example: %v", err)
	}
	if c.Operator.Name == "" || c.Method == "" || c.Key == "" || c.Destination == "" {
		t.Errorf("config.yaml.example leaves out the essentials: %+v", c)
	}
}

func TestImageBuildUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--image", "", "--iso", ""}, exitUsage, "nothing to build"},
		{[]string{"--kernel", "vmlinuz"}, exitUsage, "--kernel and --modules go together"},
		{[]string{"--data-size", "1MiB"}, exitUsage, "--data-size"},
		{[]string{"--data-size", "100.5MiB"}, exitUsage, "--data-size"},
		{[]string{"--source-date-epoch", "yesterday"}, exitUsage, "--source-date-epoch"},
		{[]string{"--binary", "/nonexistent/decom"}, exitBadInput, "--binary"},
		{[]string{"extra"}, exitUsage, ""},
		{[]string{"--netboot", "tftp"}, exitUsage, "--netboot needs --netboot-config FILE and --netboot-config-url URL"},
		{[]string{"--netboot", "tftp", "--netboot-config", "c.yaml"}, exitUsage, "--netboot needs"},
		{[]string{"--netboot", "tftp", "--netboot-config", "c.yaml", "--netboot-config-url", "ftp://x/c.yaml"}, exitUsage, "--netboot-config-url"},
		{[]string{"--netboot", "tftp", "--netboot-config", "c.yaml", "--netboot-config-url", "http://x/$c.yaml"}, exitUsage, "--netboot-config-url"},
		{[]string{"--netboot", "tftp", "--netboot-config", "/nonexistent/c.yaml", "--netboot-config-url", "http://x/c.yaml"}, exitBadInput, "--netboot-config"},
		{[]string{"--netboot-config", "c.yaml"}, exitUsage, "go with --netboot DIR"},
		{[]string{"--ca-file", "/nonexistent/ca.pem"}, exitBadInput, "--ca-file"},
		{[]string{"--ca-file", "cmd_image_test.go"}, exitBadInput, "--ca-file"},
	} {
		var out, errb bytes.Buffer
		args := append([]string{"image", "build"}, c.args...)
		code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
		if code != c.code || !strings.Contains(errb.String(), c.want) {
			t.Errorf("decom %s: exit %d, %q; want %d and %q", strings.Join(args, " "), code, errb.String(), c.code, c.want)
		}
	}
}

// TestImageBuild builds the USB image and ISO through the command, from the cached kernel
// and systemd-boot, with a small stand-in for decom as /init.
func TestImageBuild(t *testing.T) {
	vmlinuz, modules := qemutest.Kernel(t)
	loader, _, err := debcache.Loader()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	bin := qemutest.Build(t, "github.com/decom-project/decom/images/internal/smokeinit")
	dir := t.TempDir()
	img, iso := filepath.Join(dir, "decom.img"), filepath.Join(dir, "decom.iso")
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"image", "build", "--image", img, "--iso", iso,
		"--kernel", vmlinuz, "--modules", modules, "--loader", loader, "--binary", bin,
		"--data-size", "64MiB", "--append", "decom.method=zero", "--source-date-epoch", "1700000000"},
		strings.NewReader(""), &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"kernel ", "systemd-boot ", "initramfs ", "decom.method=zero", img, iso, img + ".json", "2023-11-14T22:13:20Z"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	b, err := os.ReadFile(img + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var res images.Result
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(img)
	if err != nil {
		t.Fatal(err)
	}
	if res.Image == nil || res.Image.Size != st.Size() || res.ISO == nil || res.DataSize != 64<<20 ||
		res.Epoch != 1700000000 || len(res.Initramfs.Modules) == 0 || res.Kernel.Release != filepath.Base(modules) {
		t.Errorf("report: %s", b)
	}
}

// TestImageBuildNetboot builds a network boot alone through the command: no loader, no
// USB image or ISO, and the report (beside the directory) holds the three files'
// SHA-256s and the config's.
func TestImageBuildNetboot(t *testing.T) {
	vmlinuz, modules := qemutest.Kernel(t)
	bin := qemutest.Build(t, "github.com/decom-project/decom/images/internal/smokeinit")
	dir := t.TempDir()
	config := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(config, []byte("operator:\n  name: Netboot\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tftp := filepath.Join(dir, "tftp")
	t.Chdir(dir) // the default --image and --iso would land here
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"image", "build", "--netboot", tftp, "--netboot-config", config,
		"--netboot-config-url", "http://boot.example/decom/config.yaml",
		"--kernel", vmlinuz, "--modules", modules, "--binary", bin},
		strings.NewReader(""), &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	b, err := os.ReadFile(tftp + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var res images.Result
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	nb := res.Netboot
	if nb == nil || res.Image != nil || res.ISO != nil || nb.Script.SHA256 == "" || nb.Kernel.SHA256 == "" ||
		nb.Initrd.SHA256 != res.Initramfs.SHA256 || len(nb.ConfigSHA256) != 64 {
		t.Fatalf("report: %s", b)
	}
	script, err := os.ReadFile(filepath.Join(tftp, images.NetbootScript))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(script), "decom.config=http://boot.example/decom/config.yaml decom.config.sha256="+nb.ConfigSHA256) {
		t.Errorf("script:\n%s", script)
	}
	for _, want := range []string{images.NetbootScript, nb.ConfigSHA256} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := os.Stat("bin"); err == nil {
		t.Errorf("a USB image or ISO was built too")
	}
}
