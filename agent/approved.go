package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/wipe"
)

// An approved plan (decom.plan=, or the config's boot: plan:) makes auto mode wipe
// exactly what a person reviewed, by package sanitize's rule: this host's section
// of the plan names the targets and the method; when what the run plans now differs
// from it in anything (a drive missing, added or changed, another host) nothing is
// wiped and every difference is shown. The countdown stays: a person at the
// console can still stop the run.

// dataPrefix marks a plan path on the data partition.
const dataPrefix = "/data/"

// validPlanPath accepts what can name a plan file: a clean absolute path.
func validPlanPath(p string) bool {
	return path.IsAbs(p) && path.Clean(p) == p && p != "/" && !strings.ContainsAny(p, "\x00")
}

// planPath is the plan auto mode follows: decom.plan=, else the config's boot: plan:;
// "" for none.
func (a *agent) planPath() string {
	if a.cmd.Plan != "" {
		return a.cmd.Plan
	}
	return a.cfg.Plan
}

// approvedRun is this host's section of the approved plan, with the file's digest.
type approvedRun struct {
	section sanitize.HostPlan
	host    inventory.Host
	write   wipe.PassPlan
	job     string // the plan file's job, "" for none
	sha256  string
}

// planFile is the file a plan path names: below /data on the data partition,
// anything else in the initramfs.
func (a *agent) planFile(p string) (string, error) {
	if rel, ok := strings.CutPrefix(p, dataPrefix); ok {
		if a.data == nil {
			return "", errors.New("it is on the data partition, which is not mounted")
		}
		return filepath.Join(a.dataMount, filepath.FromSlash(rel)), nil
	}
	return a.path(filepath.FromSlash(p)), nil
}

// loadPlan reads the approved plan and picks this host's section. A plan that
// cannot be read or parsed, is for another host, or whose method decom.method=
// contradicts, is an error: nothing is wiped.
func (a *agent) loadPlan(p string) (*approvedRun, error) {
	file, err := a.planFile(p)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	f, err := sanitize.ParsePlan(data)
	if err != nil {
		return nil, err
	}
	host := inventory.ReadHost(inventory.Options{Root: a.o.Root})
	section, err := f.ForHost(host)
	if err != nil {
		return nil, err
	}
	w, err := section.PassPlan()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", sanitize.ErrBadPlan, err)
	}
	if m := a.cmd.Method; m != "" && (m != w.Method.Name || section.Targets[0].Method.Passes != "") {
		return nil, fmt.Errorf("decom.method=%s contradicts the plan's method %s: leave it out", m, w.Method.Name)
	}
	sum := sha256.Sum256(data)
	return &approvedRun{section: section, host: host, write: w, job: f.Job, sha256: hex.EncodeToString(sum[:])}, nil
}

// autoApproved is auto mode with an approved plan: it shows the plan, counts down
// and wipes the plan's targets with its method, or nothing when the plan cannot be
// used or the machine differs from it.
func (a *agent) autoApproved(ctx context.Context) error {
	p := a.planPath()
	devs, err := a.listDrives(ctx)
	if err != nil {
		return err
	}
	run, err := a.loadPlan(p)
	if err != nil {
		a.skipAll(devs, "not wiped: the approved plan cannot be used")
		if errors.Is(err, wipe.ErrRefused) { // says "nothing was written" already
			return fmt.Errorf("approved plan %s: %w", p, err)
		}
		return fmt.Errorf("approved plan %s: %w: nothing wiped", p, err)
	}
	approved := run.section.Paths()
	var inPlan, others []inventory.Device
	for _, d := range devs {
		if run.section.All || slices.Contains(approved, d.Path) {
			inPlan = append(inPlan, d)
			continue
		}
		a.out.Printf("drive %s: %s: not in the approved plan: not wiped", d.Path, describe(d))
		others = append(others, d)
	}
	if note, err := a.mayWipe(); err != nil {
		a.addSkipped(skipReason(others, "not in the approved plan"))
		a.skipAll(inPlan, "not wiped: "+note)
		return err
	}
	if a.ramOnly() && len(inPlan) > 0 {
		// No writable medium (kexec): the registry must take the certificates.
		if note, err := a.needRegistry(ctx); err != nil {
			a.addSkipped(skipReason(others, "not in the approved plan"))
			a.skipAll(inPlan, "not wiped: "+note)
			return err
		}
	}
	a.showApproved(p, run)
	a.screenApproved(p, run, others)
	keyed, err := a.countdown(ctx, a.countdownTime())
	if err != nil {
		a.skipAll(devs, "not wiped: interrupted during the countdown")
		return fmt.Errorf("countdown: %w: nothing wiped", err)
	}
	if keyed {
		a.out.Printf("key pressed: switching to interactive mode (the approved plan is not followed)")
		return a.switchToInteractive(ctx)
	}
	a.addSkipped(skipReason(others, "not in the approved plan"))
	return a.wipeApproved(ctx, run)
}

