package images

import (
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/diskfs/go-diskfs/partition/gpt"
	"github.com/u-root/u-root/pkg/cpio"

	"github.com/decom-project/decom/internal/debcache"
	"github.com/decom-project/decom/internal/kmod"
	"github.com/decom-project/decom/internal/qemutest"
)

// smokeInit is the /init of the test images: it proves the kernel and initramfs came up.
const smokeInit = "github.com/decom-project/decom/images/internal/smokeinit"

var shared struct {
	dir string // removed by TestMain
	mu  sync.Mutex
	cfg *Config
	res Result
	err error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// stop skips the test, or fails it under CI (CI=true).
func stop(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

var fetchLoader sync.Once

// loader returns the cached systemd-boot, fetching it once when the cache is empty.
func loader(t testing.TB) string {
	t.Helper()
	efi, _, err := debcache.Loader()
	if err == nil {
		return efi
	}
	var out []byte
	var ferr error
	fetchLoader.Do(func() {
		out, ferr = exec.Command("../scripts/fetch-boot.sh").CombinedOutput()
	})
	if efi, _, err = debcache.Loader(); err != nil {
		stop(t, "no systemd-boot (%v; fetch-boot.sh: %v %s); make deps fetches it", err, ferr, out)
	}
	return efi
}

// inputs are the inputs of the test builds: the cached kernel and loader, smokeinit.
func inputs(t testing.TB) Config {
	t.Helper()
	vmlinuz, modules := qemutest.Kernel(t)
	return Config{
		Kernel: vmlinuz, Modules: modules, Loader: loader(t),
		Binary: qemutest.Build(t, smokeInit), Append: "decom.test=1",
		Epoch: time.Date(2024, 2, 29, 12, 34, 56, 0, time.UTC), DataSize: 128 << 20,
	}
}

// built returns the USB image and ISO built once from inputs.
func built(t *testing.T) (Config, Result) {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.cfg == nil && shared.err == nil {
		cfg := inputs(t)
		shared.dir, shared.err = os.MkdirTemp("", "decom-images-test-")
		if shared.err != nil {
			t.Fatal(shared.err)
		}
		// The binary lives in the first test's temporary directory: keep a copy.
		bin := filepath.Join(shared.dir, "init")
		if err := copyFile(cfg.Binary, bin); err != nil {
			t.Fatal(err)
		}
		os.Chmod(bin, 0o755)
		cfg.Binary = bin
		cfg.Image = filepath.Join(shared.dir, "out", "decom.img")
		cfg.ISO = filepath.Join(shared.dir, "out", "decom.iso")
		start := time.Now()
		shared.res, shared.err = Build(context.Background(), cfg)
		t.Logf("built in %v", time.Since(start).Round(time.Millisecond))
		shared.cfg = &cfg
	}
	if shared.err != nil {
		t.Fatalf("Build: %v", shared.err)
	}
	return *shared.cfg, shared.res
}

func TestUSBImage(t *testing.T) {
	cfg, res := built(t)
	t.Logf("initramfs: %d modules, %d bytes gzip (%d uncompressed); USB image %d bytes, ISO %d bytes",
		len(res.Initramfs.Modules), res.Initramfs.Size, res.Initramfs.Uncompressed, res.Image.Size, res.ISO.Size)

	d, err := diskfs.Open(cfg.Image, diskfs.WithOpenMode(diskfs.ReadOnly))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	pt, err := d.GetPartitionTable()
	if err != nil {
		t.Fatal(err)
	}
	table, ok := pt.(*gpt.Table)
	if !ok {
		t.Fatalf("partition table %T, want GPT", pt)
	}
	if !table.ProtectiveMBR || len(table.Partitions) != 2 {
		t.Fatalf("GPT: protective MBR %v, %d partitions", table.ProtectiveMBR, len(table.Partitions))
	}
	esp, data := table.Partitions[0], table.Partitions[1]
	if esp.Type != gpt.EFISystemPartition || esp.Start != 2048 || esp.Name != ESPLabel {
		t.Errorf("partition 1: %+v, want the EFI System Partition at 1 MiB", esp)
	}
	if data.Type != gpt.MicrosoftBasicData || data.Name != DataLabel || int64(data.Size) != cfg.DataSize ||
		data.Start != esp.End+1 {
		t.Errorf("partition 2: %+v, want %s after the ESP, %d bytes", data, DataLabel, cfg.DataSize)
	}
	if int64(esp.Size) != res.ESPSize || res.ESPSize < 128<<20 {
		t.Errorf("ESP size %d, result says %d", esp.Size, res.ESPSize)
	}
	guids := []string{table.GUID, esp.GUID, data.GUID}
	for i, g := range guids {
		if len(g) != 36 || slices.Contains(guids[:i], g) {
			t.Errorf("GUIDs %v: want three distinct ones", guids)
		}
	}

	espFS, err := d.GetFilesystem(1)
	if err != nil {
		t.Fatal(err)
	}
	checkESP(t, cfg, res, espFS)

	dataFS, err := d.GetFilesystem(2)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(dataFS.Label()); got != DataLabel {
		t.Errorf("data partition label %q, want %q", got, DataLabel)
	}
	if got := readFS(t, dataFS, "/README.txt"); !bytes.Equal(got, dataReadme) {
		t.Errorf("README.txt = %q", got)
	}
	if got := readFS(t, dataFS, "/config.yaml.example"); !bytes.Equal(got, configExample) {
		t.Errorf("config.yaml.example = %q", got)
	}
	root, err := dataFS.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var top []string
	for _, e := range root {
		name := e.Name()
		if e.IsDir() {
			name += "/"
		}
		top = append(top, name)
	}
	slices.Sort(top)
	if want := []string{"README.txt", "certs/", "config.yaml.example", "logs/"}; !slices.Equal(top, want) {
		t.Errorf("data partition holds %v, want %v", top, want)
	}
	for _, dir := range []string{"certs", "logs"} {
		entries, err := dataFS.ReadDir(dir)
		if err != nil || len(entries) != 0 {
			t.Errorf("%s: %v, %v: want an empty directory", dir, entries, err)
		}
	}

	// fsck.fat (dosfstools) finds nothing to fix on either filesystem.
	for _, p := range []*gpt.Partition{esp, data} {
		fsck(t, cfg.Image, int64(p.Start)*512, int64(p.Size))
	}
}

// checkESP checks what the EFI System Partition (or the ISO's EFI image) holds.
func checkESP(t *testing.T, cfg Config, res Result, fs filesystem.FileSystem) {
	t.Helper()
	if got := strings.TrimSpace(fs.Label()); got != ESPLabel {
		t.Errorf("ESP label %q, want %q", got, ESPLabel)
	}
	loaderEFI := readFS(t, fs, ESPLoader)
	if err := PE(loaderEFI); err != nil {
		t.Errorf("%s: %v", ESPLoader, err)
	}
	if want, _ := os.ReadFile(cfg.Loader); !bytes.Equal(loaderEFI, want) {
		t.Errorf("%s is not the loader", ESPLoader)
	}
	if !strings.HasPrefix(res.Loader.Name, "systemd-boot ") {
		t.Errorf("loader name %q", res.Loader.Name)
	}
	if got := string(readFS(t, fs, ESPLoaderConf)); got != "timeout 0\ndefault decom.conf\n" {
		t.Errorf("loader.conf = %q", got)
	}
	entry := string(readFS(t, fs, ESPEntry))
	wantOptions := "options console=tty0 console=ttyS0,115200 decom.mode=auto quiet decom.test=1\n"
	for _, want := range []string{"linux   /decom/vmlinuz\n", "initrd  /decom/initrd.img\n", wantOptions, "version " + res.Kernel.Release + "\n"} {
		if !strings.Contains(entry, want) {
			t.Errorf("decom.conf lacks %q:\n%s", want, entry)
		}
	}
	if inter := string(readFS(t, fs, ESPEntryInter)); !strings.Contains(inter, "decom.mode=interactive") {
		t.Errorf("decom-interactive.conf:\n%s", inter)
	}
	if want, _ := os.ReadFile(cfg.Kernel); !bytes.Equal(readFS(t, fs, ESPKernel), want) {
		t.Errorf("%s is not the kernel", ESPKernel)
	}
	checkInitramfs(t, cfg, res, readFS(t, fs, ESPInitrd))
}

// checkInitramfs unpacks the initramfs and checks /init and the modules.
func checkInitramfs(t *testing.T, cfg Config, res Result, gz []byte) {
	t.Helper()
	if int64(len(gz)) != res.Initramfs.Size {
		t.Errorf("initramfs: %d bytes, result says %d", len(gz), res.Initramfs.Size)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	r := cpio.Newc.Reader(bytes.NewReader(raw))
	recs := map[string]cpio.Record{}
	var names []string
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
		if rec.MTime != uint64(cfg.Epoch.Unix()) || rec.UID != 0 || rec.GID != 0 {
			t.Errorf("%s: mtime %d uid %d gid %d", rec.Name, rec.MTime, rec.UID, rec.GID)
		}
		if _, dup := recs[rec.Name]; dup {
			t.Errorf("%s twice", rec.Name)
		}
		if d := path.Dir(rec.Name); d != "." {
			if p, ok := recs[d]; !ok || p.Mode&cpio.S_IFMT != cpio.S_IFDIR {
				t.Errorf("%s comes before its directory %s", rec.Name, d)
			}
		}
		recs[rec.Name] = rec
		names = append(names, rec.Name)
	}
	if !slices.IsSorted(names) {
		t.Error("initramfs entries are not sorted")
	}
	content := func(name string) []byte {
		rec, ok := recs[name]
		if !ok {
			t.Fatalf("no /%s in the initramfs", name)
		}
		b, err := io.ReadAll(io.NewSectionReader(rec.ReaderAt, 0, int64(rec.FileSize)))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	init := recs["init"]
	if init.Mode != cpio.S_IFREG|0o755 {
		t.Errorf("/init mode %o, want a regular file 0755", init.Mode)
	}
	if want, _ := os.ReadFile(cfg.Binary); !bytes.Equal(content("init"), want) {
		t.Error("/init is not the binary")
	}
	if c := recs["dev/console"]; c.Mode&cpio.S_IFMT != cpio.S_IFCHR || c.Rmajor != 5 || c.Rminor != 1 {
		t.Errorf("/dev/console = %+v, want char 5:1", c.Info)
	}

	base := "lib/modules/" + res.Kernel.Release
	x, err := kmod.ReadIndex(bytes.NewReader(content(base + "/" + kmod.IndexFile)))
	if err != nil {
		t.Fatal(err)
	}
	if x.Kernel != res.Kernel.Release || len(x.Modules) != len(res.Initramfs.Modules) {
		t.Errorf("index: kernel %s, %d modules; result: %s, %d", x.Kernel, len(x.Modules), res.Kernel.Release, len(res.Initramfs.Modules))
	}
	need := []string{"nvme", "ahci", "virtio_blk", "virtio_pci", "virtio_scsi", "usb_storage", "uas", "xhci_pci",
		"sd_mod", "sr_mod", "sg", "mpt3sas", "megaraid_sas", "smartpqi", "mmc_block", "usbhid", "hid_generic",
		"e1000e", "igb", "virtio_net", "vfat", "nls_cp437", "nls_ascii"}
	mods, err := x.Closure(need...)
	if err != nil {
		t.Fatalf("the image's index cannot resolve what it must hold: %v", err)
	}
	for _, m := range mods {
		for _, dep := range m.Depends {
			if _, ok := x.Lookup(dep); !ok && !x.IsBuiltin(dep) {
				t.Errorf("%s needs %s, which the image lacks", m.Name, dep)
			}
		}
	}
	// Nothing the classes leave out on purpose.
	for _, unwanted := range []string{"lpfc", "qla2xxx", "nvme_rdma", "scsi_debug", "loop", "amdgpu", "snd_hda_intel", "iwlwifi"} {
		if _, ok := x.Lookup(unwanted); ok {
			t.Errorf("the image holds %s", unwanted)
		}
	}
	for _, m := range x.Modules {
		img := content(base + "/" + m.Path)
		if !strings.HasSuffix(m.Path, ".ko") || !bytes.HasPrefix(img, []byte(elf.ELFMAG)) {
			t.Errorf("module %s: %s is not a decompressed module", m.Name, m.Path)
		}
	}
	if res.Initramfs.Size > 64<<20 {
		t.Errorf("initramfs is %d MiB: too big", res.Initramfs.Size>>20)
	}
}

func TestISO(t *testing.T) {
	cfg, res := built(t)
	f, err := os.Open(cfg.ISO)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() != res.ISO.Size || st.Size()%isoBlock != 0 {
		t.Errorf("ISO size %d, result says %d", st.Size(), res.ISO.Size)
	}
	d, err := diskfs.OpenBackend(file.New(f, true), diskfs.WithSectorSize(isoBlock))
	if err != nil {
		t.Fatal(err)
	}
	fs, err := d.GetFilesystem(0)
	if err != nil {
		t.Fatal(err)
	}
	if fs.Type() != filesystem.TypeISO9660 || strings.TrimRight(fs.Label(), " \x00") != ISOVolume {
		t.Errorf("ISO: %v labelled %q", fs.Type(), fs.Label())
	}
	if got := readFS(t, fs, "/CONFIGEX.YML"); !bytes.Equal(got, configExample) {
		t.Errorf("CONFIGEX.YML = %q", got)
	}
	if got := readFS(t, fs, "/README.TXT"); !bytes.Contains(got, []byte("DECOM-DATA")) {
		t.Errorf("README.TXT = %q", got)
	}

	// El Torito: the boot record, the catalog's validation entry for EFI, a bootable
	// no-emulation entry pointing at the EFI image.
	block := func(lba int64) []byte {
		b := make([]byte, isoBlock)
		if _, err := f.ReadAt(b, lba*isoBlock); err != nil {
			t.Fatal(err)
		}
		return b
	}
	var catalog int64 = -1
	for lba := int64(16); lba < 32; lba++ {
		b := block(lba)
		if b[0] == 0 && string(b[1:6]) == "CD001" && strings.HasPrefix(string(b[7:39]), "EL TORITO SPECIFICATION") {
			catalog = int64(binary.LittleEndian.Uint32(b[0x47:]))
			break
		}
		if b[0] == 255 {
			break
		}
	}
	if catalog < 0 {
		t.Fatal("no El Torito boot record")
	}
	cat := block(catalog)
	if cat[0] != 1 || cat[1] != 0xef || cat[0x1e] != 0x55 || cat[0x1f] != 0xaa {
		t.Fatalf("boot catalog validation entry % x: want platform EFI (0xef)", cat[:32])
	}
	var sum uint16
	for i := 0; i < 32; i += 2 {
		sum += binary.LittleEndian.Uint16(cat[i:])
	}
	if sum != 0 {
		t.Errorf("boot catalog checksum: sum %#x", sum)
	}
	entry := cat[32:64]
	if entry[0] != 0x88 || entry[1] != 0 {
		t.Fatalf("boot entry % x: want bootable, no emulation", entry)
	}
	start := int64(binary.LittleEndian.Uint32(entry[8:])) * isoBlock
	// The EFI image runs from there; its size is in its own boot sector.
	bs := make([]byte, 512)
	if _, err := f.ReadAt(bs, start); err != nil {
		t.Fatal(err)
	}
	size := int64(binary.LittleEndian.Uint32(bs[32:])) * 512
	if size < 32<<20 || start+size > st.Size() {
		t.Fatalf("EFI image at %d: %d bytes", start, size)
	}
	efi, err := diskfs.OpenBackend(backendSub(f, start, size))
	if err != nil {
		t.Fatal(err)
	}
	efiFS, err := efi.GetFilesystem(0)
	if err != nil {
		t.Fatal(err)
	}
	checkESP(t, cfg, res, efiFS)
	fsck(t, cfg.ISO, start, size)

	// The volume descriptors are dated with the epoch.
	pvd := block(16)
	if got, want := string(pvd[813:829]), string(isoDate(cfg.Epoch)[:16]); got != want {
		t.Errorf("ISO creation date %q, want %q", got, want)
	}
}

// TestReproducible builds the same inputs into another directory: the same bytes.
func TestReproducible(t *testing.T) {
	cfg, res := built(t)
	dir := t.TempDir()
	again := cfg
	again.Image = filepath.Join(dir, "decom.img")
	again.ISO = filepath.Join(dir, "decom.iso")
	res2, err := Build(context.Background(), again)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Image.SHA256 != res.Image.SHA256 || res2.Image.Size != res.Image.Size {
		t.Errorf("USB image: %s (%d bytes), then %s (%d bytes)", res.Image.SHA256, res.Image.Size, res2.Image.SHA256, res2.Image.Size)
	}
	if res2.ISO.SHA256 != res.ISO.SHA256 || res2.ISO.Size != res.ISO.Size {
		t.Errorf("ISO: %s (%d bytes), then %s (%d bytes)", res.ISO.SHA256, res.ISO.Size, res2.ISO.SHA256, res2.ISO.Size)
	}
	if res2.Initramfs.SHA256 != res.Initramfs.SHA256 {
		t.Errorf("initramfs: %s, then %s", res.Initramfs.SHA256, res2.Initramfs.SHA256)
	}
	t.Logf("USB image %s, ISO %s, both times", res.Image.SHA256, res.ISO.SHA256)
}

// TestBoot boots both images under QEMU with OVMF (UEFI): systemd-boot, the kernel and the
// initramfs come up, /init loads modules with package kmod and powers off.
func TestBoot(t *testing.T) {
	cfg, res := built(t)
	qemu := qemutest.Require(t)
	const code, vars = "/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"
	for _, p := range []string{code, vars} {
		if _, err := os.Stat(p); err != nil {
			stop(t, "needs OVMF (Debian's ovmf; make deps installs it): %v", err)
		}
	}
	for _, c := range []struct {
		name  string
		media []string
	}{
		{"usb", []string{"-device", "qemu-xhci", "-drive", "if=none,id=stick,format=raw,snapshot=on,file=" + cfg.Image,
			"-device", "usb-storage,drive=stick"}},
		{"iso", []string{"-drive", "media=cdrom,readonly=on,file=" + cfg.ISO}},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := filepath.Join(t.TempDir(), "vars.fd")
			if err := copyFile(vars, v); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			args := append([]string{"-accel", "tcg", "-machine", "q35", "-m", "1024", "-nographic", "-no-reboot",
				"-nodefaults", "-serial", "stdio", "-net", "none",
				"-drive", "if=pflash,format=raw,readonly=on,file=" + code,
				"-drive", "if=pflash,format=raw,file=" + v}, c.media...)
			start := time.Now()
			out, err := exec.CommandContext(ctx, qemu, args...).CombinedOutput()
			console := strings.ReplaceAll(string(out), "\r", "")
			tail := console[max(0, len(console)-3000):]
			if ctx.Err() != nil {
				t.Fatalf("no power-off within 4 minutes; console:\n%s", tail)
			}
			if err != nil {
				t.Fatalf("qemu: %v; console:\n%s", err, tail)
			}
			var marker string
			for _, line := range strings.Split(console, "\n") {
				if strings.HasPrefix(line, "DECOM-SMOKE ") {
					marker = line
				}
			}
			if !strings.HasPrefix(marker, "DECOM-SMOKE OK ") {
				t.Fatalf("no DECOM-SMOKE OK line; console:\n%s", tail)
			}
			for _, want := range []string{"kernel=" + res.Kernel.Release, "virtio_blk", "vfat",
				"console=ttyS0,115200 decom.mode=auto quiet decom.test=1"} {
				if !strings.Contains(marker, want) {
					t.Errorf("%q lacks %q", marker, want)
				}
			}
			t.Logf("booted in %v: %s", time.Since(start).Round(time.Second), marker)
		})
	}
}

func TestBuildErrors(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "x.img")
	for name, cfg := range map[string]Config{
		"no output":       {},
		"kernel only":     {Image: img, Kernel: "/nonexistent/vmlinuz"},
		"modules only":    {Image: img, Modules: "/nonexistent"},
		"small data":      {Image: img, DataSize: 1 << 20},
		"odd data":        {Image: img, DataSize: 100<<20 + 1},
		"epoch before 80": {Image: img, Epoch: time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC)},
		"not a kernel":    {Image: img, Kernel: "images_test.go", Modules: dir},
	} {
		if _, err := Build(context.Background(), cfg); err == nil {
			t.Errorf("%s: built", name)
		}
	}
	if _, err := os.Stat(img); err == nil {
		t.Error("a failed build left an image")
	}
}

