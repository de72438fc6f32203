package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/decom-project/decom/internal/debcache"
	"github.com/decom-project/decom/internal/kmod"
)

// Config says what Build makes and from what. Zero values take the defaults noted.
type Config struct {
	// Image is where the USB disk image goes, ISO where the ISO goes, Netboot the
	// directory for the network boot's files (kernel, initramfs and iPXE script, see
	// NetbootScript); an empty one is not made, but one of them must be set. Existing
	// files are replaced.
	Image, ISO, Netboot string
	// NetbootConfig is the config file the network-booted machines fetch from
	// NetbootConfigURL: its SHA-256 pins it on the script's kernel command line. Both
	// are needed with Netboot.
	NetbootConfig, NetbootConfigURL string

	// Kernel is the kernel (bzImage) to boot and Modules its modules directory
	// (lib/modules/<release>); both or neither. Neither: the kernel cache (internal/debcache).
	Kernel, Modules string
	// Loader is systemd-boot's EFI binary (systemd-bootx64.efi); empty: the loader cache
	// (internal/debcache). A network boot alone needs none.
	Loader string
	// Binary is the static decom binary that becomes /init; empty: built from Source with
	// go build (CGO_ENABLED=0, -trimpath, -tags AgentTags, linux/amd64). A binary built
	// without AgentTags boots as well, but carries what the agent cannot use.
	Binary string
	// Source is the root of decom's module, for building Binary; empty: the module root
	// above the working directory.
	Source string

	// CAFile, when set, holds the PEM CA certificates the boot agent trusts for
	// https: a network boot's config URL, and the registry. They are packed as
	// /etc/ssl/certs/ca-certificates.crt, where Go's TLS reads the system's roots
	// (the image carries none otherwise; a stick's /data/ca.pem is trusted for the
	// registry as well).
	CAFile string

	// Append is added to the kernel command line (after Cmdline's defaults).
	Append string
	// DataSize is the size of the DECOM-DATA partition: at least 64 MiB, a multiple of
	// 1 MiB (default 256 MiB).
	DataSize int64
	// Classes select the kernel modules (default DefaultClasses); Closure adds what they
	// depend on.
	Classes []Class
	// Epoch dates every file in the images (default: $SOURCE_DATE_EPOCH, else
	// DefaultEpoch).
	Epoch time.Time

	// Log, if set, receives a line for each step.
	Log func(format string, args ...any)
}

// DefaultEpoch dates the images' files when neither Config.Epoch nor SOURCE_DATE_EPOCH is
// set: 2025-01-01 00:00:00 UTC.
var DefaultEpoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// DefaultDataSize is the default size of the DECOM-DATA partition.
const DefaultDataSize = 256 * mib

// Cmdline is the kernel command line of the boot entry, before Config.Append. The console
// is both the screen and the first serial port (a BMC's serial-over-LAN); the last
// console= (the serial port) is /dev/console.
const Cmdline = "console=tty0 console=ttyS0,115200 decom.mode=auto quiet"

// Paths on the EFI System Partition (and in the ISO's EFI boot image).
const (
	ESPLoader     = "/EFI/BOOT/BOOTX64.EFI"
	ESPLoaderConf = "/loader/loader.conf"
	ESPEntry      = "/loader/entries/decom.conf"
	ESPEntryInter = "/loader/entries/decom-interactive.conf"
	ESPKernel     = "/decom/vmlinuz"
	ESPInitrd     = "/decom/initrd.img"
)

// Result says what Build used and made. It holds no times or temporary paths, so the same
// inputs give the same Result.
type Result struct {
	Kernel struct {
		Release string `json:"release"`           // uname -r
		Version string `json:"version"`           // the bzImage's version string
		Package string `json:"package,omitempty"` // Debian's package, when the kernel came from the cache
		Debian  string `json:"debian_version,omitempty"`
		File
	} `json:"kernel"`
	Loader struct {
		Name    string `json:"name"`              // what it says it is: "systemd-boot 252.39-1~deb12u2"
		Package string `json:"package,omitempty"` // Debian's package, when it came from the cache
		Version string `json:"version,omitempty"`
		File
	} `json:"loader"`
	Init File `json:"init"` // the decom binary, /init
	// CACerts is Config.CAFile, packed as InitramfsCACerts; nil without one.
	CACerts   *File `json:"ca_certs,omitempty"`
	Initramfs struct {
		File
		Uncompressed int64    `json:"uncompressed_size"`
		Modules      []string `json:"modules"`      // every module packed, load order
		ModuleBytes  int64    `json:"module_bytes"` // their size, decompressed
		EmptyClasses []string `json:"empty_classes,omitempty"`
	} `json:"initramfs"`
	Cmdline string `json:"cmdline"`
	Epoch   int64  `json:"source_date_epoch"`
	ESPSize int64  `json:"esp_size"`
	// DataSize is the DECOM-DATA partition's size.
	DataSize int64    `json:"data_size"`
	Image    *File    `json:"image,omitempty"`
	ISO      *File    `json:"iso,omitempty"`
	Netboot  *Netboot `json:"netboot,omitempty"`
}

