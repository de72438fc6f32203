package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/u-root/u-root/pkg/cpio"
	"gopkg.in/yaml.v3"

	"github.com/decom-project/decom/agent"
	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/wipe"
)

// Where decom kexec puts its files in the boot agent's initramfs. The agent reads
// the config at decom's default path, the plan through decom.plan= and the key's
// passphrase at agent.PassphraseFile.
const (
	kexecConfigFile     = defaultConfig
	kexecPlanFile       = "/etc/decom/plan.json"
	kexecKeyFile        = "/etc/decom/signing.key"
	kexecPassphraseFile = agent.PassphraseFile
)

// kexecSystem loads a kernel for kexec and jumps into it. The Linux one does it for
// real; tests give a fake, so that no test ever replaces the kernel it runs on.
type kexecSystem interface {
	// Load loads kernel and initrd with the command line, for Exec.
	Load(kernel, initrd *os.File, cmdline string) error
	// Unload forgets a loaded kernel.
	Unload() error
	// Sync flushes every filesystem's dirty data to its medium.
	Sync()
	// Exec jumps into the loaded kernel; it returns only when that failed.
	Exec() error
}

type kexecOptions struct {
	Kernel, Initrd, Image string
	Approved              string
	Key                   string
	Append                string
	Yes, DryRun           bool

	sys kexecSystem
}

func (o *kexecOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.Kernel, "kernel", "", "the boot image's kernel (with --initrd)")
	f.StringVar(&o.Initrd, "initrd", "", "the boot image's initramfs (with --kernel)")
	f.StringVar(&o.Image, "image", "", "a directory holding the boot image's vmlinuz and initrd.img (netboot files, or a copy of the stick's ESP with them in decom/)")
	f.StringVar(&o.Approved, "approved", "", "the approved plan the boot agent follows; it must have a section for this host (required)")
	f.StringVar(&o.Key, "key", "", "signing key file for the certificates (default: the config's key:)")
	f.StringVar(&o.Append, "append", "", "more kernel command line parameters for the boot agent")
	f.BoolVarP(&o.Yes, "yes", "y", false, "go on without asking")
	f.BoolVarP(&o.DryRun, "dry-run", "n", false, "check everything and print what would be done; load nothing")
}

