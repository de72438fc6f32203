package qemutest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/u-root/u-root/pkg/cpio"

	"github.com/decom-project/decom/internal/qemutest/wire"
)

func TestParseConsole(t *testing.T) {
	console := strings.Join([]string{
		"[    0.000000] Linux version 6.1.0",
		wire.Info + "loaded 22 modules",
		wire.Stdout + "not yet: before the command began",
		wire.Begin,
		wire.Stdout + `{"a":1}`,
		wire.Stderr + "warning: something",
		"[    4.1] a kernel line in between",
		wire.Stdout + "",
		wire.Stdout + "@@qemutest-end exit=9 is output, not a marker",
		wire.End + "3",
		wire.Stdout + "after the end",
		"[    4.2] reboot: Power down",
	}, "\r\n")
	tr := parseConsole(console)
	if !tr.began || !tr.ended || tr.exit != 3 || tr.fail != "" {
		t.Errorf("began %v ended %v exit %d fail %q, want true true 3 \"\"", tr.began, tr.ended, tr.exit, tr.fail)
	}
	if want := "{\"a\":1}\n\n@@qemutest-end exit=9 is output, not a marker\n"; tr.stdout.String() != want {
		t.Errorf("stdout = %q, want %q", tr.stdout.String(), want)
	}
	if want := "warning: something\n"; tr.stderr.String() != want {
		t.Errorf("stderr = %q, want %q", tr.stderr.String(), want)
	}

	tr = parseConsole("[ 1.0] boot\n" + wire.Fail + "found 1 of 2 disks\n[ 1.1] reboot: Power down\n")
	if tr.fail != "found 1 of 2 disks" || tr.began || tr.ended {
		t.Errorf("failed init: %+v", tr)
	}
	tr = parseConsole(wire.Begin + "\n" + wire.Stdout + "cut off\n")
	if !tr.began || tr.ended {
		t.Errorf("a console that stops mid-command must not count as ended: %+v", tr)
	}
}