// File is one input or output file.
type File struct {
	Path   string `json:"path,omitempty"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Build makes the boot images Config asks for. It writes each output beside its final path
// and renames it there when it is complete. With the same inputs (kernel, modules, loader,
// binary, Append, sizes, epoch) it makes the same bytes: files are dated Epoch, archives are
// sorted, and disk and partition GUIDs and FAT serial numbers are derived from a hash of
// the inputs.
//
// go-diskfs dates FAT entries from $SOURCE_DATE_EPOCH in the process environment: Build sets
// it while it writes FAT filesystems (one Build at a time does so) and restores it after.
func Build(ctx context.Context, cfg Config) (res Result, err error) {
	logf := cfg.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if cfg.Image == "" && cfg.ISO == "" && cfg.Netboot == "" {
		return res, errors.New("image build: no output: set the USB image path, the ISO path, the network boot directory, or several")
	}
	var caCerts []byte
	if cfg.CAFile != "" {
		if caCerts, err = ReadCACerts(cfg.CAFile); err != nil {
			return res, err
		}
		f := fileOf(cfg.CAFile, caCerts)
		res.CACerts = &f
	}
	var configSHA256 string
	if cfg.Netboot != "" {
		if configSHA256, err = netbootConfig(cfg); err != nil {
			return res, err
		}
	}
	if cfg.DataSize == 0 {
		cfg.DataSize = DefaultDataSize
	}
	if cfg.DataSize < 64*mib || cfg.DataSize%mib != 0 {
		return res, fmt.Errorf("image build: data partition size %d: want at least 64 MiB, in whole MiB", cfg.DataSize)
	}
	if cfg.Classes == nil {
		cfg.Classes = DefaultClasses
	}
	epoch, err := buildEpoch(cfg.Epoch)
	if err != nil {
		return res, err
	}
	res.Epoch = epoch.Unix()
	res.DataSize = cfg.DataSize

	work, err := os.MkdirTemp("", "decom-image-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(work)

	// The kernel and its modules.
	fromCache := false
	switch {
	case cfg.Kernel == "" && cfg.Modules == "":
		cfg.Kernel, cfg.Modules, err = debcache.Kernel()
		if err != nil {
			return res, err
		}
		fromCache = true
	case cfg.Kernel == "" || cfg.Modules == "":
		return res, errors.New("image build: a kernel needs its modules directory, and modules their kernel: give both, or neither for the cached Debian kernel")
	}
	vmlinuz, err := os.ReadFile(cfg.Kernel)
	if err != nil {
		return res, fmt.Errorf("kernel: %w", err)
	}
	version, err := KernelVersion(vmlinuz)
	if err != nil {
		return res, fmt.Errorf("kernel %s: %w", cfg.Kernel, err)
	}
	res.Kernel.Version = version
	res.Kernel.File = fileOf(cfg.Kernel, vmlinuz)
	if m := debianKernelVersion.FindStringSubmatch(version); m != nil {
		res.Kernel.Debian = m[1]
	}
	index, err := kmod.Scan(cfg.Modules)
	if err != nil {
		return res, err
	}
	res.Kernel.Release = index.Kernel
	if release := strings.Fields(version)[0]; release != index.Kernel {
		return res, fmt.Errorf("image build: kernel %s is release %s but the modules in %s are for %s", cfg.Kernel, release, cfg.Modules, index.Kernel)
	}
	if fromCache {
		res.Kernel.Package = "linux-image-" + index.Kernel
	}
	logf("kernel %s (%s), %d modules in %s", index.Kernel, res.Kernel.Debian, len(index.Modules), cfg.Modules)

	// The loader, for the USB image and the ISO.
	if cfg.Image == "" && cfg.ISO == "" {
		cfg.Loader = ""
	} else if cfg.Loader == "" {
		cfg.Loader, res.Loader.Version, err = debcache.Loader()
		if err != nil {
			return res, err
		}
		res.Loader.Package = "systemd-boot-efi"
	}
	if cfg.Loader != "" {
		loader, err := os.ReadFile(cfg.Loader)
		if err != nil {
			return res, fmt.Errorf("loader: %w", err)
		}
		if err := PE(loader); err != nil {
			return res, fmt.Errorf("loader %s: %w", cfg.Loader, err)
		}
		res.Loader.Name = loaderName(loader)
		res.Loader.File = fileOf(cfg.Loader, loader)
	}

	// The decom binary.
	if cfg.Binary != "" {
		res.Init.Path = cfg.Binary
	} else {
		cfg.Binary = filepath.Join(work, "decom")
		if err := goBuild(ctx, cfg.Source, cfg.Binary, logf); err != nil {
			return res, err
		}
	}
	if err := staticBinary(cfg.Binary); err != nil {
		return res, err
	}
	if fullDecom(cfg.Binary) {
		logf("note: %s is the full decom, built without -tags %s: it boots, but carries what the agent cannot use (make agent builds the image's, bin/decom-agent)", cfg.Binary, AgentTags)
	}
	if res.Init.SHA256, res.Init.Size, err = hashFile(cfg.Binary); err != nil {
		return res, err
	}

	// The modules: the classes, and everything they need.
	roots, empty := selectModules(index, cfg.Classes)
	for _, c := range empty {
		logf("warning: no module of kernel %s in %s", index.Kernel, c)
	}
	res.Initramfs.EmptyClasses = empty
	mods, err := index.Closure(roots...)
	if err != nil {
		return res, err
	}
	packed := imageModules(mods)
	sorted := slices.Clone(packed)
	slices.SortFunc(sorted, func(a, b kmod.Module) int { return strings.Compare(a.Name, b.Name) })
	sources := make([]kmod.Module, len(sorted))
	for i, m := range sorted {
		sources[i], _ = index.Lookup(m.Name)
	}
	for _, m := range mods {
		res.Initramfs.Modules = append(res.Initramfs.Modules, m.Name)
	}

	// The initramfs.
	if err := ctx.Err(); err != nil {
		return res, err
	}
	initrdPath := filepath.Join(work, "initrd.img")
	ir := &initramfs{
		init: cfg.Binary, modulesDir: cfg.Modules, epoch: epoch.Unix(), sources: sources, caCerts: caCerts,
		index: &kmod.Index{Kernel: index.Kernel, Modules: sorted, Builtin: index.Builtin},
	}
	var initrd bytes.Buffer
	if res.Initramfs.Uncompressed, res.Initramfs.ModuleBytes, err = ir.write(&initrd); err != nil {
		return res, err
	}
	if err := os.WriteFile(initrdPath, initrd.Bytes(), 0o644); err != nil {
		return res, err
	}
	res.Initramfs.File = fileOf("", initrd.Bytes())
	logf("initramfs: %d modules (%.1f MiB), %.1f MiB uncompressed, %.1f MiB gzip",
		len(mods), float64(res.Initramfs.ModuleBytes)/mib, float64(res.Initramfs.Uncompressed)/mib, float64(res.Initramfs.Size)/mib)

	// What the EFI System Partition holds.
	res.Cmdline = Cmdline
	if a := strings.TrimSpace(cfg.Append); a != "" {
		res.Cmdline += " " + a
	}
	esp := espTree(cfg.Loader, cfg.Kernel, initrdPath, index.Kernel, res.Cmdline)
	var espBytes int64
	if cfg.Image != "" || cfg.ISO != "" {
		if espBytes, err = esp.size(); err != nil {
			return res, err
		}
	}
	ids := newIDs(res)

	if cfg.Image != "" {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		res.ESPSize = espSize(espBytes)
		l := layoutUSB(res.ESPSize, cfg.DataSize)
		out, err := writeOutput(cfg.Image, func(tmp string) error {
			return writeUSB(tmp, l, esp, dataTree(), ids, epoch)
		})
		if err != nil {
			return res, fmt.Errorf("USB image: %w", err)
		}
		res.Image = &out
		logf("USB image %s: %.0f MiB (ESP %d MiB, %s %d MiB)", cfg.Image, float64(out.Size)/mib, res.ESPSize/mib, DataLabel, cfg.DataSize/mib)
	}
	if cfg.ISO != "" {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		efiImg := filepath.Join(work, "efi.img")
		if err := writeFATImage(efiImg, efiImageSize(espBytes), ESPLabel, esp, ids.uint32("iso-efi"), epoch); err != nil {
			return res, fmt.Errorf("ISO boot image: %w", err)
		}
		extra := map[string][]byte{"/README.TXT": []byte(isoReadme), "/CONFIGEX.YML": configExample}
		out, err := writeOutput(cfg.ISO, func(tmp string) error {
			isoWork := filepath.Join(work, "isotree")
			return writeISO(tmp, isoWork, efiImg, extra, epoch)
		})
		if err != nil {
			return res, fmt.Errorf("ISO: %w", err)
		}
		res.ISO = &out
		logf("ISO %s: %.0f MiB", cfg.ISO, float64(out.Size)/mib)
	}
	if cfg.Netboot != "" {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		nb := &Netboot{Dir: cfg.Netboot, ConfigURL: cfg.NetbootConfigURL, ConfigSHA256: configSHA256,
			Cmdline: netbootCmdline(res.Cmdline, cfg.NetbootConfigURL, configSHA256)}
		nb.Kernel, nb.Initrd, nb.Script, err = writeNetboot(cfg.Netboot, cfg.Kernel, initrdPath, ipxeScript(index.Kernel, nb.Cmdline))
		if err != nil {
			return res, fmt.Errorf("network boot: %w", err)
		}
		res.Netboot = nb
		logf("network boot %s: %s, %s and %s (config %s, SHA-256 %s)", cfg.Netboot, NetbootScript, NetbootKernel,
			NetbootInitrd, cfg.NetbootConfigURL, configSHA256)
	}
	return res, nil
}

// espTree is the content of the EFI System Partition.
func espTree(loader, kernel, initrd, release, cmdline string) *fatTree {
	conf := "timeout 0\ndefault decom.conf\n"
	entry := func(title, cmdline string) []byte {
		return []byte(fmt.Sprintf("title   %s\nversion %s\nlinux   %s\ninitrd  %s\noptions %s\n",
			title, release, ESPKernel, ESPInitrd, cmdline))
	}
	return &fatTree{files: map[string]fatFile{
		ESPLoader:     {host: loader},
		ESPLoaderConf: {data: []byte(conf)},
		ESPEntry:      {data: entry("decom", cmdline)},
		ESPEntryInter: {data: entry("decom (interactive)", strings.Replace(cmdline, "decom.mode=auto", "decom.mode=interactive", 1))},
		ESPKernel:     {host: kernel},
		ESPInitrd:     {host: initrd},
	}}
}

// dataTree is the content of the DECOM-DATA partition.
func dataTree() *fatTree {
	return &fatTree{
		files: map[string]fatFile{
			"/README.txt":          {data: dataReadme},
			"/config.yaml.example": {data: configExample},
		},
		dirs: []string{"/certs", "/logs"},
	}
}

// espSize is the EFI System Partition's size for contents bytes: the contents, a quarter
// more and 16 MiB (room for a bigger kernel or initramfs written onto the stick later),
// at least 128 MiB, in whole MiB.
func espSize(contents int64) int64 {
	return max(128*mib, roundUp(contents+contents/4+16*mib, mib))
}

// efiImageSize is the size of the ISO's EFI boot image: the contents with a margin, and
// at least 40 MiB, for a FAT32 with 512-byte clusters needs 65,525 of them.
func efiImageSize(contents int64) int64 {
	return max(40*mib, roundUp(contents+contents/16+4*mib, mib))
}

func roundUp(n, to int64) int64 { return (n + to - 1) / to * to }

// writeOutput writes an output through fn to a temporary file beside dst and renames it to
// dst when it is complete.
func writeOutput(dst string, fn func(tmp string) error) (File, error) {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return File{}, err
	}
	tmp := filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp"+strconv.Itoa(os.Getpid()))
	os.Remove(tmp)
	if err := fn(tmp); err != nil {
		os.Remove(tmp)
		return File{}, err
	}
	sum, size, err := hashFile(tmp)
	if err != nil {
		os.Remove(tmp)
		return File{}, err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return File{}, err
	}
	if d, err := os.Open(filepath.Dir(dst)); err == nil {
		d.Sync()
		d.Close()
	}
	return File{Path: dst, Size: size, SHA256: sum}, nil
}

func fileOf(path string, b []byte) File {
	sum := sha256.Sum256(b)
	return File{Path: path, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])}
}

// buildEpoch is the images' timestamp: cfg's, else SOURCE_DATE_EPOCH, else DefaultEpoch.
// FAT cannot date anything before 1980.
func buildEpoch(t time.Time) (time.Time, error) {
	if t.IsZero() {
		t = DefaultEpoch
		if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return t, fmt.Errorf("image build: SOURCE_DATE_EPOCH=%q is not a number of seconds", s)
			}
			t = time.Unix(n, 0)
		}
	}
	t = t.UTC().Truncate(2 * time.Second) // FAT's resolution
	if t.Year() < 1980 || t.Year() > 2107 {
		return t, fmt.Errorf("image build: epoch %s is outside what FAT can date (1980-2107)", t.Format(time.RFC3339))
	}
	return t, nil
}

// ids derives the images' GUIDs and serial numbers from their inputs.
type ids struct{ seed [32]byte }

func newIDs(r Result) *ids {
	h := sha256.New()
	fmt.Fprintf(h, "decom image\x00%s\x00%s\x00%s\x00%s\x00%s\x00%d\x00%d\x00",
		r.Kernel.SHA256, r.Loader.SHA256, r.Init.SHA256, r.Initramfs.SHA256, r.Cmdline, r.DataSize, r.Epoch)
	var x ids
	copy(x.seed[:], h.Sum(nil))
	return &x
}

func (x *ids) sum(what string) [32]byte {
	return sha256.Sum256(append(x.seed[:], what...))
}

// guid is a version 4 (random) GUID whose "random" bits come from the inputs' hash.
func (x *ids) guid(what string) string {
	b := x.sum(what)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%X-%X-%X-%X-%X", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (x *ids) uint32(what string) uint32 {
	b := x.sum(what)
	return binary.LittleEndian.Uint32(b[:4])
}

// AgentTags are the build tags of the boot image's decom. With them, decom leaves out
// what the agent on site cannot use (KMS clients, the registry server with its
// databases and log storage, the image builder), about a third of the full binary's
// size (README, "Image size"). make agent builds the same, bin/decom-agent.
const AgentTags = "agentimage"

// decomMain is the import path of decom's main package, as a binary's build information
// names it.
const decomMain = "github.com/decom-project/decom/cmd/decom"

// fullDecom reports whether the binary at path is decom built without AgentTags. It
// reads the build information Go keeps in the ELF section .go.buildinfo (what go
// version -m shows); debug/buildinfo would too, but links a reader of every executable
// format, some 400 KiB.
func fullDecom(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	sec := f.Section(".go.buildinfo")
	if sec == nil {
		return false
	}
	data, err := sec.Data()
	return err == nil && fullDecomInfo(data)
}

// fullDecomInfo reports whether a binary's build information (its module information
// lines: "path\t…", "build\t-tags=…") says it is decom built without AgentTags.
func fullDecomInfo(info []byte) bool {
	if !bytes.Contains(info, []byte("path\t"+decomMain+"\n")) {
		return false
	}
	for _, line := range bytes.Split(info, []byte("\n")) {
		if tags, ok := bytes.CutPrefix(line, []byte("build\t-tags=")); ok {
			return !slices.Contains(strings.Split(string(tags), ","), AgentTags)
		}
	}
	return true
}

// goBuild builds decom for the image: a static linux/amd64 binary, with AgentTags.
func goBuild(ctx context.Context, source, out string, logf func(string, ...any)) error {
	if source == "" {
		var err error
		if source, err = moduleRoot(); err != nil {
			return fmt.Errorf("building decom: %w (give the binary instead)", err)
		}
	}
	logf("building decom (tags %s) from %s", AgentTags, source)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-tags", AgentTags, "-ldflags", "-s -w", "-o", out, "./cmd/decom")
	cmd.Dir = source
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building decom: go build: %v: %s", err, strings.TrimSpace(string(b)))
	}
	return nil
}

// moduleRoot finds decom's module root above the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(b, []byte("module github.com/decom-project/decom\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no decom source above the working directory")
		}
		dir = parent
	}
}

// staticBinary checks that path is an x86-64 ELF executable without an interpreter: the
// initramfs has no dynamic loader.
func staticBinary(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("init binary %s: %w", path, err)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 || f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("init binary %s: not an x86-64 executable", path)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("init binary %s is dynamically linked: build it with CGO_ENABLED=0", path)
		}
	}
	return nil
}

// InitramfsCACerts is where the initramfs holds Config.CAFile: the first file Go's
// crypto/x509 reads for the system's roots on Linux.
const InitramfsCACerts = "/etc/ssl/certs/ca-certificates.crt"

// ReadCACerts reads a PEM file of CA certificates and checks that it holds at least
// one, every one parses, and there is nothing else in it.
func ReadCACerts(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("CA certificates: %w", err)
	}
	n := 0
	for rest := b; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			if len(bytes.TrimSpace(rest)) > 0 {
				return nil, fmt.Errorf("CA certificates %s: text that is not PEM after certificate %d", path, n)
			}
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("CA certificates %s: a %q block, want only CERTIFICATE", path, block.Type)
		}
		// A server's own self-signed certificate may stand here too: Go trusts a
		// root that is the very certificate the server presents.
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return nil, fmt.Errorf("CA certificates %s: certificate %d: %w", path, n+1, err)
		}
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("CA certificates %s: no PEM certificate in it", path)
	}
	return b, nil
}
