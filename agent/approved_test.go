package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/wipe"
)

const (
	planSerial = "CZJ1234XYZ"
	planUUID   = "4c4c4544-0042-3510-8052-b4c04f4e5331"
)

// approvedFake plays sanitize.Run for a run of an approved plan: it plans each target
// with the identity the machine has now (a path it does not know is a missing device),
// asks the run's confirmation as sanitize.Run does, and wipes only when that approves.
type approvedFake struct {
	t      *testing.T
	now    map[string]wipe.Identity
	called []sanitize.Options
}

func (f *approvedFake) sanitize(ctx context.Context, o sanitize.Options) ([]sanitize.Result, error) {
	f.called = append(f.called, o)
	if o.Confirm == nil {
		f.t.Fatalf("a run of an approved plan without its confirmation")
	}
	var plans []sanitize.Plan
	for _, p := range o.Targets {
		id, ok := f.now[p]
		if !ok {
			return nil, &sanitize.TargetError{Path: p, Err: inventory.ErrNotFound}
		}
		plans = append(plans, sanitize.Plan{Target: wipe.Target{Path: p, Kind: wipe.KindDrive, Identity: id}})
	}
	o.Events(&sanitize.Planned{Plans: plans})
	approved, err := o.Confirm(ctx, plans)
	if err != nil {
		return nil, err
	}
	var results []sanitize.Result
	for _, p := range approved {
		r := sanitize.Result{Record: wipe.Record{Device: p.Target.Path, Outcome: "completed", Identity: p.Target.Identity},
			SanitizationOutcome: "sanitized", Verified: true}
		o.Events(&sanitize.Finished{Result: r})
		results = append(results, r)
	}
	return results, nil
}

// approvedTargets are the plan's two drives of the fake machine, as it has them.
var approvedTargets = map[string]wipe.Identity{
	"/dev/vdb":     {Serial: "vm-data-0002", Model: "virtio", SizeBytes: 512 << 20},
	"/dev/nvme0n1": {Serial: "NVME0001", Model: "QEMU NVMe Ctrl", SizeBytes: 1 << 30},
}

// writePlan writes a plan file for the host (serial, uuid) that approves targets
// with method zero, and returns its SHA-256.
func writePlan(t *testing.T, path, serial, uuid string, targets map[string]wipe.Identity) string {
	t.Helper()
	return writeJobPlan(t, path, "", serial, uuid, targets)
}

