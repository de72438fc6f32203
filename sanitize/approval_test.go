package sanitize

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/verify"
	"github.com/decom-project/decom/wipe"
)

var (
	hostA = inventory.Host{Hostname: "a", SystemSerial: "SER-A", SystemUUID: "uuid-a"}
	hostB = inventory.Host{Hostname: "b", SystemSerial: "SER-B", SystemUUID: "uuid-b"}
)

// drivePlan is a plan for a drive with the given identity, the planner's choice set.
func drivePlan(path, serial string, size uint64, tech wipe.Technique) Plan {
	return Plan{
		Target: wipe.Target{Path: path, Kind: wipe.KindDrive,
			Identity: wipe.Identity{Serial: serial, WWN: "wwn-" + serial, Model: "M1", SizeBytes: size}},
		Choice: &wipe.Choice{Technique: tech},
	}
}

func purge(t *testing.T) wipe.PassPlan {
	return wipe.PassPlan{Method: method(t, wipe.MethodNISTPurge), Rounds: 1}
}

func hostPlan(t *testing.T, host inventory.Host, w wipe.PassPlan, plans ...Plan) HostPlan {
	t.Helper()
	hp, err := NewHostPlan(host, w, false, false, plans, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return hp
}

func drifts(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var de *DriftError
	if !errors.As(err, &de) || !errors.Is(err, wipe.ErrRefused) {
		t.Fatalf("%v: want a *DriftError that is wipe.ErrRefused", err)
	}
	var out []string
	for _, d := range de.Drifts {
		out = append(out, d.String())
	}
	return out
}

// Every kind of difference between the approved plan and the run's plan refuses
// the run, and says which target and field differ.
func TestCheckApprovedDrift(t *testing.T) {
	w := purge(t)
	p1 := drivePlan("/dev/sda", "S1", 1000, wipe.TechNVMeSanitizeCrypto)
	p2 := drivePlan("/dev/sdb", "S2", 2000, wipe.TechNVMeSanitizeCrypto)
	approved := hostPlan(t, hostA, w, p1, p2)

	if err := CheckApproved(approved, hostPlan(t, hostA, w, p1, p2)); err != nil {
		t.Fatalf("the same plan: %v", err)
	}
	change := func(f func(p *Plan)) Plan {
		p := p2
		p.Choice = &wipe.Choice{Technique: p2.Choice.Technique}
		f(&p)
		return p
	}
	for _, c := range []struct {
		name string
		now  HostPlan
		want string
	}{
		{"missing", hostPlan(t, hostA, w, p1), "/dev/sdb: approved, but not in this run's plan"},
		{"extra", hostPlan(t, hostA, w, p1, p2, drivePlan("/dev/sdc", "S3", 3000, wipe.TechNVMeSanitizeCrypto)),
			"/dev/sdc: in this run's plan, but not approved"},
		{"serial", hostPlan(t, hostA, w, p1, change(func(p *Plan) { p.Target.Identity.Serial = "S9" })),
			`/dev/sdb: serial: approved "S2", now "S9"`},
		{"wwn", hostPlan(t, hostA, w, p1, change(func(p *Plan) { p.Target.Identity.WWN = "x" })),
			`/dev/sdb: wwn: approved "wwn-S2", now "x"`},
		{"model", hostPlan(t, hostA, w, p1, change(func(p *Plan) { p.Target.Identity.Model = "M2" })),
			`/dev/sdb: model: approved "M1", now "M2"`},
		{"size", hostPlan(t, hostA, w, p1, change(func(p *Plan) { p.Target.Identity.SizeBytes = 1999 })),
			`/dev/sdb: size_bytes: approved "2000", now "1999"`},
		{"kind", hostPlan(t, hostA, w, p1, change(func(p *Plan) { p.Target.Kind = wipe.KindPartition })),
			`/dev/sdb: kind: approved "drive", now "partition"`},
		{"technique", hostPlan(t, hostA, w, p1, change(func(p *Plan) { p.Choice.Technique = wipe.TechNVMeFormatCrypto })),
			`/dev/sdb: technique: approved "nvme-sanitize-crypto-erase", now "nvme-format-crypto-erase"`},
		{"hpa", hostPlan(t, hostA, w, p1, change(func(p *Plan) { p.Choice.RemoveHPA = true })),
			`/dev/sdb: remove_hpa: approved "false", now "true"`},
		{"method", hostPlan(t, hostA, wipe.PassPlan{Method: method(t, "zero"), Rounds: 1}, p1, p2),
			`/dev/sdb: method: approved "nist-purge", now "zero"`},
		{"rounds", hostPlan(t, hostA, wipe.PassPlan{Method: w.Method, Rounds: 2}, p1, p2),
			`/dev/sdb: rounds: approved "1", now "2"`},
		{"host", hostPlan(t, hostB, w, p1, p2), `host: approved "hostname a, serial SER-A, uuid uuid-a", now "hostname b, serial SER-B, uuid uuid-b"`},
	} {
		got := drifts(t, CheckApproved(approved, c.now))
		if !strings.Contains(strings.Join(got, "\n"), c.want) {
			t.Errorf("%s: drifts\n%s\nwant one to be %q", c.name, strings.Join(got, "\n"), c.want)
		}
	}
}

// A plan with a refused target is not written: approving it would approve a
// target the gate refuses.
func TestNewHostPlanRefused(t *testing.T) {
	p := drivePlan("/dev/sda", "S1", 1000, wipe.TechOverwrite)
	p.Refusal = &wipe.RefusedError{Path: "/dev/sda", Reasons: []string{"mounted"}}
	if _, err := NewHostPlan(hostA, purge(t), false, false, []Plan{p}, time.Now()); !errors.Is(err, wipe.ErrRefused) {
		t.Errorf("a refused target: %v, want wipe.ErrRefused", err)
	}
}

// A plan file goes through Marshal and ParsePlan unchanged; a broken one is
// ErrBadPlan with a one-line reason.
func TestParsePlan(t *testing.T) {
	f := PlanFile{Format: PlanFormat, Hosts: []HostPlan{hostPlan(t, hostA, purge(t), drivePlan("/dev/sda", "S1", 1000, wipe.TechNVMeSanitizeCrypto))}}
	good, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParsePlan(good)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := back.Marshal()
	if !bytes.Equal(good, again) {
		t.Errorf("round trip changed the plan:\n%s\n%s", good, again)
	}
	for _, c := range []struct{ name, data, want string }{
		{"truncated", string(good[:len(good)/2]), "truncated"},
		{"empty", "", "truncated"},
		{"not json", "hello", "invalid character"},
		{"version", strings.Replace(string(good), PlanFormat, "decom-plan/9", 1), `format "decom-plan/9"`},
		{"unknown field", strings.Replace(string(good), `"targets"`, `"targetz"`, 1), "unknown field"},
		{"trailing", string(good) + "{}", "data after"},
		{"no hosts", `{"format":"` + PlanFormat + `","hosts":[]}`, "no host section"},
		{"no targets", strings.Replace(string(good), `"targets": [`, `"targets": [], "x": [`, 1), "unknown field"},
		{"bad method", strings.Replace(string(good), `"nist-purge"`, `"shred-harder"`, 1), "shred-harder"},
		{"no identity", `{"format":"` + PlanFormat + `","hosts":[{"host":{},"targets":[{"path":"/x","kind":"file","size_bytes":1,"method":{"name":"zero","rounds":1}}]}]}`, "no host identity"},
	} {
		_, err := ParsePlan([]byte(c.data))
		if !errors.Is(err, ErrBadPlan) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want ErrBadPlan saying %q on one line", c.name, err, c.want)
		}
	}
}

