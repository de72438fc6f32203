//go:build !agentimage

package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/decom-project/decom/images"
	"github.com/decom-project/decom/internal/debcache"
	"github.com/decom-project/decom/internal/humanize"
)

type imageBuildOptions struct {
	Image, ISO      string
	Kernel, Modules string
	Loader, Binary  string
	Append          string
	DataSize        string
	Epoch           string
	Report          string
	// Netboot is the network boot's directory; NetbootConfig the config file the
	// machines fetch from NetbootConfigURL.
	Netboot, NetbootConfig, NetbootConfigURL string
	// CAFile holds the CA certificates the boot agent trusts for https.
	CAFile string
	// imageSet and isoSet say --image and --iso were given: with --netboot, only
	// then are they built.
	imageSet, isoSet bool
}

func (o *imageBuildOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.Image, "image", "bin/decom.img", `the USB disk image to write ("" for none)`)
	f.StringVar(&o.ISO, "iso", "bin/decom.iso", `the ISO to write ("" for none)`)
	f.StringVar(&o.Kernel, "kernel", "", "the kernel (vmlinuz) to boot, with --modules (default: Debian's, from the cache make deps fills)")
	f.StringVar(&o.Modules, "modules", "", "the kernel's modules directory, lib/modules/RELEASE")
	f.StringVar(&o.Loader, "loader", "", "systemd-boot's systemd-bootx64.efi (default: Debian's, from the cache make deps fills)")
	f.StringVar(&o.Binary, "binary", "", "the static decom binary to boot (default: built from the source tree around the working directory)")
	f.StringVar(&o.Append, "append", "", "more kernel command line, e.g. decom.method=dod-3")
	f.StringVar(&o.DataSize, "data-size", "256MiB", "size of the DECOM-DATA partition (at least 64MiB)")
	f.StringVar(&o.Epoch, "source-date-epoch", "", "the images' file times, in seconds since 1970 (default: $SOURCE_DATE_EPOCH, else 2025-01-01)")
	f.StringVar(&o.Report, "report", "", "where to write what the build used and made, as JSON (default: the image's path + .json, else the ISO's, else the network boot directory's)")
	f.StringVar(&o.Netboot, "netboot", "", "directory for the network boot's files: vmlinuz, initrd.img and the iPXE script decom.ipxe (then --image and --iso only when given)")
	f.StringVar(&o.NetbootConfig, "netboot-config", "", "with --netboot: the config file the machines fetch; its SHA-256 goes on the kernel command line")
	f.StringVar(&o.NetbootConfigURL, "netboot-config-url", "", "with --netboot: the http:// or https:// URL the machines fetch --netboot-config from")
	f.StringVar(&o.CAFile, "ca-file", "", "PEM CA certificates the boot agent trusts for https (a network boot's config URL, the registry), packed into the initramfs")
}

// given notes which outputs were asked for explicitly.
func (o imageBuildOptions) given(f *pflag.FlagSet) imageBuildOptions {
	o.imageSet, o.isoSet = f.Changed("image"), f.Changed("iso")
	return o
}

func newImageCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Build decom's bootable USB image and ISO",
		Args:  argsUsage(cobra.NoArgs),
	}
	var opts imageBuildOptions
	build := &cobra.Command{
		Use:   "build",
		Short: "Build the bootable USB image and ISO",
		Long: `Builds decom's boot media: a raw GPT disk image to write onto a USB stick (dd) and an
ISO for a server's virtual media. Both boot with UEFI (systemd-boot) into Debian's kernel
and an initramfs whose /init is decom, with the kernel modules a server needs for its
drives, keyboard and network. The USB image's second partition, DECOM-DATA (FAT32), holds
the technician's config.yaml and receives the certificates and logs.

The kernel and systemd-boot come from the caches scripts/fetch-kernel.sh and
scripts/fetch-boot.sh fill (make deps): Debian's packages, downloaded, not installed.
The same inputs give the same bytes. The build prints, and writes as JSON (--report),
what it used and made: versions, sizes and SHA-256s.

--netboot DIR writes a network boot instead (or as well, with --image or --iso given):
the kernel, the same initramfs, and an iPXE script, decom.ipxe, that boots them with
decom.config=URL (--netboot-config-url) and decom.config.sha256= (the SHA-256 of
--netboot-config, the file served at that URL). Serve the three files together by TFTP
(or HTTP) and the config at its URL; a machine whose config does not match wipes nothing.

` + exitCodeHelp,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runImageBuild(cmd.Context(), opts.given(cmd.Flags()), g)
		},
	}
	opts.AddFlags(build.Flags())
	cmd.AddCommand(build)
	return cmd
}