func TestDiskArgs(t *testing.T) {
	dir := t.TempDir()
	img := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	args, err := diskArgs([]Disk{
		{Path: img("n.img"), Bus: NVMe},
		{Path: img("a,1.img"), Bus: AHCI, Serial: "A1"},
		{Path: img("a2.img"), Bus: AHCI, Serial: "A2"},
		{Path: img("i.img"), Bus: IDE, Serial: "I1"},
		{Path: img("i2.img"), Bus: IDE},
		{Path: img("i3.img"), Bus: IDE},
		{Path: img("v.img"), Bus: VirtioBlk, Serial: "V1"},
		{Path: img("s.img"), Bus: VirtioSCSI, Serial: "S1"},
		{Path: img("s2.img"), Bus: VirtioSCSI, Serial: "S2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var devices []string
	for i := 0; i+1 < len(args); i += 2 {
		switch args[i] {
		case "-device":
			devices = append(devices, args[i+1])
		case "-drive":
			if !strings.Contains(args[i+1], ",if=none,") || !strings.HasSuffix(args[i+1], ",format=raw") {
				t.Errorf("-drive %s", args[i+1])
			}
		default:
			t.Errorf("unexpected %s %s", args[i], args[i+1])
		}
	}
	want := []string{
		"nvme,drive=disk0,serial=QEMUTEST0",
		"ich9-ahci,id=ahci",
		"ide-hd,drive=disk1,bus=ahci.0,serial=A1",
		"ide-hd,drive=disk2,bus=ahci.1,serial=A2",
		"ide-hd,drive=disk3,bus=ide.0,unit=0,serial=I1",
		"ide-hd,drive=disk4,bus=ide.0,unit=1",
		"ide-hd,drive=disk5,bus=ide.1,unit=0",
		"virtio-blk-pci,drive=disk6,serial=V1",
		"virtio-scsi-pci,id=scsi",
		"scsi-hd,drive=disk7,bus=scsi.0,channel=0,scsi-id=0,lun=0,serial=S1",
		"scsi-hd,drive=disk8,bus=scsi.0,channel=0,scsi-id=1,lun=0,serial=S2",
	}
	if !slices.Equal(devices, want) {
		t.Errorf("devices:\n%s\nwant:\n%s", strings.Join(devices, "\n"), strings.Join(want, "\n"))
	}
	if !slices.Contains(args, "file="+filepath.Join(dir, "a,,1.img")+",if=none,id=disk1,format=raw") {
		t.Errorf("a comma in a path must be doubled: %q", args)
	}
}

func TestDiskArgsRefuses(t *testing.T) {
	p := filepath.Join(t.TempDir(), "d.img")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "null")
	if err := os.Symlink("/dev/null", link); err != nil {
		t.Fatal(err)
	}
	five := make([]Disk, 5)
	for i := range five {
		five[i] = Disk{Path: p, Bus: IDE}
	}
	for name, disks := range map[string][]Disk{
		// Only opened by Stat: nothing here reads or writes a device.
		"device":        {{Path: "/dev/null", Bus: NVMe}},
		"link":          {{Path: link, Bus: AHCI}},
		"directory":     {{Path: t.TempDir(), Bus: VirtioBlk}},
		"missing":       {{Path: p + ".missing", Bus: NVMe}},
		"bus":           {{Path: p, Bus: "usb"}},
		"serial comma":  {{Path: p, Bus: NVMe, Serial: "A,B"}},
		"serial length": {{Path: p, Bus: NVMe, Serial: strings.Repeat("x", 21)}},
		"five IDE":      five,
	} {
		if _, err := diskArgs(disks); err == nil {
			t.Errorf("%s: diskArgs(%+v) accepted", name, disks)
		}
	}
}

func TestInitramfs(t *testing.T) {
	dir := t.TempDir()
	initBin := filepath.Join(dir, "init")
	extra := filepath.Join(dir, "key")
	if err := os.WriteFile(initBin, []byte("\x7fELF init"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(extra, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	ir := &initramfs{
		init:    initBin,
		config:  wire.Config{Disks: 2, WaitSeconds: 5, Args: []string{"/bin/tool", "-v"}},
		modules: []module{{name: "scsi_common", image: []byte("A")}, {name: "scsi_mod", image: []byte("BB")}},
		files:   map[string]string{"/etc/decom/key": extra},
	}
	out := filepath.Join(dir, "initrd")
	if err := ir.write(out); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := cpio.Newc.Reader(f)
	got := map[string]cpio.Record{}
	inodes := map[uint64]string{}
	for {
		rec, err := r.ReadRecord()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Name == cpio.Trailer {
			break
		}
		if other, ok := inodes[rec.Ino]; ok {
			t.Errorf("%s and %s share inode %d", rec.Name, other, rec.Ino)
		}
		inodes[rec.Ino] = rec.Name
		got[rec.Name] = rec
	}
	content := func(name string) string {
		rec, ok := got[name]
		if !ok {
			t.Fatalf("no %s in the initramfs", name)
		}
		b, err := io.ReadAll(io.NewSectionReader(rec.ReaderAt, 0, int64(rec.FileSize)))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if c := content("init"); c != "\x7fELF init" || got["init"].Mode != cpio.S_IFREG|0o755 {
		t.Errorf("init = %q mode %o", c, got["init"].Mode)
	}
	if c := content("etc/decom/key"); c != "secret" || got["etc/decom/key"].Mode != cpio.S_IFREG|0o600 {
		t.Errorf("etc/decom/key = %q mode %o", c, got["etc/decom/key"].Mode)
	}
	for _, d := range []string{"etc", "etc/decom", "dev", "proc", "sys", "tmp", "modules"} {
		if got[d].Mode&cpio.S_IFMT != cpio.S_IFDIR {
			t.Errorf("%s: mode %o, want a directory", d, got[d].Mode)
		}
	}
	if c := got["dev/console"]; c.Mode&cpio.S_IFMT != cpio.S_IFCHR || c.Rmajor != 5 || c.Rminor != 1 {
		t.Errorf("dev/console = %+v, want char 5:1", c.Info)
	}
	if content("modules/000-scsi_common.ko") != "A" || content("modules/001-scsi_mod.ko") != "BB" {
		t.Error("modules not in load order")
	}
	var cfg wire.Config
	if err := json.Unmarshal([]byte(content("qemutest.json")), &cfg); err != nil {
		t.Fatal(err)
	}
	wantMods := []wire.Module{{Name: "scsi_common", File: "000-scsi_common.ko"}, {Name: "scsi_mod", File: "001-scsi_mod.ko"}}
	if cfg.Disks != 2 || !slices.Equal(cfg.Args, ir.config.Args) || !slices.Equal(cfg.Modules, wantMods) {
		t.Errorf("qemutest.json = %+v", cfg)
	}

	for _, bad := range []string{"relative", "/a/../b", "/init", "/qemutest.json", "/modules/x.ko", "/"} {
		ir.files = map[string]string{bad: extra}
		if err := ir.write(filepath.Join(dir, "bad")); err == nil {
			t.Errorf("guest path %q accepted", bad)
		}
	}
}

// TestResolveModules resolves DefaultModules from the cached Debian kernel (package kmod
// tests the dependency order itself).
func TestResolveModules(t *testing.T) {
	_, modulesDir := Kernel(t)
	mods, err := resolveModules(modulesDir, DefaultModules)
	if err != nil {
		t.Fatal(err)
	}
	loaded := map[string]bool{}
	var names []string
	for _, m := range mods {
		if loaded[m.name] {
			t.Errorf("%s twice", m.name)
		}
		loaded[m.name] = true
		names = append(names, m.name)
		if !bytes.HasPrefix(m.image, []byte("\x7fELF")) {
			t.Errorf("%s: not an ELF image", m.name)
		}
	}
	t.Logf("load order: %s", strings.Join(names, " "))
	x, err := scanModules(modulesDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range DefaultModules {
		if !loaded[n] && !x.IsBuiltin(n) {
			t.Errorf("%s is missing", n)
		}
	}
	if _, err := resolveModules(modulesDir, []string{"no_such_module"}); err == nil {
		t.Error("an unknown module resolved")
	}
}

func TestShellQuote(t *testing.T) {
	got := shellQuote([]string{"qemu", "-append", "console=ttyS0 quiet", "it's", ""})
	want := `qemu -append 'console=ttyS0 quiet' 'it'\''s' ''`
	if got != want {
		t.Errorf("shellQuote = %s, want %s", got, want)
	}
}
