package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/wipe"
)

// WipeRequest is what the agent decided for a run, for Options.Prepare to turn into
// the run's options with decom's own config loader and rules: the method and
// verification the kernel command line asks for (else the config file's), where the
// certificates go, the key and registry to use.
type WipeRequest struct {
	// ConfigPath is the config file; "" means decom's default.
	ConfigPath string
	// Method and Verify are the kernel command line's decom.method= and
	// decom.verify=; "" leaves the config file's (or decom's default).
	Method, Verify string
	CertDir        string
	// JournalDir is where each wipe's journal is kept, so that a wipe cut off by a
	// power loss can be resumed at the next boot: the certificate directory on the
	// data partition; "" (no journal) without a writable data partition.
	JournalDir string
	PDF        bool
	// Key is the signing key, a key on the data partition made absolute; "" leaves
	// the config file's.
	Key string
	// Passphrase unlocks an encrypted key (from the data partition's
	// key-passphrase file or typed at the console); nil when none was needed or
	// DECOM_KEY_PASSWORD gives it.
	Passphrase []byte
	// Registry receives the certificates; "" sends them nowhere (no network, or
	// none configured). RegistryCA, when set, is a PEM file of the certificate
	// authorities the registry's TLS certificate is checked against.
	Registry   string
	RegistryCA string
	// Log receives the run's log lines (decom's console format); Debug adds the
	// debug ones.
	Log   io.Writer
	Debug bool
}

// request is the WipeRequest of this boot.
func (a *agent) request(passphrase []byte) WipeRequest {
	r := WipeRequest{ConfigPath: a.configPath, Method: a.cmd.Method, Verify: a.cmd.Verify, CertDir: a.certDir(),
		JournalDir: a.journalDir(), PDF: a.cfg.PDF == nil || *a.cfg.PDF, Passphrase: passphrase, Log: a.out, Debug: a.cmd.Debug}
	// A key named relative to the config file is on the data partition.
	if k := a.cfg.Key; k != "" && !filepath.IsAbs(k) && !strings.Contains(k, "://") && a.data != nil {
		r.Key = filepath.Join(a.dataMount, k)
	}
	if a.keyFile != "" {
		r.Key = a.keyFile // fetched by URL (a network boot)
	}
	if a.registry != "" && a.network {
		r.Registry = a.registry // without a network an upload could only fail
	}
	if ca := filepath.Join(a.dataMount, caFileRel); a.data != nil && a.o.Boot {
		if _, err := os.Stat(ca); err == nil {
			r.RegistryCA = ca
		}
	}
	return r
}

// begin prepares the runs of this boot, once: the summary's certificate lines, the
// certificate directory, the signing key's passphrase, the JSON-lines log and the
// run's options. When that fails, note says why for the drives' summary lines.
func (a *agent) begin(ctx context.Context) (opts sanitize.Options, note string, err error) {
	if a.prepared != nil {
		return *a.prepared, a.prepareNote, a.prepareErr
	}
	opts, note, err = a.prepare(ctx)
	a.prepared, a.prepareNote, a.prepareErr = &opts, note, err
	return opts, note, err
}

func (a *agent) prepare(ctx context.Context) (sanitize.Options, string, error) {
	a.summary.CertDir = a.display(a.certDir())
	a.summary.OnData = a.data != nil
	if a.data != nil {
		a.summary.DataDev = "/dev/" + a.data.Name
	}
	if a.network {
		a.summary.Registry = a.registry
	}
	if err := os.MkdirAll(a.certDir(), 0o755); err != nil {
		return sanitize.Options{}, "not wiped: " + err.Error(), err
	}
	pass, err := a.unlockKey(ctx)
	if err != nil {
		return sanitize.Options{}, "not wiped: no passphrase for the signing key", err
	}
	if a.data != nil {
		if f, err := os.Create(filepath.Join(a.dataMount, "logs", "decom-"+a.stamp+".jsonl")); err == nil {
			a.jsonLog = f // closed by finish
		}
	}
	opts, err := a.o.Prepare(ctx, a.request(pass))
	clear(pass)
	if err != nil {
		return sanitize.Options{}, "not wiped: " + err.Error(), err
	}
	return opts, "", nil
}