func runImageBuild(ctx context.Context, opts imageBuildOptions, g *globalOptions) error {
	cfg := images.Config{
		Image: opts.Image, ISO: opts.ISO, Kernel: opts.Kernel, Modules: opts.Modules,
		Loader: opts.Loader, Binary: opts.Binary, Append: opts.Append,
		Netboot: opts.Netboot, NetbootConfig: opts.NetbootConfig, NetbootConfigURL: opts.NetbootConfigURL,
		CAFile: opts.CAFile,
		Log:    func(format string, args ...any) { g.log.Info().Msgf(format, args...) },
	}
	if opts.Netboot != "" {
		// A network boot alone by default: the USB image and the ISO when asked for.
		if !opts.imageSet {
			cfg.Image = ""
		}
		if !opts.isoSet {
			cfg.ISO = ""
		}
		if opts.NetbootConfig == "" || opts.NetbootConfigURL == "" {
			return usageErrorf("--netboot needs --netboot-config FILE and --netboot-config-url URL: the machines fetch their config from the URL, pinned by the file's SHA-256")
		}
		u, err := url.Parse(opts.NetbootConfigURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(opts.NetbootConfigURL, " \t\n\"'$\\") {
			return usageErrorf("--netboot-config-url %q: want an http:// or https:// URL without spaces, quotes or $", opts.NetbootConfigURL)
		}
	} else if opts.NetbootConfig != "" || opts.NetbootConfigURL != "" {
		return usageErrorf("--netboot-config and --netboot-config-url go with --netboot DIR")
	}
	if cfg.Image == "" && cfg.ISO == "" && cfg.Netboot == "" {
		return usageErrorf(`--image "" and --iso "": nothing to build`)
	}
	if (cfg.Kernel == "") != (cfg.Modules == "") {
		return usageErrorf("--kernel and --modules go together: a kernel needs its own modules")
	}
	size, err := parseSize(opts.DataSize)
	if err != nil || size < 64<<20 || size%(1<<20) != 0 {
		return usageErrorf("--data-size %q: want at least 64MiB, in whole MiB", opts.DataSize)
	}
	cfg.DataSize = size
	if opts.Epoch != "" {
		n, err := strconv.ParseInt(opts.Epoch, 10, 64)
		if err != nil {
			return usageErrorf("--source-date-epoch %q: want seconds since 1970", opts.Epoch)
		}
		cfg.Epoch = time.Unix(n, 0)
	}
	for flag, p := range map[string]string{"--kernel": cfg.Kernel, "--modules": cfg.Modules, "--loader": cfg.Loader, "--binary": cfg.Binary,
		"--netboot-config": cfg.NetbootConfig} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			return badInputf("%s: %v", flag, err)
		}
	}
	if cfg.CAFile != "" {
		if _, err := images.ReadCACerts(cfg.CAFile); err != nil {
			return badInputf("--ca-file: %v", err)
		}
	}
	report := opts.Report
	if report == "" {
		switch {
		case cfg.Image != "":
			report = cfg.Image + ".json"
		case cfg.ISO != "":
			report = cfg.ISO + ".json"
		default:
			report = filepath.Clean(cfg.Netboot) + ".json"
		}
	}

	start := time.Now()
	res, err := images.Build(ctx, cfg)
	if err != nil {
		if errors.Is(err, debcache.ErrNoCache) {
			return badInputf("%v", err)
		}
		if errors.Is(err, fs.ErrNotExist) {
			return badInputf("%v", err)
		}
		return err
	}
	took := time.Since(start)
	if err := writeReport(report, res); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if g.Output == outputJSON {
		return writeJSON(g.stdout, res)
	}
	return printImageBuild(g, res, report, took)
}

// writeReport writes the build's result as JSON, atomically.
func writeReport(path string, res images.Result) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := writeJSON(f, res); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

func printImageBuild(g *globalOptions, res images.Result, report string, took time.Duration) error {
	size := func(n int64) string { return humanize.Bytes(uint64(n)) }
	w := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
	kernel := res.Kernel.Release
	var from []string
	if res.Kernel.Debian != "" {
		from = append(from, "Debian "+res.Kernel.Debian)
	}
	if res.Kernel.Package != "" {
		from = append(from, res.Kernel.Package)
	}
	if len(from) > 0 {
		kernel += " (" + strings.Join(from, ", ") + ")"
	}
	fmt.Fprintf(w, "kernel\t%s\t%s\tsha256 %s\n", kernel, size(res.Kernel.Size), res.Kernel.SHA256)
	loader := res.Loader.Name
	if res.Loader.Package != "" {
		loader += " (" + res.Loader.Package + " " + res.Loader.Version + ")"
	}
	if res.Loader.SHA256 != "" {
		fmt.Fprintf(w, "loader\t%s\t%s\tsha256 %s\n", loader, size(res.Loader.Size), res.Loader.SHA256)
	}
	fmt.Fprintf(w, "init\tdecom\t%s\tsha256 %s\n", size(res.Init.Size), res.Init.SHA256)
	fmt.Fprintf(w, "initramfs\t%d modules (%s), %s unpacked\t%s\tsha256 %s\n", len(res.Initramfs.Modules),
		size(res.Initramfs.ModuleBytes), size(res.Initramfs.Uncompressed), size(res.Initramfs.Size), res.Initramfs.SHA256)
	fmt.Fprintf(w, "cmdline\t%s\n", res.Cmdline)
	if res.Image != nil {
		fmt.Fprintf(w, "USB image\t%s (EFI %s, %s %s)\t%s\tsha256 %s\n", res.Image.Path, size(res.ESPSize),
			images.DataLabel, size(res.DataSize), size(res.Image.Size), res.Image.SHA256)
	}
	if res.ISO != nil {
		fmt.Fprintf(w, "ISO\t%s\t%s\tsha256 %s\n", res.ISO.Path, size(res.ISO.Size), res.ISO.SHA256)
	}
	if nb := res.Netboot; nb != nil {
		for _, f := range []images.File{nb.Script, nb.Kernel, nb.Initrd} {
			fmt.Fprintf(w, "netboot\t%s\t%s\tsha256 %s\n", f.Path, size(f.Size), f.SHA256)
		}
		fmt.Fprintf(w, "netboot config\t%s\t\tsha256 %s\n", nb.ConfigURL, nb.ConfigSHA256)
	}
	fmt.Fprintf(w, "report\t%s\n", report)
	fmt.Fprintf(w, "built in\t%s (file times %s)\n", took.Round(100*time.Millisecond),
		time.Unix(res.Epoch, 0).UTC().Format(time.RFC3339))
	return w.Flush()
}