// Merged plans have a section per host; ForHost finds this host's by DMI identity,
// and refuses when there is none. The same host twice is not merged.
func TestMergeAndForHost(t *testing.T) {
	w := purge(t)
	a := PlanFile{Format: PlanFormat, Hosts: []HostPlan{hostPlan(t, hostA, w, drivePlan("/dev/sda", "SA", 1, wipe.TechNVMeSanitizeCrypto))}}
	b := PlanFile{Format: PlanFormat, Hosts: []HostPlan{hostPlan(t, hostB, w, drivePlan("/dev/sda", "SB", 1, wipe.TechNVMeSanitizeCrypto))}}
	m, err := MergePlans(a, b)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []inventory.Host{hostA, hostB} {
		// The hostname does not count when DMI identifies the host.
		h.Hostname = "renamed"
		got, err := m.ForHost(h)
		if err != nil || got.Targets[0].Serial != "S"+h.SystemSerial[len(h.SystemSerial)-1:] {
			t.Errorf("ForHost(%s): %+v, %v", h.SystemSerial, got.Targets, err)
		}
	}
	other := inventory.Host{Hostname: "a", SystemSerial: "SER-C", SystemUUID: "uuid-a"}
	if _, err := m.ForHost(other); !errors.Is(err, wipe.ErrRefused) || !strings.Contains(err.Error(), "no section for this host") {
		t.Errorf("another host: %v", err)
	}
	if _, err := a.ForHost(hostB); !errors.Is(err, wipe.ErrRefused) || !strings.Contains(err.Error(), "the plan is for another host") {
		t.Errorf("another host's plan: %v", err)
	}
	// Without DMI identity on either side, the hostname identifies the host.
	noDMI := PlanFile{Format: PlanFormat, Hosts: []HostPlan{hostPlan(t, inventory.Host{Hostname: "c"}, w, drivePlan("/dev/sda", "SC", 1, wipe.TechNVMeSanitizeCrypto))}}
	if _, err := noDMI.ForHost(inventory.Host{Hostname: "c"}); err != nil {
		t.Errorf("by hostname: %v", err)
	}
	if _, err := noDMI.ForHost(inventory.Host{Hostname: "c", SystemSerial: "X"}); !errors.Is(err, wipe.ErrRefused) {
		t.Errorf("a host with DMI identity matched a plan of a host without: %v", err)
	}
	if _, err := MergePlans(m, a); !errors.Is(err, ErrBadPlan) || !strings.Contains(err.Error(), "same host") {
		t.Errorf("the same host twice: %v", err)
	}
	dup, _ := PlanFile{Format: PlanFormat, Hosts: append(m.Hosts, a.Hosts...)}.Marshal()
	if _, err := ParsePlan(dup); !errors.Is(err, ErrBadPlan) {
		t.Errorf("a file with two sections for one host: %v", err)
	}
}