// wipe sanitizes the targets, in parallel, through package sanitize, and adds the
// results to the summary. restart starts afresh on targets whose journal records an
// interrupted wipe (chosen so at the console).
func (a *agent) wipe(ctx context.Context, targets []inventory.Device, restart bool) error {
	opts, note, err := a.begin(ctx)
	if err != nil {
		a.skipAll(targets, note)
		return err
	}
	opts.Restart = restart
	devices := make([]string, len(targets))
	for i, d := range targets {
		devices[i] = d.Path
	}
	a.out.Printf("wiping %d drives in parallel with %s, verification %s: %s", len(devices), opts.Method.Name,
		opts.Verify.Mode, strings.Join(devices, " "))
	results, refused, err := a.sanitize(ctx, opts, devices)
	if errors.Is(err, wipe.ErrRefused) && len(results) == 0 && len(refused) > 0 && len(refused) < len(devices) {
		// The gate refused some drives (busy since the inventory, say) and so wrote
		// nothing at all: wipe the others.
		var rest []string
		for _, d := range devices {
			if why, ok := refused[d]; ok {
				a.out.Printf("drive %s: refused: %s", d, why)
			} else {
				rest = append(rest, d)
			}
		}
		for _, d := range targets {
			if why, ok := refused[d.Path]; ok {
				a.addSkipped([]Skipped{{Device: d, Reason: "refused: " + why}})
			}
		}
		a.out.Printf("wiping the %d others", len(rest))
		devices = rest
		results, refused, err = a.sanitize(ctx, opts, devices)
	}
	a.runFailed(err)
	got := a.record(results)
	var missing []inventory.Device
	for _, d := range targets {
		if _, isRefused := refused[d.Path]; !got[d.Path] && !isRefused && slices.Contains(devices, d.Path) {
			missing = append(missing, d)
		}
	}
	if len(missing) > 0 {
		why := "no result"
		if err != nil {
			why = err.Error()
		}
		a.skipAll(missing, "not wiped: "+why)
	}
	if err != nil {
		return fmt.Errorf("wipe: %w", err)
	}
	return nil
}

// runFailed keeps the first failed run's error: Run returns it.
func (a *agent) runFailed(err error) {
	if err != nil && a.wipeErr == nil {
		a.wipeErr = err
	}
}

// record adds a run's results to the summary and returns their devices.
func (a *agent) record(results []sanitize.Result) map[string]bool {
	got := map[string]bool{}
	for _, r := range results {
		got[r.Device] = true
		a.summary.Drives = append(a.summary.Drives, driveResult(r))
	}
	return got
}

// sanitize runs one sanitization of devices, showing its events on the console; it
// returns the results and the devices the gate refused, with why.
func (a *agent) sanitize(ctx context.Context, opts sanitize.Options, devices []string) ([]sanitize.Result, map[string]string, error) {
	refused := map[string]string{}
	opts.Targets, opts.All, opts.Confirm = devices, false, nil // the countdown or the console confirmed them
	opts.Events = func(ev sanitize.Event) { a.event(ev, refused) }
	ctx, done := a.screenRun(ctx, opts) // the run screen, when the console shows it
	defer done()
	run := a.o.Sanitize
	if run == nil {
		run = sanitize.Run
	}
	results, err := run(ctx, opts)
	return results, refused, err
}

// event shows one event of a run on the console, and keeps each record in the data
// partition's JSON-lines log.
func (a *agent) event(ev sanitize.Event, refused map[string]string) {
	a.screenEvent(ev)
	switch ev := ev.(type) {
	case *sanitize.Planned:
		for _, p := range ev.Plans {
			if p.Refusal != nil {
				refused[p.Target.Path] = strings.Join(sanitize.RefusalReasons(p.Refusal), "; ")
			}
		}
	case *sanitize.Progress:
		now := a.clk.Now()
		if ev.Final || now.Sub(a.progressAt[ev.Device]) >= 15*time.Second {
			a.progressAt[ev.Device] = now
			a.out.Printf("%s", progressText(ev.Event))
		}
	case *sanitize.Finished:
		if a.jsonLog != nil {
			if b, err := json.Marshal(struct {
				Type string `json:"type"`
				sanitize.Result
			}{"record", ev.Result}); err == nil {
				a.jsonLog.Write(append(b, '\n'))
			}
		}
		d := driveResult(ev.Result)
		a.out.Printf("drive %s: %s, verified %s, certificate %s%s", d.Device, d.Outcome, d.Verified,
			dash(a.display(d.Certificate)), resumedAfter(d.Interruptions))
	}
}

