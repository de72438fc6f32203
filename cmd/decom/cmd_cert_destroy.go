package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/registry"
	"github.com/decom-project/decom/sanitize"
)

// certDestroyOptions are decom cert destroy's flags: the drive, how it was
// destroyed, and the certificate settings decom wipe uses (the witness is the
// certificate's validator).
type certDestroyOptions struct {
	cert     certOptions
	registry registryOptions

	From                    string
	Serial, Model, Vendor   string
	WWN, Path               string
	Size                    uint64
	Method, ParticleSize    string
	Device, Place, TimeText string
	Evidence                []string
}

func (o *certDestroyOptions) AddFlags(f *pflag.FlagSet) {
	o.cert.AddFlags(f)
	o.registry.AddFlags(f)
	f.StringVar(&o.From, "from", "", "FILE naming the drive: decom inventory -o json output, or a certificate or failure record of it (*.sigstore.json)")
	f.StringVar(&o.Serial, "serial", "", "the drive's serial number (typed or scanned from its label; picks the drive in an inventory)")
	f.StringVar(&o.Model, "model", "", "the drive's model")
	f.StringVar(&o.Vendor, "vendor", "", "the drive's vendor")
	f.StringVar(&o.WWN, "wwn", "", "the drive's World Wide Name")
	f.StringVar(&o.Path, "path", "", "the drive's device path (picks the drive in an inventory)")
	f.Uint64Var(&o.Size, "size", 0, "the drive's capacity in bytes")
	f.StringVar(&o.Method, "method", "", "how it was destroyed: "+strings.Join(certificates.DestructionMethods, ", "))
	f.StringVar(&o.ParticleSize, "particle-size", "", "largest particle left, in mm (e.g. 2mm); required for shred, disintegrate and pulverize")
	f.StringVar(&o.Device, "device", "", "the shredder, disintegrator or degausser used (make, model, serial); required for degauss")
	f.StringVar(&o.Place, "place", "", "where it was destroyed")
	f.StringVar(&o.TimeText, "time", "", "when it was destroyed, RFC 3339 (default: now)")
	f.StringArrayVar(&o.Evidence, "evidence", nil, "an evidence FILE (a photograph): recorded by name, size and SHA-256, not embedded (repeatable)")
	// The witness signs the form's validation box: --witness is --validator.
	f.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if rest, ok := strings.CutPrefix(name, "witness"); ok {
			name = "validator" + rest
		}
		return pflag.NormalizedName(name)
	})
	f.MarkHidden("no-certificate")
}

