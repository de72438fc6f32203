package sanitize

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/wipe"
)

// An approved plan lets automation sanitize exactly what a person reviewed. A dry
// run writes what it would sanitize on its host (NewHostPlan, PlanFile.Marshal); a
// reviewer approves the file, perhaps merged with other hosts' (MergePlans); the
// run that executes it picks this host's section (PlanFile.ForHost) and, through
// its Confirm callback (Approve), refuses the whole run when what it planned now
// differs from the section in any target or identity field (CheckApproved).

// PlanFormat is the version of the plan file format, its "format" field.
const PlanFormat = "decom-plan/1"

// ErrBadPlan: a plan file cannot be read (malformed, truncated, an unknown format
// version, or contents that contradict themselves).
var ErrBadPlan = errors.New("bad plan file")

// PlanFile is an approved plan: one section per host.
type PlanFile struct {
	Format string `json:"format"`
	// Job names the decommissioning job the plan belongs to: the runs that follow
	// it state it in their certificates, and the registry's job view shows the
	// plan's hosts and drives under it. Optional (certificates.ValidJob).
	Job   string     `json:"job,omitempty"`
	Hosts []HostPlan `json:"hosts"`
}

// HostPlan is what one run on one host plans to sanitize.
type HostPlan struct {
	// Host identifies the machine: its DMI system serial and UUID, and its
	// hostname (which counts only when the machine has neither).
	Host    inventory.Host `json:"host"`
	Created time.Time      `json:"created"`
	// All and IncludeRemovable say that the targets were chosen by --all (with
	// removable drives): the approved run chooses them again the same way, so a
	// drive added since is found and refused.
	All              bool             `json:"all,omitempty"`
	IncludeRemovable bool             `json:"include_removable,omitempty"`
	Targets          []ApprovedTarget `json:"targets"`
}

// ApprovedTarget is one target of a plan: what identifies it, and what is done to it.
type ApprovedTarget struct {
	Path      string         `json:"path"`
	Kind      string         `json:"kind"`
	Serial    string         `json:"serial,omitempty"`
	WWN       string         `json:"wwn,omitempty"`
	Model     string         `json:"model,omitempty"`
	SizeBytes uint64         `json:"size_bytes"`
	Method    ApprovedMethod `json:"method"`
}

// ApprovedMethod is how a target is sanitized: an overwrite method (with its rounds
// and final blank pass; Passes for a custom sequence), and for nist-purge and
// nist-clear the technique the planner chose for the drive.
type ApprovedMethod struct {
	Name      string `json:"name"`
	Passes    string `json:"passes,omitempty"`
	Rounds    int    `json:"rounds"`
	Blank     bool   `json:"blank,omitempty"`
	Technique string `json:"technique,omitempty"`
	RemoveHPA bool   `json:"remove_hpa,omitempty"`
}

// NewHostPlan describes a run's plan as a plan file's section: the host, and each
// target with its identity and method. A plan with a refused target cannot be
// approved: it returns the refusals (wipe.ErrRefused).
func NewHostPlan(host inventory.Host, w wipe.PassPlan, all, includeRemovable bool, plans []Plan, now time.Time) (HostPlan, error) {
	if err := refusalsError(plans); err != nil {
		return HostPlan{}, fmt.Errorf("%w (a plan with a refused target is not written)", err)
	}
	hp := HostPlan{Host: host, Created: now.UTC(), All: all, IncludeRemovable: includeRemovable, Targets: []ApprovedTarget{}}
	for _, p := range plans {
		hp.Targets = append(hp.Targets, approvedTarget(p, w))
	}
	return hp, nil
}

func approvedTarget(p Plan, w wipe.PassPlan) ApprovedTarget {
	t := p.Target
	at := ApprovedTarget{Path: t.Path, Kind: t.Kind, Serial: t.Identity.Serial, WWN: t.Identity.WWN,
		Model: t.Identity.Model, SizeBytes: t.Identity.SizeBytes,
		Method: ApprovedMethod{Name: w.Method.Name, Rounds: w.Rounds, Blank: w.Blank}}
	if at.Model == "" {
		at.Model = t.Drive.Model
	}
	if w.Method.Name == "custom" {
		names := make([]string, len(w.Method.Passes))
		for i, pat := range w.Method.Passes {
			names[i] = pat.String()
		}
		at.Method.Passes = strings.Join(names, ",")
	}
	if p.Choice != nil {
		at.Method.Technique, at.Method.RemoveHPA = string(p.Choice.Technique), p.Choice.RemoveHPA
	}
	return at
}