// listDrives lists the machine's drives, as the inventory sees them.
func (a *agent) listDrives(ctx context.Context) ([]inventory.Device, error) {
	devs, err := a.scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	// Whether this boot has a medium to keep certificates on (ramOnly).
	a.bootMedia, a.drivesListed = FindBootMedia(a.o.Root, a.allData), true
	return devs, nil
}

func skipReason(devs []inventory.Device, why string) []Skipped {
	out := make([]Skipped, len(devs))
	for i, d := range devs {
		out[i] = Skipped{Device: d, Reason: why}
	}
	return out
}

// showApproved says what the approved plan asks.
func (a *agent) showApproved(p string, run *approvedRun) {
	a.out.Printf("approved plan %s (sha256 %s): the section of %s, %d targets, method %s",
		p, run.sha256, hostLine(run.section.Host), len(run.section.Targets), run.write.Method.Name)
	if run.section.All {
		a.out.Printf("  every drive --all takes (a drive added since the plan refuses the run)")
	}
	for _, t := range run.section.Targets {
		a.out.Printf("  %-14s %-20s %s, %s", t.Path, dash(t.Serial), dash(t.Model), size(t.SizeBytes))
	}
}

func hostLine(h inventory.Host) string {
	return fmt.Sprintf("hostname %s, DMI serial %s, UUID %s", dash(h.Hostname), dash(h.SystemSerial), dash(h.SystemUUID))
}

// wipeApproved runs the approved section through package sanitize, whose
// confirmation (sanitize.Approve) refuses the whole run on any drift.
func (a *agent) wipeApproved(ctx context.Context, run *approvedRun) error {
	var planned []inventory.Device
	for _, t := range run.section.Targets {
		planned = append(planned, inventory.Device{Path: t.Path, Serial: t.Serial, Model: t.Model, SizeBytes: t.SizeBytes})
	}
	opts, note, err := a.begin(ctx)
	if err != nil {
		a.skipAll(planned, note)
		return err
	}
	opts.Method, opts.Rounds, opts.Blank = run.write.Method, run.write.Rounds, run.write.Blank
	if opts.Certify != nil {
		// As decom wipe --approved: the plan's digest, and its job over the config's.
		c := *opts.Certify
		c.ApprovedPlan = run.sha256
		if run.job != "" {
			c.Job = run.job
		}
		opts.Certify = &c
	}
	opts.All, opts.IncludeRemovable, opts.Targets = run.section.All, run.section.IncludeRemovable, nil
	if !opts.All {
		opts.Targets = run.section.Paths()
	}
	opts.Confirm = sanitize.Approve(run.section, run.host, run.write)
	refused := map[string]string{}
	opts.Events = func(ev sanitize.Event) { a.event(ev, refused) }
	a.out.Printf("wiping as approved, in parallel, with %s, verification %s", opts.Method.Name, opts.Verify.Mode)
	sanitizeRun := a.o.Sanitize
	if sanitizeRun == nil {
		sanitizeRun = sanitize.Run
	}
	results, err := sanitizeRun(ctx, opts)
	err = sanitize.MissingTarget(err, run.section)
	var de *sanitize.DriftError
	if errors.As(err, &de) {
		for _, d := range de.Drifts {
			a.out.Printf("drift: %s", d)
		}
		a.problem("approved plan: the machine differs from it in %d ways (the drift lines above): nothing wiped", len(de.Drifts))
	}
	a.runFailed(err)
	got := a.record(results)
	why := "no result"
	if err != nil {
		why = err.Error()
	}
	for _, d := range planned {
		if !got[d.Path] {
			a.addSkipped([]Skipped{{Device: d, Reason: "not wiped: " + why}})
		}
	}
	if err != nil {
		return fmt.Errorf("wipe: %w", err)
	}
	return nil
}