func newCertDestroyCommand(g *globalOptions) *cobra.Command {
	var opts certDestroyOptions
	cmd := &cobra.Command{
		Use:   "destroy",
		Short: "Write a signed certificate of destruction for a drive",
		Long: `Writes a signed certificate of destruction (NIST SP 800-88 Destroy) for a drive that
was shredded, disintegrated, pulverized, incinerated or degaussed: typically one whose
wipe failed, or that no technique could sanitize.

The drive is named by --from (the output of decom inventory -o json, with --serial or
--path when it lists several drives, or a certificate or failure record of the drive,
whose media the certificate repeats and whose ID it records as the one it follows), or,
for a drive that no longer answers, by --serial (typed or scanned from its label) with
--model, --vendor, --wwn and --size as known. Flags add what a record lacks; a value
that contradicts it is refused.

--particle-size is required for shred, disintegrate and pulverize, --device for
degauss; --place always. The operator is --operator, the witness --witness (the
certificate's validator: --witness-title, --witness-org, ... as for --validator).
Evidence files are recorded by name, size and SHA-256. The certificate goes to
--cert-dir (and a PDF beside it with --pdf), and to the registry with --registry; one
the registry could not take waits there for decom cert push. Nothing is written when
a flag or a file is wrong.

Example:
  decom cert destroy --from 20260304T101500Z_loop3_….sigstore.json --serial ZX42A \
    --method shred --particle-size 2mm --device "Shredco HDS-100 #17" \
    --place "Example DC, cage 3" --operator "Ada" --witness "Wes" \
    --evidence shredded.jpg --key decom.key --cert-dir certs --pdf

` + exitCodeHelp,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCertDestroy(cmd.Context(), opts, cmd.Flags(), g, time.Now())
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

// runCertDestroy checks every flag and file, then signs and writes the certificate,
// and uploads it when a registry is given.
func runCertDestroy(ctx context.Context, o certDestroyOptions, flags *pflag.FlagSet, g *globalOptions, now time.Time) error {
	cfg, err := loadConfig(g.Config)
	if err != nil {
		return err
	}
	o.cert.apply(flags, cfg)
	o.registry.apply(flags, cfg)
	if o.cert.NoCertificate {
		return usageErrorf("--no-certificate: decom cert destroy exists to write one")
	}
	d, err := o.cert.details()
	if err != nil {
		return err
	}
	dest, err := o.destruction(now)
	if err != nil {
		return err
	}
	m, follows, err := o.media()
	if err != nil {
		return err
	}
	dest.Follows = follows
	if o.cert.Key == "" {
		return usageErrorf("a signing key is needed: --key, DECOM_KEY or key: in the config file (decom keys generate makes one)")
	}
	if o.registry.URL != "" && o.registry.Token == "" {
		return usageErrorf("--registry needs --token (or DECOM_REGISTRY_TOKEN)")
	}
	// Every file is read before anything is written.
	if dest.Evidence, err = evidenceFiles(o.Evidence); err != nil {
		return err
	}
	v := currentVersion()
	c, err := certificates.NewDestruction(m, d, dest, certificates.Tool{Name: "decom", Version: v.Version, Commit: v.Commit}, now)
	if err != nil {
		return usageErrorf("%v", err)
	}
	c.Sanitization.Job = o.cert.Job // checked by details
	signer, err := certificates.LoadSigner(ctx, o.cert.Key, func() ([]byte, error) {
		return g.passphrase("Passphrase for "+o.cert.Key, false)
	})
	if err != nil {
		return err
	}
	bundle, err := certificates.Sign(ctx, signer, c)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.cert.CertDir, 0o755); err != nil {
		return badInputf("certificate directory: %v", err)
	}
	base := sanitize.FileBase(c)
	path, err := certificates.WriteFileAtomic(o.cert.CertDir, base+".sigstore.json", bundle, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintln(g.stdout, path)
	var uploadErr error
	page := ""
	if o.registry.URL != "" {
		client := o.registry.client()
		receipt, err := client.UploadFile(ctx, path, pushAttempts)
		if err != nil {
			uploadErr = err
			g.log.Warn().Str("certificate", path).Err(err).Msg("not uploaded; it waits for decom cert push")
		} else {
			page = registry.CertificatePage(client.URL, c.ID)
			g.log.Info().Str("certificate", path).Uint64("log_index", receipt.LogIndex).Msg("uploaded")
		}
	}
	if o.cert.PDF {
		pub, err := signer.PublicKey()
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := certificates.WritePDF(&buf, c, certificates.Fingerprint(pub), base+".sigstore.json", page); err != nil {
			return err
		}
		pdf, err := certificates.WriteFileAtomic(o.cert.CertDir, base+".pdf", buf.Bytes(), 0o644)
		if err != nil {
			return err
		}
		fmt.Fprintln(g.stdout, pdf)
	}
	return uploadErr
}

// destruction checks how, where and when the drive was destroyed.
func (o certDestroyOptions) destruction(now time.Time) (certificates.Destruction, error) {
	dest := certificates.Destruction{Method: o.Method, Device: strings.TrimSpace(o.Device), Place: strings.TrimSpace(o.Place), Time: now}
	switch {
	case o.Method == "":
		return dest, usageErrorf("--method is required: one of %s", strings.Join(certificates.DestructionMethods, ", "))
	case !slices.Contains(certificates.DestructionMethods, o.Method):
		return dest, usageErrorf("--method %q: want one of %s", o.Method, strings.Join(certificates.DestructionMethods, ", "))
	case dest.Place == "":
		return dest, usageErrorf("--place is required: where the drive was destroyed")
	case certificates.NeedsDevice(o.Method) && dest.Device == "":
		return dest, usageErrorf("--device is required for %s: the degausser used (make, model, serial)", o.Method)
	}
	if o.ParticleSize != "" {
		mm, err := parseMillimetres(o.ParticleSize)
		if err != nil {
			return dest, usageErrorf("--particle-size %q: %v", o.ParticleSize, err)
		}
		dest.ParticleSizeMM = mm
	} else if certificates.NeedsParticleSize(o.Method) {
		return dest, usageErrorf("--particle-size is required for %s: the largest particle left, e.g. 2mm", o.Method)
	}
	if o.TimeText != "" {
		t, err := time.Parse(time.RFC3339, o.TimeText)
		if err != nil {
			return dest, usageErrorf("--time %q: want RFC 3339, e.g. 2026-03-04T10:00:00Z", o.TimeText)
		}
		if t.After(now.Add(5 * time.Minute)) {
			return dest, usageErrorf("--time %s is in the future", o.TimeText)
		}
		dest.Time = t
	}
	return dest, nil
}

// parseMillimetres reads a particle size: a positive number of millimetres, with or
// without "mm".
func parseMillimetres(s string) (float64, error) {
	n := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(strings.ToLower(s)), "mm"))
	v, err := strconv.ParseFloat(n, 64)
	if err != nil || !(v > 0) || v > 1e6 {
		return 0, errors.New("want a positive size in millimetres, e.g. 2mm")
	}
	return v, nil
}