// Marshal is the plan file's bytes: indented JSON, ending in a newline.
func (f PlanFile) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ParsePlan reads a plan file and checks that it holds together: its format
// version, and in each section a host identity and at least one target, all with
// the same method. Errors match ErrBadPlan.
func ParsePlan(data []byte) (PlanFile, error) {
	var f PlanFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return PlanFile{}, fmt.Errorf("%w: truncated JSON", ErrBadPlan)
		}
		return PlanFile{}, fmt.Errorf("%w: %v", ErrBadPlan, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return PlanFile{}, fmt.Errorf("%w: data after the plan's JSON object", ErrBadPlan)
	}
	if f.Format != PlanFormat {
		return PlanFile{}, fmt.Errorf("%w: format %q, want %q", ErrBadPlan, f.Format, PlanFormat)
	}
	if f.Job != "" {
		if err := certificates.ValidJob(f.Job); err != nil {
			return PlanFile{}, fmt.Errorf("%w: %v", ErrBadPlan, err)
		}
	}
	if len(f.Hosts) == 0 {
		return PlanFile{}, fmt.Errorf("%w: no host section", ErrBadPlan)
	}
	for i, h := range f.Hosts {
		if err := h.check(); err != nil {
			return PlanFile{}, fmt.Errorf("%w: host section %d (%s): %v", ErrBadPlan, i+1, hostName(h.Host), err)
		}
	}
	for i := range f.Hosts {
		for j := i + 1; j < len(f.Hosts); j++ {
			if sameHost(f.Hosts[i].Host, f.Hosts[j].Host) {
				return PlanFile{}, fmt.Errorf("%w: host sections %d and %d are both for %s", ErrBadPlan, i+1, j+1, hostName(f.Hosts[i].Host))
			}
		}
	}
	return f, nil
}

func (h HostPlan) check() error {
	if identityOf(h.Host) == "" {
		return errors.New("no host identity (DMI system serial, UUID or hostname)")
	}
	if len(h.Targets) == 0 {
		return errors.New("no target")
	}
	m := h.Targets[0].Method
	paths := map[string]bool{}
	for _, t := range h.Targets {
		switch {
		case t.Path == "" || t.Kind == "":
			return errors.New("a target without path or kind")
		case paths[t.Path]:
			return fmt.Errorf("%s is listed twice", t.Path)
		case t.Method.Name == "" || t.Method.Rounds < 1:
			return fmt.Errorf("%s: no method, or rounds below 1", t.Path)
		case t.Method.Name != m.Name || t.Method.Passes != m.Passes || t.Method.Rounds != m.Rounds || t.Method.Blank != m.Blank:
			return fmt.Errorf("%s: method differs from %s's: a run has one method", t.Path, h.Targets[0].Path)
		}
		paths[t.Path] = true
	}
	if _, err := h.PassPlan(); err != nil {
		return err
	}
	return nil
}

// PassPlan is the method the section's targets are sanitized with.
func (h HostPlan) PassPlan() (wipe.PassPlan, error) {
	if len(h.Targets) == 0 {
		return wipe.PassPlan{}, errors.New("no target")
	}
	am := h.Targets[0].Method
	var m wipe.Method
	if am.Passes != "" {
		passes, err := wipe.ParsePasses(am.Passes)
		if err != nil {
			return wipe.PassPlan{}, fmt.Errorf("passes: %v", err)
		}
		m = wipe.CustomMethod(passes, am.Rounds, am.Blank)
	} else {
		var err error
		if m, err = wipe.LookupMethod(am.Name); err != nil {
			return wipe.PassPlan{}, err
		}
	}
	return wipe.PassPlan{Method: m, Rounds: am.Rounds, Blank: am.Blank}, nil
}

// Paths are the section's targets' paths, in its order.
func (h HostPlan) Paths() []string {
	out := make([]string, len(h.Targets))
	for i, t := range h.Targets {
		out[i] = t.Path
	}
	return out
}