func newKexecCommand(g *globalOptions) *cobra.Command {
	opts := kexecOptions{sys: linuxKexec{}}
	cmd := &cobra.Command{
		Use:   "kexec --approved PLAN (--image DIR | --kernel FILE --initrd FILE)",
		Short: "Replace the running system with decom's boot image, which wipes what an approved plan lists",
		Long: `Loads the boot image's kernel and initramfs and jumps into them (kexec), so that a
host being decommissioned wipes itself, its system disk included: the running system
stops at once, without a shutdown. The boot agent then runs from RAM in auto mode,
follows the approved plan's section for this host exactly (anything that differs
wipes nothing), uploads the certificates to the registry and powers the machine off.

decom kexec packs into an extra archive appended to the initramfs: the config file
(--config, with the registry, its token and the signing key's path filled in, as
DECOM_REGISTRY, DECOM_REGISTRY_TOKEN and DECOM_KEY give them), the signing key, the
key's passphrase when it is encrypted (DECOM_KEY_PASSWORD, or asked), and the plan.
The kernel command line is decom.mode=auto decom.plan=` + kexecPlanFile + `, the running
kernel's console= parameters, and --append. The config file's boot: section applies
(countdown, allow_insecure_http for a plain http:// registry).

Before anything is loaded decom kexec checks that the plan is for this host (its DMI
system serial and UUID, as decom wipe --approved does), that the config names a
registry with a token (there is no stick: the certificates must leave the machine),
and that the signing key opens. It prints what it will do and asks for the host's
name to be typed, or --yes; --dry-run stops there. It needs root.

Exit codes of decom kexec: 2 for a missing or contradictory flag and for a config
without a registry or key; 4 for a plan for another host, or no confirmation; 9 for
a plan, kernel, initramfs or key that cannot be read (a truncated plan, a wrong
passphrase); 1 when the kernel refuses to load the image.

` + exitCodeHelp,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return runKexec(cmd.Context(), opts, g) },
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

// kexecPlan is everything decom kexec checked and will hand the boot agent.
type kexecPlan struct {
	kernel, initrd string
	host           inventory.Host
	section        sanitize.HostPlan
	planSHA256     string
	job            string // the plan file's
	registry       string
	cmdline        string
	extra          []byte // the appended newc archive
	files          []string
}

func runKexec(ctx context.Context, opts kexecOptions, g *globalOptions) error {
	p, err := opts.check(g)
	if err != nil {
		return err
	}
	p.show(g.stdout, opts.DryRun)
	if opts.DryRun {
		return nil
	}
	if err := opts.confirm(ctx, g, p); err != nil {
		return err
	}
	kernel, err := os.Open(p.kernel)
	if err != nil {
		return badInputf("kernel: %v", err)
	}
	defer kernel.Close()
	initrd, err := memFile("decom-initrd")
	if err != nil {
		return fmt.Errorf("kexec: %v", err)
	}
	defer initrd.Close()
	if err := writeInitrd(initrd, p.initrd, p.extra); err != nil {
		return err
	}
	if err := opts.sys.Load(kernel, initrd, p.cmdline); err != nil {
		return fmt.Errorf("kexec: the kernel refused to load %s: %v (kexec needs root, kernel.kexec_load_disabled=0 and, under Secure Boot lockdown, a signed kernel)", p.kernel, err)
	}
	g.log.Warn().Str("kernel", p.kernel).Msg("loaded; syncing the filesystems and jumping into the boot agent: this system stops now")
	opts.sys.Sync()
	err = opts.sys.Exec()
	if uerr := opts.sys.Unload(); uerr != nil {
		g.log.Error().Err(uerr).Msg("kexec: unloading the kernel after the failed jump")
	}
	return fmt.Errorf("kexec: the jump into the boot agent failed: %v", err)
}

// check checks every input and builds what is loaded. It writes nothing.
func (opts kexecOptions) check(g *globalOptions) (*kexecPlan, error) {
	p := &kexecPlan{}
	switch {
	case opts.Approved == "":
		return nil, usageErrorf("--approved PLAN is required: the approved plan decides what the boot agent wipes")
	case opts.Image != "" && (opts.Kernel != "" || opts.Initrd != ""):
		return nil, usageErrorf("--image takes the kernel and initramfs from its directory: no --kernel or --initrd with it")
	case opts.Image == "" && (opts.Kernel == "" || opts.Initrd == ""):
		return nil, usageErrorf("name the boot image: --image DIR, or --kernel FILE and --initrd FILE")
	case strings.ContainsAny(opts.Append, "\n\x00"):
		return nil, usageErrorf("--append: one line of kernel parameters")
	}
	var err error
	if p.kernel, p.initrd, err = opts.bootFiles(); err != nil {
		return nil, err
	}

	// The plan: this host's section, or nothing is loaded.
	f, planData, err := readPlanFile(opts.Approved)
	if err != nil {
		return nil, err
	}
	p.host = inventory.ReadHost(inventory.Options{Root: g.SysRoot})
	if p.section, err = f.ForHost(p.host); err != nil {
		return nil, fmt.Errorf("plan %s: %w", opts.Approved, err)
	}
	sum := sha256.Sum256(planData)
	p.planSHA256, p.job = hex.EncodeToString(sum[:]), f.Job

	cfg, err := loadConfig(g.Config)
	if err != nil {
		return nil, err
	}
	files := map[string]fileEntry{kexecPlanFile: {data: planData, mode: 0o644}}
	if err := kexecRegistry(&cfg); err != nil {
		return nil, err
	}
	p.registry = cfg.Registry
	if err := opts.packKey(g, &cfg, files); err != nil {
		return nil, err
	}
	conf, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("config: %v", err)
	}
	files[kexecConfigFile] = fileEntry{data: conf, mode: 0o600}
	if p.extra, p.files, err = newcArchive(files); err != nil {
		return nil, fmt.Errorf("kexec: initramfs: %v", err)
	}
	p.cmdline = kexecCmdline(g.SysRoot, opts.Append)
	return p, nil
}

// bootFiles are the kernel and initramfs: the flags', or those in --image's directory
// (netboot's vmlinuz and initrd.img, or the stick's ESP with them in decom/).
func (opts kexecOptions) bootFiles() (kernel, initrd string, err error) {
	kernel, initrd = opts.Kernel, opts.Initrd
	if opts.Image != "" {
		kernel, initrd = "", ""
		for _, dir := range []string{opts.Image, filepath.Join(opts.Image, "decom")} {
			k, i := filepath.Join(dir, "vmlinuz"), filepath.Join(dir, "initrd.img")
			if regular(k) && regular(i) {
				kernel, initrd = k, i
				break
			}
		}
		if kernel == "" {
			return "", "", badInputf("--image %s: no vmlinuz and initrd.img in it, nor in its decom/ directory", opts.Image)
		}
	}
	if err := checkKernel(kernel); err != nil {
		return "", "", err
	}
	st, err := os.Stat(initrd)
	if err != nil {
		return "", "", badInputf("initramfs: %v", err)
	}
	if !st.Mode().IsRegular() || st.Size() == 0 {
		return "", "", badInputf("initramfs %s: not a non-empty regular file", initrd)
	}
	return kernel, initrd, nil
}