// progressText is the console's line for a progress event.
func progressText(ev wipe.Event) string {
	pct := 0.0
	if ev.Size > 0 {
		pct = 100 * float64(ev.Done) / float64(ev.Size)
	}
	eta := "-"
	if ev.ETA > 0 {
		eta = (time.Duration(ev.ETA) * time.Second).String()
	}
	return fmt.Sprintf("progress %s pass %d/%d (%s) %.1f%% %s/s ETA %s", ev.Device, ev.Pass, ev.Passes, ev.Pattern, pct,
		size(uint64(ev.Rate)), eta)
}

// driveResult turns a run's result into a summary line.
func driveResult(r sanitize.Result) DriveResult {
	d := DriveResult{Device: r.Device, Serial: r.Identity.Serial, Model: r.Identity.Model, Size: r.Identity.SizeBytes,
		Outcome: r.Outcome, Sanitization: r.SanitizationOutcome, Certificate: r.Certificate, PDF: r.CertificatePDF,
		Uploaded: r.RegistryReceipt != nil, UploadError: r.RegistryError, Note: r.Error,
		Interruptions: len(r.Interruptions)}
	d.Verified = r.VerificationBrief()
	if d.Note == "" && d.Certificate != "" && r.RegistryError != "" {
		d.Note = "not uploaded"
	}
	return d
}

// unlockKey finds the signing key's passphrase when the key is encrypted: from
// DECOM_KEY_PASSWORD (then nil: the run reads it there), else the data partition's
// key-passphrase file, else asked at the console.
func (a *agent) unlockKey(ctx context.Context) ([]byte, error) {
	key := a.cfg.Key
	if a.keyFile != "" {
		key = a.keyFile
	}
	if key == "" || strings.Contains(key, "://") {
		return nil, nil
	}
	if !filepath.IsAbs(key) && a.data != nil {
		key = filepath.Join(a.dataMount, key)
	}
	b, err := os.ReadFile(key)
	if err != nil || !strings.Contains(string(b), "ENCRYPTED") {
		return nil, nil // the run says what is wrong with it
	}
	if _, ok := os.LookupEnv("DECOM_KEY_PASSWORD"); ok {
		return nil, nil
	}
	var pass string
	// The data partition's passphrase file, else the one decom kexec packed into
	// the initramfs (which is in RAM only).
	files := [][2]string{{a.path(PassphraseFile), PassphraseFile}}
	if a.data != nil {
		files = append([][2]string{{filepath.Join(a.dataMount, passphraseRel), "/data/" + passphraseRel}}, files...)
	}
	for _, f := range files {
		b, err := os.ReadFile(f[0])
		if err != nil {
			continue
		}
		pass, _, _ = strings.Cut(string(b), "\n")
		pass = strings.TrimSuffix(pass, "\r")
		if pass != "" {
			a.out.Printf("signing key: passphrase from %s", f[1])
			break
		}
		a.out.Printf("signing key: %s is empty: ignored", f[1])
	}
	if pass == "" {
		wait := 5 * time.Minute
		a.out.Printf("the signing key %s is encrypted: type its passphrase and press Enter (within %v; nothing is wiped without it):", a.display(key), wait)
		qctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		p, err := a.input.ReadSecret(qctx)
		if err != nil {
			return nil, fmt.Errorf("no passphrase for the signing key (%v): nothing wiped; put it in /data/%s or use a key without one", err, passphraseRel)
		}
		if p == "" {
			// decom refuses to make keys with an empty passphrase; an empty answer
			// is no answer, not a way into one made elsewhere.
			return nil, fmt.Errorf("no passphrase for the signing key (an empty one was typed): nothing wiped; put it in /data/%s or use a key without one", passphraseRel)
		}
		pass = p
	}
	return []byte(pass), nil
}
