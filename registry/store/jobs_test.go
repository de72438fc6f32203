package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

// jobRecord is testRecord(i) as a certificate of job, from host, with plan.
func jobRecord(i int, job, host, plan string) Record {
	r := testRecord(i)
	r.Job = &JobFields{Job: job, PlanSHA256: plan, Hostname: host, SystemSerial: "SER-" + host,
		Model: "QEMU HARDDISK", Path: "/dev/sd" + string(rune('a'+i%26)), SizeBytes: uint64(i+1) << 30}
	return r
}

func testJobs(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	planBody := []byte(`{"format":"decom-plan/1","job":"rack-7","hosts":[]}`)
	sum := sha256.Sum256(planBody)
	planSHA := hex.EncodeToString(sum[:])

	// Three certificates of rack-7 on two hosts (drive 2 failed, then wiped
	// again as 4), one of another job, one of none.
	r1, r2 := jobRecord(1, "rack-7", "host-a", planSHA), jobRecord(2, "rack-7", "host-a", planSHA)
	r3, r5 := jobRecord(3, "rack-7", "host-b", ""), jobRecord(5, "hall 2", "host-c", "")
	r4 := jobRecord(4, "rack-7", "host-a", planSHA)
	r4.Serial, r4.Outcome = r2.Serial, r2.Outcome // the same drive again
	r1.Outcome, r2.Outcome, r3.Outcome, r4.Outcome = "sanitized", "failed", "exceptions", "sanitized"
	put(t, s, r1, r2, r3, r4, r5, testRecord(6))
	// Putting a certificate again keeps one job row.
	if _, created, err := s.PutCertificate(ctx, r1); err != nil || created {
		t.Fatalf("PutCertificate again: created %v, %v", created, err)
	}

	got, err := s.JobCertificates(ctx, "rack-7")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, g := range got {
		ids = append(ids, g.ID)
	}
	if want := []string{r1.ID, r2.ID, r3.ID, r4.ID}; strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Fatalf("JobCertificates(rack-7) = %v, want %v", ids, want)
	}
	g := got[0]
	if g.JobFields != *r1.Job || g.Serial != r1.Serial || g.Outcome != r1.Outcome || g.Received.IsZero() || g.Bundle != nil {
		t.Errorf("JobCertificates[0] = %+v, want the fields of %+v and no bundle", g, r1)
	}
	if got, err := s.JobCertificates(ctx, "rack-8"); err != nil || len(got) != 0 {
		t.Errorf("JobCertificates(rack-8) = %v, %v; want none", got, err)
	}
	if rec, err := s.GetCertificate(ctx, r1.ID); err != nil || rec.Job != nil {
		t.Errorf("GetCertificate: %v, job %v; want the record without job fields", err, rec.Job)
	}

	// Plans: stored once, checked against their digest.
	p, created, err := s.PutPlan(ctx, Plan{SHA256: planSHA, Job: "rack-7", Body: planBody})
	if err != nil || !created || p.Uploaded.IsZero() {
		t.Fatalf("PutPlan: %+v, created %v, %v", p, created, err)
	}
	if _, created, err := s.PutPlan(ctx, Plan{SHA256: planSHA, Job: "rack-7", Body: planBody}); err != nil || created {
		t.Errorf("PutPlan again: created %v, %v; want the stored plan", created, err)
	}
	if _, _, err := s.PutPlan(ctx, Plan{SHA256: planSHA, Job: "rack-9", Body: planBody}); !errors.Is(err, ErrConflict) {
		t.Errorf("PutPlan under another job: %v, want ErrConflict", err)
	}
	for name, bad := range map[string]Plan{
		"no job":       {SHA256: planSHA, Body: planBody},
		"wrong digest": {SHA256: strings.Repeat("0", 64), Job: "rack-7", Body: planBody},
		"empty":        {SHA256: hex.EncodeToString(make([]byte, 32)), Job: "rack-7"},
		"NUL in job":   {SHA256: planSHA, Job: "rack\x007", Body: planBody},
	} {
		if _, _, err := s.PutPlan(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("PutPlan(%s): %v, want ErrInvalid", name, err)
		}
	}
	plans, err := s.Plans(ctx, "rack-7")
	if err != nil || len(plans) != 1 || string(plans[0].Body) != string(planBody) || plans[0].Job != "rack-7" {
		t.Fatalf("Plans(rack-7) = %+v, %v", plans, err)
	}
	if plans, err := s.Plans(ctx, "hall 2"); err != nil || len(plans) != 0 {
		t.Errorf("Plans(hall 2) = %v, %v; want none", plans, err)
	}
	// A job with a plan and no certificate yet is listed too.
	other := []byte(`{"format":"decom-plan/1","job":"empty job","hosts":[]}`)
	osum := sha256.Sum256(other)
	if _, _, err := s.PutPlan(ctx, Plan{SHA256: hex.EncodeToString(osum[:]), Job: "empty job", Body: other,
		Uploaded: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}

	sums, err := s.JobSummaries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]JobSummary{}
	var names []string
	for _, j := range sums {
		byName[j.Name] = j
		names = append(names, j.Name)
	}
	if len(sums) != 3 || names[0] != "empty job" {
		t.Fatalf("JobSummaries: %v, want 3 jobs, the most recently active (empty job) first", names)
	}
	r7 := byName["rack-7"]
	if r7.Hosts != 2 || r7.Drives != 3 || r7.Certificates != 4 || r7.Plans != 1 || r7.LastReport.IsZero() || r7.LastPlan.IsZero() {
		t.Errorf("rack-7: %+v; want 2 hosts, 3 drives, 4 certificates, 1 plan", r7)
	}
	// Drive 2's latest certificate (4) counts, not its failed one.
	if len(r7.Outcomes) != 2 || r7.Outcomes["sanitized"] != 2 || r7.Outcomes["exceptions"] != 1 {
		t.Errorf("rack-7 outcomes: %v", r7.Outcomes)
	}
	if e := byName["empty job"]; e.Certificates != 0 || e.Plans != 1 || !e.LastReport.IsZero() {
		t.Errorf("empty job: %+v", e)
	}

	// Bad job fields are refused with the certificate.
	bad := jobRecord(7, "", "host-a", "")
	if _, _, err := s.PutCertificate(ctx, bad); !errors.Is(err, ErrInvalid) {
		t.Errorf("PutCertificate with job fields but no job: %v, want ErrInvalid", err)
	}
	bad = jobRecord(8, "rack-7", "host\x00a", "")
	if _, _, err := s.PutCertificate(ctx, bad); !errors.Is(err, ErrInvalid) {
		t.Errorf("PutCertificate with a NUL in the hostname: %v, want ErrInvalid", err)
	}

	// Another instance (a reopened SQLite file, a second PostgreSQL client) sees it all.
	if got, err := open(t).JobCertificates(ctx, "rack-7"); err != nil || len(got) != 4 {
		t.Errorf("JobCertificates from another handle: %d, %v", len(got), err)
	}
}
