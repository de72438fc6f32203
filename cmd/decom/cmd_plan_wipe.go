package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/wipe"
)

// approvedPlan is this host's section of an approved plan file, the file's job, and
// its digest.
type approvedPlan struct {
	section sanitize.HostPlan
	host    inventory.Host
	write   wipe.PassPlan
	job     string
	sha256  string
}

// readPlanFile reads and parses a plan file; a file that is missing, unreadable or
// malformed is bad input.
func readPlanFile(path string) (sanitize.PlanFile, []byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return sanitize.PlanFile{}, nil, badInputf("plan %s: %v", path, err)
	}
	f, err := sanitize.ParsePlan(data)
	if err != nil {
		return sanitize.PlanFile{}, nil, badInputf("plan %s: %v", path, err)
	}
	return f, data, nil
}

// loadApproved reads the plan file of --approved and picks this host's section. A
// plan for another host is refused.
func loadApproved(path string, host inventory.Host) (*approvedPlan, error) {
	f, data, err := readPlanFile(path)
	if err != nil {
		return nil, err
	}
	section, err := f.ForHost(host)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", path, err)
	}
	w, err := section.PassPlan()
	if err != nil {
		return nil, badInputf("plan %s: %v", path, err)
	}
	sum := sha256.Sum256(data)
	return &approvedPlan{section: section, host: host, write: w, job: f.Job, sha256: hex.EncodeToString(sum[:])}, nil
}

// checkJob refuses a job name a certificate cannot carry; "" is no job.
func checkJob(job string) error {
	if job == "" {
		return nil
	}
	if err := certificates.ValidJob(job); err != nil {
		return usageErrorf("--job: %v", err)
	}
	return nil
}

// jobFromPlan sets the job from the plan. A --job given on the command line that
// names another job is a usage error; the config file's and the environment's job
// give way to the plan's. A plan without a job leaves the job as it is.
func (opts *wipeOptions) jobFromPlan(flags *pflag.FlagSet, job string) error {
	switch {
	case job == "":
		return nil
	case flags.Changed("job") && opts.cert.Job != job:
		return usageErrorf("--job %q contradicts the approved plan (job %q): leave it out", opts.cert.Job, job)
	}
	opts.cert.Job = job
	return nil
}

// methodFromPlan sets the method options from the plan. A method flag given on the
// command line that says otherwise is a usage error; the config file's and the
// environment's method give way to the plan.
func (opts *wipeOptions) methodFromPlan(flags *pflag.FlagSet, w wipe.PassPlan, passes string) error {
	contradicts := func(name, given, planned string) error {
		return usageErrorf("--%s %s contradicts the approved plan (%s %s): leave it out", name, given, name, planned)
	}
	switch {
	case flags.Changed("method") && passes == "" && opts.Method != w.Method.Name:
		return contradicts("method", opts.Method, w.Method.Name)
	case flags.Changed("method") && passes != "":
		return usageErrorf("--method %s contradicts the approved plan (a custom pass sequence %s): leave it out", opts.Method, passes)
	case flags.Changed("passes") && opts.Passes != passes:
		if passes == "" {
			return usageErrorf("--passes %s contradicts the approved plan (method %s): leave it out", opts.Passes, w.Method.Name)
		}
		return contradicts("passes", opts.Passes, passes)
	case flags.Changed("rounds") && opts.Rounds != w.Rounds:
		return contradicts("rounds", strconv.Itoa(opts.Rounds), strconv.Itoa(w.Rounds))
	case flags.Changed("blank") && opts.Blank != w.Blank:
		return contradicts("blank", strconv.FormatBool(opts.Blank), strconv.FormatBool(w.Blank))
	}
	opts.Method, opts.Passes, opts.Rounds, opts.Blank = w.Method.Name, passes, w.Rounds, w.Blank
	if passes != "" {
		opts.Method = ""
	}
	return nil
}

// showDrift prints what differs between the approved plan and the run: a line per
// difference on stderr, or "plan_drift" JSON lines.
func showDrift(g *globalOptions, err error) {
	var de *sanitize.DriftError
	if !errors.As(err, &de) {
		return
	}
	for _, d := range de.Drifts {
		if g.Output == outputJSON {
			if err := writeJSONLine(g.stdout, "plan_drift", d); err != nil {
				g.log.Error().Err(err).Msg("cannot write to stdout")
			}
			continue
		}
		fmt.Fprintf(g.stderr, "drift: %s\n", d)
	}
}

// writePlanOut writes the plan of a dry run, this host's only section, atomically.
func writePlanOut(path string, g *globalOptions, planned *sanitize.Planned, all, includeRemovable bool, job string) error {
	if planned == nil || len(planned.Plans) == 0 {
		return fmt.Errorf("%w: the run planned no target; no plan written", wipe.ErrRefused)
	}
	host := inventory.ReadHost(inventory.Options{Root: g.SysRoot})
	hp, err := sanitize.NewHostPlan(host, planned.Write, all, includeRemovable, planned.Plans, time.Now())
	if err != nil {
		return err
	}
	data, err := sanitize.PlanFile{Format: sanitize.PlanFormat, Job: job, Hosts: []sanitize.HostPlan{hp}}.Marshal()
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	written, err := certificates.WriteFileAtomic(filepath.Dir(abs), filepath.Base(abs), data, 0o644)
	if err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	sum := sha256.Sum256(data)
	g.log.Info().Str("plan", written).Str("sha256", hex.EncodeToString(sum[:])).Int("targets", len(hp.Targets)).
		Msg("plan written: review it, then run decom wipe --approved with it")
	return nil
}