func TestSelectModules(t *testing.T) {
	x := &kmod.Index{Kernel: "k", Modules: []kmod.Module{
		{Name: "a", Path: "kernel/drivers/scsi/a.ko"},
		{Name: "lpfc", Path: "kernel/drivers/scsi/lpfc/lpfc.ko"},
		{Name: "mpt3sas", Path: "kernel/drivers/scsi/mpt3sas/mpt3sas.ko.xz"},
		{Name: "nvme", Path: "kernel/drivers/nvme/host/nvme.ko"},
		{Name: "nvme_tcp", Path: "kernel/drivers/nvme/host/nvme-tcp.ko"},
		{Name: "scsi_debug", Path: "kernel/drivers/scsi/scsi_debug.ko"},
		{Name: "virtio_blk", Path: "kernel/drivers/block/virtio_blk.ko"},
		{Name: "loop", Path: "kernel/drivers/block/loop.ko"},
	}}
	got, empty := selectModules(x, DefaultClasses)
	if want := []string{"nvme", "a", "mpt3sas", "virtio_blk"}; !slices.Equal(got, want) {
		t.Errorf("selected %v, want %v", got, want)
	}
	if !slices.Contains(empty, "kernel/fs/fat") || slices.Contains(empty, "kernel/drivers/scsi") {
		t.Errorf("empty classes %v", empty)
	}
	if got := imageModules([]kmod.Module{{Name: "m", Path: "kernel/m.ko.zst"}}); got[0].Path != "kernel/m.ko" {
		t.Errorf("imageModules: %v", got)
	}
}