func regular(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// checkKernel checks that path is an x86 bzImage: "HdrS" at 0x202.
func checkKernel(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return badInputf("kernel: %v", err)
	}
	defer f.Close()
	magic := make([]byte, 4)
	if _, err := f.ReadAt(magic, 0x202); err != nil || string(magic) != "HdrS" {
		return badInputf("kernel %s: not a Linux kernel image (bzImage)", path)
	}
	return nil
}

// kexecRegistry fills the config's registry and token from the environment and
// checks that the boot agent will upload to it: there is no stick to keep the
// certificates.
func kexecRegistry(cfg *fileConfig) error {
	if v := os.Getenv("DECOM_REGISTRY"); v != "" {
		cfg.Registry = v
	}
	if v := os.Getenv("DECOM_REGISTRY_TOKEN"); v != "" {
		cfg.RegistryToken = v
	}
	if cfg.Registry == "" {
		return usageErrorf("the config gives no registry (registry: or DECOM_REGISTRY): after kexec there is no stick, so the certificates must go to a registry")
	}
	u, err := url.Parse(cfg.Registry)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageErrorf("registry %q: want an http:// or https:// URL", cfg.Registry)
	}
	if cfg.RegistryToken == "" {
		return usageErrorf("the config gives no registry token (registry_token: or DECOM_REGISTRY_TOKEN): the boot agent could not upload the certificates")
	}
	if u.Scheme == "http" && !cfg.Boot.AllowInsecureHTTP {
		return usageErrorf("registry %s: plain http:// needs boot: allow_insecure_http: true in the config (the boot agent refuses it otherwise)", cfg.Registry)
	}
	return nil
}

// packKey adds the signing key (and its passphrase, when it is encrypted) to files,
// checking that it opens, and points the config at it.
func (opts kexecOptions) packKey(g *globalOptions, cfg *fileConfig, files map[string]fileEntry) error {
	key := opts.Key
	if key == "" {
		key = os.Getenv("DECOM_KEY")
	}
	if key == "" {
		key = cfg.Key
	}
	switch {
	case key == "":
		return usageErrorf("a signing key is needed for the certificates: --key, DECOM_KEY or key: in the config file")
	case strings.Contains(key, "://"):
		return usageErrorf("key %s: the boot image's decom signs with a key file, not a KMS: use --key FILE", key)
	}
	pem, err := os.ReadFile(key)
	if err != nil {
		return badInputf("signing key: %v", err)
	}
	var pass []byte
	if bytes.Contains(pem, []byte("ENCRYPTED")) {
		if pass, err = g.passphrase("Passphrase for "+key, false); err != nil {
			return err
		}
		if len(pass) == 0 {
			return badInputf("signing key %s: an empty passphrase", key)
		}
	}
	if _, err := certificates.LoadPrivateKey(pem, pass); err != nil {
		return fmt.Errorf("signing key %s: %w", key, err)
	}
	files[kexecKeyFile] = fileEntry{data: pem, mode: 0o600}
	if pass != nil {
		files[kexecPassphraseFile] = fileEntry{data: append(pass, '\n'), mode: 0o600}
	}
	cfg.Key = kexecKeyFile
	return nil
}

// kexecCmdline is the boot agent's kernel command line: auto mode with the plan, the
// running kernel's console= parameters (so that its messages go where this one's
// do), and extra.
func kexecCmdline(root, extra string) string {
	parts := []string{"decom.mode=auto", "decom.plan=" + kexecPlanFile}
	if b, err := os.ReadFile(filepath.Join(root, "proc", "cmdline")); err == nil {
		for _, p := range strings.Fields(string(b)) {
			if strings.HasPrefix(p, "console=") {
				parts = append(parts, p)
			}
		}
	}
	if extra = strings.TrimSpace(extra); extra != "" {
		parts = append(parts, extra)
	}
	return strings.Join(parts, " ")
}

type fileEntry struct {
	data []byte
	mode uint64
}

