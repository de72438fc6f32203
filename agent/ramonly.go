package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/decom-project/decom/registry"
)

// Without a writable medium the registry is the certificates' only home. A network
// boot or a kexec has no DECOM-DATA partition and no boot medium the technician
// carries away: certificates are written to /run/decom, in RAM, and are lost at power
// off unless the registry has them. So, on such a boot (ramOnly):
//
//   - nothing is wiped unless a registry is configured, the network is up and the
//     registry answers (needRegistry);
//   - a certificate whose upload failed is sent again with a growing pause between
//     tries (retryUploads, bounded: uploadRetries tries, at most maxUploadPause apart);
//   - the machine is not powered off while a certificate is only in RAM: the agent says
//     so on the console and keeps trying (holdForUploads), then powers off.
//
// An ISO boot, which has a boot medium but no DECOM-DATA partition, keeps its older
// rule: the certificates stay in RAM with a warning in the summary.

// Retries of the uploads on a boot without a writable medium.
const (
	uploadRetries   = 6
	firstUploadWait = 5 * time.Second
	maxUploadPause  = 2 * time.Minute
	holdUploadPause = 5 * time.Minute
	registryProbe   = 30 * time.Second
)

// ramOnly reports whether this boot keeps certificates in RAM only: no writable
// DECOM-DATA partition and no boot medium (a network boot or a kexec). It is known
// once the drives are listed.
func (a *agent) ramOnly() bool {
	return a.drivesListed && a.data == nil && len(a.allData) == 0 && len(a.bootMedia) == 0
}

// needRegistry refuses to wipe, on a boot without a writable medium, unless the
// registry is configured, the network is up and the registry answers.
func (a *agent) needRegistry(ctx context.Context) (note string, err error) {
	const why = "no writable medium (no DECOM-DATA partition: a network boot or kexec), so the certificates would exist only in RAM and be lost at power off"
	switch {
	case a.registry == "":
		return "no registry for the certificates (see above)", fmt.Errorf("nothing wiped: %s, and no registry is configured (registry: and registry_token: in the config)", why)
	case !a.network:
		return "the registry cannot be reached (see above)", fmt.Errorf("nothing wiped: %s, and the registry %s cannot be reached: no network", why, a.registry)
	}
	opts, note, err := a.begin(ctx)
	if err != nil {
		return note, err
	}
	if opts.Certify == nil || opts.Certify.Registry == nil {
		return "no registry for the certificates (see above)", fmt.Errorf("nothing wiped: %s, and the run has no registry to upload to", why)
	}
	pctx, cancel := context.WithTimeout(ctx, registryProbe)
	defer cancel()
	if _, err := opts.Certify.Registry.LogKey(pctx); err != nil {
		return "the registry does not answer (see above)", fmt.Errorf("nothing wiped: %s, and the registry %s does not answer: %v", why, a.registry, err)
	}
	a.out.Printf("registry %s answers: the certificates go there (no writable medium: they are in RAM until it has them)", a.registry)
	return "", nil
}

// pendingInRAM are the summary's drives whose certificate is only in RAM: written,
// not uploaded, on a boot without a writable medium.
func (a *agent) pendingInRAM() []*DriveResult {
	if !a.ramOnly() {
		return nil
	}
	var p []*DriveResult
	for i := range a.summary.Drives {
		if d := &a.summary.Drives[i]; d.Certificate != "" && !d.Uploaded {
			p = append(p, d)
		}
	}
	return p
}

// uploadClient is the registry client of this boot's runs, nil without one.
func (a *agent) uploadClient() *registry.Client {
	if a.prepared == nil || a.prepared.Certify == nil {
		return nil
	}
	return a.prepared.Certify.Registry
}

// retryUploads sends the certificates that are only in RAM again, up to tries times
// each, pausing between rounds (from firstUploadWait, doubling, at most
// maxUploadPause). It fails when some are still not uploaded.
func (a *agent) retryUploads(ctx context.Context, tries int, pause time.Duration) error {
	pending := a.pendingInRAM()
	if len(pending) == 0 {
		return nil
	}
	c := a.uploadClient()
	if c == nil {
		return fmt.Errorf("%d certificates are only in RAM and there is no registry to send them to", len(pending))
	}
	a.out.Printf("registry: %d certificates not uploaded and only in RAM: trying again", len(pending))
	var last error
	for i := 1; i <= tries && len(pending) > 0; i++ {
		if err := a.clk.Sleep(ctx, pause); err != nil {
			last = err
			break
		}
		pause = min(2*pause, maxUploadPause)
		var still []*DriveResult
		for _, d := range pending {
			if _, err := c.UploadFile(ctx, d.Certificate, 1); err != nil {
				last = err
				still = append(still, d)
				a.out.Printf("drive %s: certificate not uploaded (try %d of %d): %v", d.Device, i, tries, err)
				continue
			}
			d.Uploaded, d.UploadError = true, ""
			if d.Note == "not uploaded" {
				d.Note = ""
			}
			a.out.Printf("drive %s: certificate uploaded to %s", d.Device, c.URL)
		}
		pending = still
	}
	if len(pending) > 0 {
		return fmt.Errorf("%d certificates are only in RAM (%s) and not in the registry %s (%v): the machine is not powered off until they are",
			len(pending), a.display(a.certDir()), c.URL, last)
	}
	return nil
}

// holdForUploads keeps the machine on while certificates are only in RAM, saying so on
// the console and trying the uploads again every holdUploadPause, until they are all
// uploaded or ctx ends. It reports whether none is left.
func (a *agent) holdForUploads(ctx context.Context) bool {
	for {
		pending := a.pendingInRAM()
		if len(pending) == 0 {
			return true
		}
		if a.uploadClient() == nil {
			a.out.Printf("NOT powering off: %d certificates exist only in RAM (%s) and there is no registry to send them to",
				len(pending), a.display(a.certDir()))
			return false
		}
		a.out.Printf("NOT powering off: %d certificates exist only in RAM (%s) and are not in the registry: trying again every %v; the machine powers off once they are uploaded",
			len(pending), a.display(a.certDir()), holdUploadPause)
		err := a.retryUploads(ctx, 1, holdUploadPause)
		if err == nil {
			a.out.Printf("registry: every certificate uploaded")
			return true
		}
		if ctx.Err() != nil {
			return false
		}
	}
}
