package sanitize

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/registry"
)

// Certifier turns a run's results into signed certificates on disk, and sends them
// to a registry when there is one. A run without a Certifier writes no certificate.
type Certifier struct {
	Signer  signature.SignerVerifier
	Details certificates.Details
	// Dir is where the certificates (and their PDFs and receipts) are written; it
	// must exist.
	Dir string
	PDF bool
	// Registry, when not nil, receives each certificate as soon as it is written;
	// one it cannot take waits in Dir for decom cert push.
	Registry *registry.Client
	// Host is the machine the drives are in; the run reads it when it is zero.
	Host inventory.Host
	Tool certificates.Tool
	// ApprovedPlan is the SHA-256 (hex) of the approved plan file the run follows,
	// stated in every certificate; "" for none.
	ApprovedPlan string
	// Job is the job stated in every certificate (certificates.ValidJob); "" for none.
	Job string
}

// UploadAttempts is how often a certificate's upload is tried before it is left in
// the certificate directory.
const UploadAttempts = 3

// uploadGrace is how long a certificate's upload may still take once the run is
// interrupted: the certificate is on disk already, and decom cert push sends it later.
const uploadGrace = 10 * time.Second

// afterStop is a context that is not cancelled with ctx but ends grace after it.
func afterStop(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	c, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(grace, cancel) })
	return c, func() { stop(); cancel() }
}

// certify writes the signed certificate (or record) of one target's result,
// uploads it when a registry is set, and notes where in r. It is called for each
// target the moment that target is done, from the target's own goroutine.
func (s *Certifier) certify(ctx context.Context, r *Result, verifyMode string, log *slog.Logger, emit func(Event)) error {
	c, err := NewCertificate(Evidence{Record: r.Record, Checks: r.Verification, VerifyMode: verifyMode,
		Host: s.Host, Tool: s.Tool, ApprovedPlan: s.ApprovedPlan, Job: s.Job}, s.Details, time.Now())
	if err != nil {
		return err
	}
	// The evidence is signed whatever happens to the run meanwhile.
	bundle, err := certificates.Sign(context.WithoutCancel(ctx), s.Signer, c)
	if err != nil {
		return err
	}
	base := FileBase(c)
	path, err := certificates.WriteFileAtomic(s.Dir, base+".sigstore.json", bundle, 0o644)
	if err != nil {
		return err
	}
	r.Certificate, r.CertificateID, r.CertificateStatus = path, c.ID, c.Status
	log.Info("certificate written", "device", r.Device, "certificate", path, "status", c.Status)
	emit(&CertificateWritten{Device: r.Device, Path: path, ID: c.ID, Status: c.Status})
	if s.Registry != nil {
		uctx, cancel := afterStop(ctx, uploadGrace)
		receipt, err := s.Registry.UploadFile(uctx, path, UploadAttempts)
		cancel()
		if err != nil {
			r.RegistryError = err.Error()
			log.Warn("certificate not uploaded: it waits in the certificate directory for decom cert push", "device", r.Device, "err", err)
		} else {
			r.RegistryReceipt = &receipt
			log.Info("certificate uploaded to the registry", "device", r.Device, "log_index", receipt.LogIndex)
		}
		emit(&Uploaded{Device: r.Device, Certificate: path, Receipt: r.RegistryReceipt, Err: err})
	}
	if !s.PDF {
		return nil
	}
	pub, err := s.Signer.PublicKey()
	if err != nil {
		return err
	}
	// The QR code leads to the certificate's page only on a registry that
	// acknowledged holding it.
	page := ""
	if r.RegistryReceipt != nil {
		page = registry.CertificatePage(s.Registry.URL, c.ID)
	}
	var buf bytes.Buffer
	if err := certificates.WritePDF(&buf, c, certificates.Fingerprint(pub), base+".sigstore.json", page); err != nil {
		return err
	}
	r.CertificatePDF, err = certificates.WriteFileAtomic(s.Dir, base+".pdf", buf.Bytes(), 0o644)
	return err
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// FileBase names a certificate's files: the time, the media and the ID, so that a
// directory of them sorts by time and reads at a glance.
func FileBase(c *certificates.Certificate) string {
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