// A run confirmed by Approve sanitizes the approved image files; when one of them
// has changed since it was approved, it writes nothing to any of them.
func TestRunApproved(t *testing.T) {
	a, b := image(t, "a.img", 1<<20), image(t, "b.img", 1<<20)
	zero := wipe.PassPlan{Method: method(t, "zero"), Rounds: 1}
	opts := Options{Targets: []string{a, b}, Method: zero.Method, Rounds: 1, Verify: verify.Options{Mode: verify.ModeFull}}
	var planned *Planned
	dry := opts
	dry.DryRun = true
	dry.Events = func(ev Event) {
		if p, ok := ev.(*Planned); ok {
			planned = p
		}
	}
	if _, err := Run(context.Background(), dry); err != nil {
		t.Fatal(err)
	}
	approved, err := NewHostPlan(hostA, zero, false, false, planned.Plans, time.Now())
	if err != nil {
		t.Fatal(err)
	}

	// b grows by a MiB: the whole run is refused, a is untouched too.
	if err := os.Truncate(b, 2<<20); err != nil {
		t.Fatal(err)
	}
	run := opts
	run.Confirm = Approve(approved, hostA, zero)
	_, err = Run(context.Background(), run)
	if got := drifts(t, err); len(got) != 1 || !strings.Contains(got[0], "size_bytes") {
		t.Fatalf("drifted run: %v, drifts %q", err, got)
	}
	for _, p := range []string{a, b} {
		data, _ := os.ReadFile(p)
		if bytes.Count(data, []byte{0xa5}) != 1<<20 {
			t.Errorf("%s was written to by a refused run", p)
		}
	}

	// Another host's approval is refused the same way.
	run.Confirm = Approve(approved, hostB, zero)
	if err := os.Truncate(b, 1<<20); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), run); !strings.Contains(strings.Join(drifts(t, err), "\n"), "host:") {
		t.Errorf("another host: %v", err)
	}

	// As approved: both are wiped.
	run.Confirm = Approve(approved, hostA, zero)
	results, err := Run(context.Background(), run)
	if err != nil || len(results) != 2 {
		t.Fatalf("approved run: %v (%d results)", err, len(results))
	}
	for _, p := range []string{a, b} {
		data, _ := os.ReadFile(p)
		if !bytes.Equal(data, make([]byte, 1<<20)) {
			t.Errorf("%s was not wiped", p)
		}
	}
}

// A planned target that is gone is drift, not a device error.
func TestMissingTarget(t *testing.T) {
	approved := hostPlan(t, hostA, purge(t), drivePlan("/dev/sdq", "S1", 1, wipe.TechNVMeSanitizeCrypto))
	err := MissingTarget(&wipe.RefusedError{Path: "x"}, approved)
	if _, ok := err.(*DriftError); ok {
		t.Errorf("a refusal became drift")
	}
	gone := &TargetError{Path: "/dev/sdq", Err: fmt.Errorf("%s: %w", "/dev/sdq", inventory.ErrNotFound)}
	got := drifts(t, MissingTarget(gone, approved))
	if len(got) != 1 || !strings.HasPrefix(got[0], "/dev/sdq: approved, but not in this run's plan") {
		t.Errorf("a missing target: %q", got)
	}
}