// writeJobPlan is writePlan with the plan file's job.
func writeJobPlan(t *testing.T, path, job, serial, uuid string, targets map[string]wipe.Identity) string {
	t.Helper()
	hp := sanitize.HostPlan{Host: inventory.Host{SystemSerial: serial, SystemUUID: uuid}, Created: time.Now().UTC()}
	for _, p := range []string{"/dev/vdb", "/dev/nvme0n1"} {
		id, ok := targets[p]
		if !ok {
			continue
		}
		hp.Targets = append(hp.Targets, sanitize.ApprovedTarget{Path: p, Kind: wipe.KindDrive, Serial: id.Serial,
			Model: id.Model, SizeBytes: id.SizeBytes, Method: sanitize.ApprovedMethod{Name: "zero", Rounds: 1}})
	}
	b, err := sanitize.PlanFile{Format: sanitize.PlanFormat, Job: job, Hosts: []sanitize.HostPlan{hp}}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// approvedEnv is the fake machine with DMI identity, the plan's sanitization fake and a
// prepare that gives the run a certifier.
func approvedEnv(t *testing.T) (*runEnv, *approvedFake) {
	e := newRunEnv(t)
	setDMI(t, e.root, planSerial, planUUID)
	e.cfg.Countdown = intp(0)
	fake := &approvedFake{t: t, now: map[string]wipe.Identity{}}
	for k, v := range approvedTargets {
		fake.now[k] = v
	}
	return e, fake
}

func (e *runEnv) approvedOptions(cmdline string, fake *approvedFake) Options {
	o := e.options(cmdline)
	o.Sanitize = fake.sanitize
	o.Prepare = func(ctx context.Context, r WipeRequest) (sanitize.Options, error) {
		so, err := e.cli.prepare(ctx, r)
		so.Certify = &sanitize.Certifier{Dir: r.CertDir}
		return so, err
	}
	return o
}

// The agent wipes exactly the plan's targets, with the plan's method (over the
// config's dod-3), and each certificate states the plan's SHA-256; the other drives
// are not wiped and the summary says why.
func TestRunApprovedPlan(t *testing.T) {
	e, fake := approvedEnv(t)
	sum := writeJobPlan(t, filepath.Join(e.root, "data", "plan.json"), "rack-42", planSerial, planUUID, approvedTargets)
	if err := e.run(t, e.approvedOptions("decom.mode=auto decom.plan=/data/plan.json", fake)); err != nil {
		t.Errorf("Run: %v", err)
	}
	if len(fake.called) != 1 {
		t.Fatalf("%d sanitizations, want 1", len(fake.called))
	}
	o := fake.called[0]
	if !reflect.DeepEqual(o.Targets, []string{"/dev/vdb", "/dev/nvme0n1"}) || o.All || o.Method.Name != "zero" || o.Rounds != 1 {
		t.Errorf("run: targets %q, all %v, method %s rounds %d", o.Targets, o.All, o.Method.Name, o.Rounds)
	}
	if o.Certify == nil || o.Certify.ApprovedPlan != sum || o.Certify.Job != "rack-42" {
		t.Errorf("certificates state plan %+v, want %s and job rack-42", o.Certify, sum)
	}
	contains(t, "console", e.console.String(),
		"decom: approved plan /data/plan.json (sha256 "+sum+"): the section of hostname -, DMI serial CZJ1234XYZ, UUID "+planUUID+", 2 targets, method zero\n",
		"decom: drive /dev/sdb: ",
		": not in the approved plan: not wiped\n",
		"decom: result: 2 sanitized, 0 with exceptions, 0 failed, 5 not wiped\n")
}

// A drive that differs from the plan (here its serial), or is missing, refuses the
// whole run: nothing is wiped, every difference is shown, and Run's error is a
// refusal.
func TestRunApprovedPlanDrift(t *testing.T) {
	for name, change := range map[string]func(map[string]wipe.Identity){
		"serial": func(m map[string]wipe.Identity) {
			m["/dev/vdb"] = wipe.Identity{Serial: "swapped", Model: "virtio", SizeBytes: 512 << 20}
		},
		"missing": func(m map[string]wipe.Identity) { delete(m, "/dev/nvme0n1") },
	} {
		t.Run(name, func(t *testing.T) {
			e, fake := approvedEnv(t)
			writePlan(t, filepath.Join(e.root, "data", "plan.json"), planSerial, planUUID, approvedTargets)
			change(fake.now)
			err := e.run(t, e.approvedOptions("decom.mode=auto decom.plan=/data/plan.json", fake))
			if !errors.Is(err, wipe.ErrRefused) {
				t.Errorf("Run: %v, want a refusal", err)
			}
			con := e.console.String()
			want := `decom: drift: /dev/vdb: serial: approved "vm-data-0002", now "swapped"` + "\n"
			if name == "missing" {
				want = "decom: drift: /dev/nvme0n1: approved, but not in this run's plan"
			}
			contains(t, "console", con, want,
				"decom: ERROR: approved plan: the machine differs from it in 1 ways (the drift lines above): nothing wiped\n",
				"decom: result: 0 sanitized, 0 with exceptions, 0 failed, 7 not wiped\n")
		})
	}
}

// A plan that cannot be used wipes nothing and never starts a run: another host's,
// a truncated one, one that is not there, and one whose method decom.method=
// contradicts.
func TestRunApprovedPlanRefused(t *testing.T) {
	for _, c := range []struct {
		name, cmdline string
		setup         func(t *testing.T, root string)
		want          string
	}{
		{"other host", "decom.plan=/data/plan.json", func(t *testing.T, root string) {
			writePlan(t, filepath.Join(root, "data", "plan.json"), "OTHER-HOST", "", approvedTargets)
		}, "the plan is for another host (serial OTHER-HOST; this is serial CZJ1234XYZ, uuid " + planUUID + ")"},
		{"truncated", "decom.plan=/data/plan.json", func(t *testing.T, root string) {
			p := filepath.Join(root, "data", "plan.json")
			writePlan(t, p, planSerial, planUUID, approvedTargets)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)/2], 0o644)
		}, "bad plan file: truncated JSON"},
		{"absent", "decom.plan=/etc/decom/plan.json", func(*testing.T, string) {}, "no such file or directory"},
		{"method", "decom.plan=/data/plan.json decom.method=dod-3", func(t *testing.T, root string) {
			writePlan(t, filepath.Join(root, "data", "plan.json"), planSerial, planUUID, approvedTargets)
		}, "decom.method=dod-3 contradicts the plan's method zero"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, fake := approvedEnv(t)
			c.setup(t, e.root)
			err := e.run(t, e.approvedOptions("decom.mode=auto "+c.cmdline, fake))
			if err == nil || len(fake.called) != 0 {
				t.Errorf("Run: %v, %d sanitizations; want an error and none", err, len(fake.called))
			}
			contains(t, "console", e.console.String(), c.want, "nothing w",
				"decom: result: 0 sanitized, 0 with exceptions, 0 failed, 7 not wiped\n")
		})
	}
}