// ForHost returns the section of the plan for host, matched by DMI system serial
// and UUID (by hostname only when neither side has those). No section, or more
// than one, is a refusal (wipe.ErrRefused).
func (f PlanFile) ForHost(host inventory.Host) (HostPlan, error) {
	var found []HostPlan
	for _, h := range f.Hosts {
		if sameHost(h.Host, host) {
			found = append(found, h)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		if len(f.Hosts) == 1 {
			return HostPlan{}, fmt.Errorf("%w: the plan is for another host (%s; this is %s); nothing was written",
				wipe.ErrRefused, hostName(f.Hosts[0].Host), hostName(host))
		}
		return HostPlan{}, fmt.Errorf("%w: the plan has no section for this host (%s); nothing was written", wipe.ErrRefused, hostName(host))
	}
	return HostPlan{}, fmt.Errorf("%w: the plan has %d sections for this host (%s); nothing was written", wipe.ErrRefused, len(found), hostName(host))
}

// identityOf is what identifies a host: its DMI serial and UUID, else its hostname.
func identityOf(h inventory.Host) string {
	if h.SystemSerial != "" || h.SystemUUID != "" {
		return "dmi:" + h.SystemSerial + "/" + h.SystemUUID
	}
	if h.Hostname != "" {
		return "hostname:" + h.Hostname
	}
	return ""
}

func sameHost(a, b inventory.Host) bool {
	id := identityOf(a)
	return id != "" && id == identityOf(b)
}

func hostName(h inventory.Host) string {
	var parts []string
	if h.Hostname != "" {
		parts = append(parts, "hostname "+h.Hostname)
	}
	if h.SystemSerial != "" {
		parts = append(parts, "serial "+h.SystemSerial)
	}
	if h.SystemUUID != "" {
		parts = append(parts, "uuid "+h.SystemUUID)
	}
	if len(parts) == 0 {
		return "no identity"
	}
	return strings.Join(parts, ", ")
}

// MergePlans joins plan files into one with every host's section. Two sections for
// the same host are an error (ErrBadPlan): one review approves one plan per host.
// The merged plan has the job the files name; files that name different jobs are
// an error too (a file without a job joins any).
func MergePlans(files ...PlanFile) (PlanFile, error) {
	out := PlanFile{Format: PlanFormat, Hosts: []HostPlan{}}
	for _, f := range files {
		if f.Format != PlanFormat {
			return PlanFile{}, fmt.Errorf("%w: format %q, want %q", ErrBadPlan, f.Format, PlanFormat)
		}
		switch {
		case f.Job == "":
		case out.Job == "":
			out.Job = f.Job
		case out.Job != f.Job:
			return PlanFile{}, fmt.Errorf("%w: plans of two jobs (%q and %q)", ErrBadPlan, out.Job, f.Job)
		}
		for _, h := range f.Hosts {
			if slices.ContainsFunc(out.Hosts, func(o HostPlan) bool { return sameHost(o.Host, h.Host) }) {
				return PlanFile{}, fmt.Errorf("%w: two plans for the same host (%s)", ErrBadPlan, hostName(h.Host))
			}
			out.Hosts = append(out.Hosts, h)
		}
	}
	return out, nil
}

// Drift is one difference between an approved plan and what a run plans now.
type Drift struct {
	// Device is the target's path; empty for the host.
	Device string `json:"device,omitempty"`
	// Field is what differs: target (a target missing or added), host, kind,
	// serial, wwn, model, size_bytes, method, passes, rounds, blank, technique or
	// remove_hpa.
	Field   string `json:"field"`
	Planned string `json:"planned"`
	Now     string `json:"now"`
}

func (d Drift) String() string {
	switch {
	case d.Field == "target" && d.Now == "missing":
		return fmt.Sprintf("%s: approved, but not in this run's plan (%s)", d.Device, d.Planned)
	case d.Field == "target":
		return fmt.Sprintf("%s: in this run's plan, but not approved (%s)", d.Device, d.Now)
	case d.Device == "":
		return fmt.Sprintf("%s: approved %q, now %q", d.Field, d.Planned, d.Now)
	}
	return fmt.Sprintf("%s: %s: approved %q, now %q", d.Device, d.Field, d.Planned, d.Now)
}

// DriftError refuses a run whose plan differs from the approved one. It matches
// wipe.ErrRefused.
type DriftError struct{ Drifts []Drift }

func (e *DriftError) Error() string {
	n := len(e.Drifts)
	what := "differences"
	if n == 1 {
		what = "difference"
	}
	return fmt.Sprintf("%v: this run's plan differs from the approved plan (%d %s); nothing was written", wipe.ErrRefused, n, what)
}

func (e *DriftError) Is(target error) bool { return target == wipe.ErrRefused }

// CheckApproved compares what a run plans now with the approved section: a target
// missing or added, or any difference in a target's identity (kind, serial, WWN,
// model, size) or method (the planner's technique included), or another host,
// returns a *DriftError listing every difference. Targets are matched by path.
func CheckApproved(approved, now HostPlan) error {
	var drifts []Drift
	if !sameHost(approved.Host, now.Host) {
		drifts = append(drifts, Drift{Field: "host", Planned: hostName(approved.Host), Now: hostName(now.Host)})
	}
	current := map[string]ApprovedTarget{}
	for _, t := range now.Targets {
		current[t.Path] = t
	}
	for _, a := range approved.Targets {
		n, ok := current[a.Path]
		if !ok {
			drifts = append(drifts, Drift{Device: a.Path, Field: "target", Planned: describeTarget(a), Now: "missing"})
			continue
		}
		delete(current, a.Path)
		drifts = append(drifts, targetDrifts(a, n)...)
	}
	for _, n := range now.Targets {
		if _, extra := current[n.Path]; extra {
			drifts = append(drifts, Drift{Device: n.Path, Field: "target", Planned: "absent", Now: describeTarget(n)})
		}
	}
	if len(drifts) > 0 {
		return &DriftError{Drifts: drifts}
	}
	return nil
}

func targetDrifts(a, n ApprovedTarget) []Drift {
	var out []Drift
	cmp := func(field, planned, now string) {
		if planned != now {
			out = append(out, Drift{Device: a.Path, Field: field, Planned: planned, Now: now})
		}
	}
	cmp("kind", a.Kind, n.Kind)
	cmp("serial", a.Serial, n.Serial)
	cmp("wwn", a.WWN, n.WWN)
	cmp("model", a.Model, n.Model)
	cmp("size_bytes", fmt.Sprint(a.SizeBytes), fmt.Sprint(n.SizeBytes))
	am, nm := a.Method, n.Method
	cmp("method", am.Name, nm.Name)
	cmp("passes", am.Passes, nm.Passes)
	cmp("rounds", fmt.Sprint(am.Rounds), fmt.Sprint(nm.Rounds))
	cmp("blank", fmt.Sprint(am.Blank), fmt.Sprint(nm.Blank))
	cmp("technique", am.Technique, nm.Technique)
	cmp("remove_hpa", fmt.Sprint(am.RemoveHPA), fmt.Sprint(nm.RemoveHPA))
	return out
}

func describeTarget(t ApprovedTarget) string {
	parts := []string{t.Kind}
	for _, s := range []string{t.Model, t.Serial, t.WWN} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(append(parts, fmt.Sprintf("%d bytes", t.SizeBytes)), ", ")
}

// Approve is an Options.Confirm for a run of an approved section: it approves every
// plan when the run's plan (host is this machine, w the run's method) is the
// section's exactly, and refuses the run with a *DriftError, which lists the
// differences, otherwise.
func Approve(approved HostPlan, host inventory.Host, w wipe.PassPlan) func(context.Context, []Plan) ([]Plan, error) {
	return func(_ context.Context, plans []Plan) ([]Plan, error) {
		now, err := NewHostPlan(host, w, approved.All, approved.IncludeRemovable, plans, time.Now())
		if err != nil {
			return nil, err
		}
		if err := CheckApproved(approved, now); err != nil {
			return nil, err
		}
		return plans, nil
	}
}

// MissingTarget turns a run's error for an approved target that is gone (no such
// device, not a block device, vanished) into the drift it is: a *DriftError. Other
// errors are returned as they are.
func MissingTarget(err error, approved HostPlan) error {
	if !errors.Is(err, inventory.ErrNotFound) && !errors.Is(err, inventory.ErrNotBlockDevice) && !errors.Is(err, inventory.ErrVanished) {
		return err
	}
	d := Drift{Device: "a target", Field: "target", Planned: err.Error(), Now: "missing"}
	if te := (*TargetError)(nil); errors.As(err, &te) {
		for _, t := range approved.Targets {
			if t.Path == te.Path {
				d.Device, d.Planned = t.Path, describeTarget(t)+"; now: "+err.Error()
				break
			}
		}
	}
	return &DriftError{Drifts: []Drift{d}}
}