// media is the drive's identity from --from and the identity flags, and the ID of
// the certificate or record it came from.
func (o certDestroyOptions) media() (certificates.Media, string, error) {
	m := certificates.Media{Kind: "drive"}
	follows := ""
	if o.From != "" {
		b, err := os.ReadFile(o.From)
		if err != nil {
			return m, "", badInputf("--from: %v", err)
		}
		if c, _, err := certificates.Inspect(b); err == nil {
			if c.Destruction != nil {
				return m, "", badInputf("--from %s: a certificate of destruction already (%s)", o.From, c.ID)
			}
			m, follows = c.Media, c.ID
			m.AssetNumber = ""
		} else if dev, err := o.fromInventory(b); err == nil {
			m = certificates.Media{Kind: "drive", Path: dev.Path, Manufacturer: dev.Vendor, Model: dev.Model, Serial: dev.Serial,
				WWN: dev.WWN, Firmware: dev.Firmware, SizeBytes: dev.SizeBytes, LogicalSectorSize: dev.LogicalSectorSize,
				PhysicalSectorSize: dev.PhysicalSectorSize, MediaType: dev.Media, Transport: dev.Transport}
		} else {
			return m, "", badInputf("--from %s: %v", o.From, err)
		}
	}
	for _, f := range []struct {
		flag, value string
		dst         *string
	}{
		{"serial", o.Serial, &m.Serial}, {"model", o.Model, &m.Model}, {"vendor", o.Vendor, &m.Manufacturer},
		{"wwn", o.WWN, &m.WWN}, {"path", o.Path, &m.Path},
	} {
		v := strings.TrimSpace(f.value)
		switch {
		case v == "":
		case *f.dst == "":
			*f.dst = v
		case *f.dst != v:
			return m, "", usageErrorf("--%s %q: %s names %q", f.flag, v, o.From, *f.dst)
		}
	}
	switch {
	case o.Size == 0:
	case m.SizeBytes == 0:
		m.SizeBytes = o.Size
	case m.SizeBytes != o.Size:
		return m, "", usageErrorf("--size %d: %s names %d bytes", o.Size, o.From, m.SizeBytes)
	}
	if m.Serial == "" && m.WWN == "" && m.Path == "" {
		return m, "", usageErrorf("name the drive: --from FILE, or --serial (with --model, --wwn, --size as known)")
	}
	return m, follows, nil
}

// fromInventory picks the drive from decom inventory -o json output: the one device,
// or the one --serial or --path names.
func (o certDestroyOptions) fromInventory(b []byte) (inventory.Device, error) {
	var list struct {
		Devices []inventory.Device `json:"devices"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&list); err != nil {
		return inventory.Device{}, errors.New("neither a certificate nor decom inventory -o json output")
	}
	if list.Devices == nil {
		var one inventory.Device
		if err := json.Unmarshal(b, &one); err != nil || one.Path == "" {
			return inventory.Device{}, errors.New("neither a certificate nor decom inventory -o json output")
		}
		list.Devices = []inventory.Device{one}
	}
	var found []inventory.Device
	for _, d := range list.Devices {
		if (o.Serial == "" || d.Serial == o.Serial) && (o.Path == "" || d.Path == o.Path) {
			found = append(found, d)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) == 0:
		return inventory.Device{}, errors.New("the inventory lists no such drive (--serial, --path)")
	}
	return inventory.Device{}, fmt.Errorf("the inventory lists %d drives: pick one with --serial or --path", len(found))
}

// evidenceFiles records each evidence file by name, size and SHA-256.
func evidenceFiles(paths []string) ([]certificates.EvidenceFile, error) {
	out := []certificates.EvidenceFile{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, badInputf("--evidence: %v", err)
		}
		h := sha256.New()
		n, err := io.Copy(h, f)
		f.Close()
		if err != nil {
			return nil, badInputf("--evidence %s: %v", p, err)
		}
		out = append(out, certificates.EvidenceFile{Name: filepath.Base(p), SHA256: hex.EncodeToString(h.Sum(nil)), SizeBytes: n})
	}
	return out, nil
}
