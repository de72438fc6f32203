package sanitize

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/decom-project/decom/wipe"
)

// A plan names its job, or none; the job survives a round trip, a bad one makes
// the file a bad plan, and merging keeps one job.
func TestPlanJob(t *testing.T) {
	w := purge(t)
	a := PlanFile{Format: PlanFormat, Job: "rack-7", Hosts: []HostPlan{hostPlan(t, hostA, w, drivePlan("/dev/sda", "SA", 1, wipe.TechNVMeSanitizeCrypto))}}
	b := PlanFile{Format: PlanFormat, Hosts: []HostPlan{hostPlan(t, hostB, w, drivePlan("/dev/sda", "SB", 1, wipe.TechNVMeSanitizeCrypto))}}
	data, err := a.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if back, err := ParsePlan(data); err != nil || back.Job != "rack-7" {
		t.Errorf("round trip: job %q, %v", back.Job, err)
	}
	if nojob, _ := b.Marshal(); strings.Contains(string(nojob), `"job"`) {
		t.Errorf("a plan without a job names one:\n%s", nojob)
	}
	bad := strings.Replace(string(data), `"job": "rack-7"`, `"job": "rack\u001b7"`, 1)
	if _, err := ParsePlan([]byte(bad)); !errors.Is(err, ErrBadPlan) || !strings.Contains(err.Error(), "job name") {
		t.Errorf("a plan with a control character in its job: %v", err)
	}

	// A plan without a job joins any; two jobs do not merge.
	m, err := MergePlans(b, a)
	if err != nil || m.Job != "rack-7" || len(m.Hosts) != 2 {
		t.Errorf("merge: job %q, %d hosts, %v", m.Job, len(m.Hosts), err)
	}
	c := b
	c.Job = "rack-8"
	if _, err := MergePlans(a, c); !errors.Is(err, ErrBadPlan) || !strings.Contains(err.Error(), `plans of two jobs ("rack-7" and "rack-8")`) {
		t.Errorf("two jobs: %v", err)
	}
}

// A certificate states the run's job, like its plan's digest.
func TestNewCertificateJob(t *testing.T) {
	rec := wipe.Record{Device: "/tmp/x.img", Kind: wipe.KindFile, Method: "zero", Title: "Zeros", Rounds: 1,
		Outcome: wipe.OutcomeCompleted, Started: time.Unix(1, 0), Finished: time.Unix(2, 0)}
	d := details()
	c, err := NewCertificate(Evidence{Record: rec, Job: "rack-7"}, d, time.Unix(3, 0))
	if err != nil || c.Sanitization.Job != "rack-7" {
		t.Fatalf("job %q, %v", c.Sanitization.Job, err)
	}
	if _, err := NewCertificate(Evidence{Record: rec, Job: "rack\n7"}, d, time.Unix(3, 0)); err == nil {
		t.Error("a job with a newline: accepted")
	}
}