func TestKernelVersionAndPE(t *testing.T) {
	hdr := make([]byte, 0x400)
	copy(hdr[0x202:], "HdrS")
	binary.LittleEndian.PutUint16(hdr[0x20e:], 0x100)
	copy(hdr[0x300:], "6.1.0-9-amd64 (debian-kernel@lists.debian.org) #1 SMP Debian 6.1.27-1 (2023-05-08)\x00")
	v, err := KernelVersion(hdr)
	if err != nil || !strings.HasPrefix(v, "6.1.0-9-amd64 ") || debianKernelVersion.FindStringSubmatch(v)[1] != "6.1.27-1" {
		t.Errorf("KernelVersion = %q, %v", v, err)
	}
	for _, bad := range [][]byte{nil, make([]byte, 0x400), hdr[:0x300]} {
		if _, err := KernelVersion(bad); err == nil {
			t.Errorf("KernelVersion accepted % x...", bad[:min(len(bad), 8)])
		}
	}
	pe := make([]byte, 0x100)
	copy(pe, "MZ")
	binary.LittleEndian.PutUint32(pe[0x3c:], 0x80)
	copy(pe[0x80:], "PE\x00\x00")
	binary.LittleEndian.PutUint16(pe[0x84:], 0x8664)
	if err := PE(pe); err != nil {
		t.Error(err)
	}
	binary.LittleEndian.PutUint16(pe[0x84:], 0xaa64)
	if err := PE(pe); err == nil {
		t.Error("an arm64 PE passed")
	}
	if err := PE([]byte("#!/bin/sh\n")); err == nil {
		t.Error("a script passed as PE")
	}
	if got := loaderName([]byte("xx#### LoaderInfo: systemd-boot 252.39-1~deb12u2 ####\x00")); got != "systemd-boot 252.39-1~deb12u2" {
		t.Errorf("loaderName = %q", got)
	}
}