// The config's boot: plan names a plan in the initramfs (as decom kexec packs it);
// its passphrase file there unlocks the key when there is no data partition's.
func TestRunApprovedPlanFromConfig(t *testing.T) {
	e, fake := approvedEnv(t)
	writePlan(t, filepath.Join(e.root, "etc", "decom", "plan.json"), planSerial, planUUID, approvedTargets)
	e.cfg.Plan = "/etc/decom/plan.json"
	if err := e.run(t, e.approvedOptions("decom.mode=auto", fake)); err != nil {
		t.Errorf("Run: %v", err)
	}
	if len(fake.called) != 1 || len(fake.called[0].Targets) != 2 {
		t.Errorf("sanitizations %d", len(fake.called))
	}
	contains(t, "console", e.console.String(), "decom: approved plan /etc/decom/plan.json (sha256 ")

	// A config whose plan is no absolute path cannot be used.
	e, fake = approvedEnv(t)
	e.cfg.Plan = "plan.json"
	e.run(t, e.approvedOptions("decom.mode=auto", fake))
	if len(fake.called) != 0 {
		t.Errorf("wiped with a config the agent refused")
	}
	contains(t, "console", e.console.String(), `config file: boot: plan: "plan.json": want the absolute path of an approved plan file`)
}

func TestRunPassphraseFromInitramfs(t *testing.T) {
	e := newRunEnv(t)
	os.WriteFile(filepath.Join(e.root, "data", "site.key"), []byte("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"), 0o600)
	os.MkdirAll(filepath.Join(e.root, "etc", "decom"), 0o755)
	if err := os.WriteFile(filepath.Join(e.root, "etc", "decom", "key-passphrase"), []byte("from-kexec\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.run(t, e.options("decom.mode=auto"))
	if len(e.cli.pass) == 0 || e.cli.pass[0] != "from-kexec" {
		t.Errorf("passphrases %q", e.cli.pass)
	}
	contains(t, "console", e.console.String(), "decom: signing key: passphrase from /etc/decom/key-passphrase\n")
	if strings.Contains(e.console.String(), "type its passphrase") {
		t.Errorf("asked for the passphrase at the console")
	}
}
