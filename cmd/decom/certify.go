package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/registry"
	"github.com/decom-project/decom/sanitize"
)

// certSigner turns wipe results into signed certificates on disk.
type certSigner struct {
	g       *globalOptions
	signer  signature.SignerVerifier
	details certificates.Details
	dir     string
	pdf     bool
	reg     *registry.Client

	host inventory.Host // the machine the drives are in, for every certificate of the run
	tool certificates.Tool
}

// newCertSigner checks the certificate settings and unlocks the signing key.
func newCertSigner(ctx context.Context, g *globalOptions, o certOptions, ro registryOptions) (*certSigner, error) {
	d, err := o.details()
	if err != nil {
		return nil, err
	}
	if o.Key == "" {
		return nil, usageErrorf("a signing key is needed for the certificate: --key, DECOM_KEY or key: in the config file (decom keys generate makes one); --no-certificate wipes without")
	}
	signer, err := certificates.LoadSigner(ctx, o.Key, func() ([]byte, error) {
		return g.passphrase("Passphrase for "+o.Key, false)
	})
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.CertDir, 0o755); err != nil {
		return nil, badInputf("certificate directory: %v", err)
	}
	v := currentVersion()
	s := &certSigner{g: g, signer: signer, details: d, dir: o.CertDir, pdf: o.PDF,
		host: inventory.ReadHost(inventory.Options{Root: g.SysRoot}),
		tool: certificates.Tool{Name: "decom", Version: v.Version, Commit: v.Commit}}
	if ro.URL != "" {
		if ro.Token == "" {
			return nil, usageErrorf("--registry needs --token (or DECOM_REGISTRY_TOKEN)")
		}
		s.reg = ro.client()
	}
	return s, nil
}

// certifyResult writes the signed certificate (or record) of one target's wipe,
// uploads it when a registry is set, and notes where in r. It is called for each
// target the moment that target is done, from the target's own goroutine.
func (s *certSigner) certifyResult(ctx context.Context, r *wipeResult, verifyMode string) error {
	if err := s.certifyOne(ctx, r, verifyMode); err != nil {
		s.g.log.Error().Str("device", r.Device).Err(err).Msg("certificate not written")
		return fmt.Errorf("%s: certificate not written: %w", r.Device, err)
	}
	return nil
}

// uploadGrace is how long a certificate's upload may still take once the run is
// interrupted: the certificate is on disk already, and decom cert push sends it later.
const uploadGrace = 10 * time.Second

// afterStop is a context that is not cancelled with ctx but ends grace after it.
func afterStop(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	c, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(grace, cancel) })
	return c, func() { stop(); cancel() }
}

func (s *certSigner) certifyOne(ctx context.Context, r *wipeResult, verifyMode string) error {
	c, err := sanitize.NewCertificate(sanitize.Evidence{Record: r.Record, Checks: r.Verification, VerifyMode: verifyMode,
		Host: s.host, Tool: s.tool}, s.details, time.Now())
	if err != nil {
		return err
	}
	// The evidence is signed whatever happens to the run meanwhile.
	bundle, err := certificates.Sign(context.WithoutCancel(ctx), s.signer, c)
	if err != nil {
		return err
	}
	base := certFileBase(c)
	path, err := certificates.WriteFileAtomic(s.dir, base+".sigstore.json", bundle, 0o644)
	if err != nil {
		return err
	}
	r.Certificate, r.CertificateID, r.CertificateStatus = path, c.ID, c.Status
	s.g.log.Info().Str("device", r.Device).Str("certificate", path).Str("status", c.Status).Msg("certificate written")
	if s.reg != nil {
		uctx, cancel := afterStop(ctx, uploadGrace)
		receipt, err := s.reg.UploadFile(uctx, path, 3)
		cancel()
		if err != nil {
			r.RegistryError = err.Error()
			s.g.log.Warn().Str("device", r.Device).Err(err).Msg("certificate not uploaded: it waits in the certificate directory for decom cert push")
		} else {
			r.RegistryReceipt = &receipt
			s.g.log.Info().Str("device", r.Device).Uint64("log_index", receipt.LogIndex).Msg("certificate uploaded to the registry")
		}
	}
	if !s.pdf {
		return nil
	}
	pub, err := s.signer.PublicKey()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := certificates.WritePDF(&buf, c, certificates.Fingerprint(pub), base+".sigstore.json"); err != nil {
		return err
	}
	r.CertificatePDF, err = certificates.WriteFileAtomic(s.dir, base+".pdf", buf.Bytes(), 0o644)
	return err
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// certFileBase names a certificate's files: the time, the media and the ID, so that
// a directory of them sorts by time and reads at a glance.
func certFileBase(c *certificates.Certificate) string {
	media := c.Media.Serial
	if media == "" {
		media = c.Media.Path
	}
	media = unsafeName.ReplaceAllString(media, "_")
	if len(media) > 64 {
		media = media[len(media)-64:]
	}
	return fmt.Sprintf("%s_%s_%s", c.Issued.UTC().Format("20060102T150405Z"), media, c.ID)
}