func TestIDs(t *testing.T) {
	var r Result
	r.Kernel.SHA256 = "k"
	a, b := newIDs(r), newIDs(r)
	if a.guid("disk") != b.guid("disk") || a.guid("disk") == a.guid("esp") {
		t.Error("IDs are not a function of the inputs")
	}
	r.Cmdline = "x"
	if newIDs(r).guid("disk") == a.guid("disk") {
		t.Error("IDs do not change with the inputs")
	}
	g := a.guid("disk")
	if len(g) != 36 || g[14] != '4' || !strings.ContainsRune("89AB", rune(g[19])) {
		t.Errorf("guid %s: want a version 4, RFC 4122 variant GUID", g)
	}
}

func readFS(t *testing.T, fs filesystem.FileSystem, p string) []byte {
	t.Helper()
	f, err := fs.OpenFile(p, os.O_RDONLY)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return b
}

// fsck runs fsck.fat -n on the FAT filesystem at [start, start+size) of image, when
// dosfstools is installed.
func fsck(t *testing.T, image string, start, size int64) {
	t.Helper()
	tool, err := exec.LookPath("fsck.fat")
	if err != nil {
		stop(t, "needs fsck.fat (Debian's dosfstools; make deps installs it)")
	}
	src, err := os.Open(image)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	part := filepath.Join(t.TempDir(), "fat")
	dst, err := os.Create(part)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, io.NewSectionReader(src, start, size)); err != nil {
		t.Fatal(err)
	}
	dst.Close()
	if out, err := exec.Command(tool, "-n", part).CombinedOutput(); err != nil {
		t.Errorf("fsck.fat -n (FAT at %d of %s): %v\n%s", start, filepath.Base(image), err, out)
	}
}