// newcArchive is a newc cpio archive of files (absolute paths) with their
// directories, and the paths it holds, sorted.
func newcArchive(files map[string]fileEntry) ([]byte, []string, error) {
	var buf bytes.Buffer
	w := cpio.Newc.Writer(&buf)
	names := slices.Sorted(maps.Keys(files))
	dirs := map[string]bool{}
	ino := uint64(0)
	write := func(r cpio.Record) error {
		ino++
		r.Ino, r.NLink = ino, 1
		if r.Mode&cpio.S_IFMT == cpio.S_IFDIR {
			r.NLink = 2
		}
		return w.WriteRecord(r)
	}
	for _, name := range names {
		var parents []string
		for d := filepath.Dir(name); d != "/" && !dirs[d]; d = filepath.Dir(d) {
			parents = append(parents, d)
		}
		for i := len(parents) - 1; i >= 0; i-- {
			dirs[parents[i]] = true
			if err := write(cpio.Directory(strings.TrimPrefix(parents[i], "/"), 0o755)); err != nil {
				return nil, nil, err
			}
		}
		e := files[name]
		if err := write(cpio.StaticRecord(e.data, cpio.Info{Name: strings.TrimPrefix(name, "/"), Mode: cpio.S_IFREG | e.mode})); err != nil {
			return nil, nil, err
		}
	}
	if err := cpio.WriteTrailer(w); err != nil {
		return nil, nil, err
	}
	return buf.Bytes(), names, nil
}

// writeInitrd writes the initramfs and then extra to dst, the archive starting on a
// 512-byte boundary (the kernel skips the zeros between concatenated archives).
func writeInitrd(dst *os.File, initrd string, extra []byte) error {
	src, err := os.Open(initrd)
	if err != nil {
		return badInputf("initramfs: %v", err)
	}
	defer src.Close()
	bw := bufio.NewWriterSize(dst, 1<<20)
	n, err := io.Copy(bw, src)
	if err != nil {
		return fmt.Errorf("initramfs %s: %v", initrd, err)
	}
	if pad := (512 - n%512) % 512; pad > 0 {
		bw.Write(make([]byte, pad))
	}
	bw.Write(extra)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("kexec: initramfs: %v", err)
	}
	_, err = dst.Seek(0, io.SeekStart)
	return err
}

// show prints what decom kexec will do.
func (p *kexecPlan) show(w io.Writer, dryRun bool) {
	h := p.host
	fmt.Fprintf(w, "this host:     hostname %s, DMI serial %s, UUID %s\n", dash(h.Hostname), dash(h.SystemSerial), dash(h.SystemUUID))
	fmt.Fprintf(w, "kernel:        %s\n", p.kernel)
	fmt.Fprintf(w, "initramfs:     %s, with %s appended\n", p.initrd, strings.Join(p.files, ", "))
	fmt.Fprintf(w, "command line:  %s\n", p.cmdline)
	fmt.Fprintf(w, "registry:      %s\n", p.registry)
	w0 := p.section.Targets[0].Method
	fmt.Fprintf(w, "approved plan: sha256 %s: %d targets, method %s\n", p.planSHA256, len(p.section.Targets), w0.Name)
	if p.job != "" {
		fmt.Fprintf(w, "job:           %s\n", p.job)
	}
	if p.section.All {
		fmt.Fprintf(w, "  every drive --all takes (a drive added since the plan refuses the run)\n")
	}
	for _, t := range p.section.Targets {
		fmt.Fprintf(w, "  %-14s %-20s %-20s %s\n", t.Path, dash(t.Serial), dash(t.Model), humanSize(t.SizeBytes))
	}
	if dryRun {
		fmt.Fprintf(w, "dry run: nothing loaded\n")
		return
	}
	fmt.Fprintf(w, "This system stops at once, without a shutdown. The boot agent wipes the targets above if the\n"+
		"machine matches the plan exactly (nothing otherwise), uploads the certificates to the registry\n"+
		"and powers the machine off.\n")
}

// confirm asks for the host's name to be typed, unless --yes.
func (opts kexecOptions) confirm(ctx context.Context, g *globalOptions, p *kexecPlan) error {
	if opts.Yes {
		return nil
	}
	if !g.interactive() {
		return fmt.Errorf("%w: confirmation missing: without a terminal, pass --yes", wipe.ErrRefused)
	}
	want := p.host.Hostname
	if want == "" || want == "(none)" {
		want = "kexec"
	}
	fmt.Fprintf(g.stderr, "Type %q to replace this system with the boot agent: ", want)
	sc := bufio.NewScanner(g.stdin)
	if !sc.Scan() || strings.TrimSpace(sc.Text()) != want {
		if err := ctx.Err(); err != nil {
			return err
		}
		return fmt.Errorf("%w: not confirmed; nothing was loaded", wipe.ErrRefused)
	}
	return nil
}
