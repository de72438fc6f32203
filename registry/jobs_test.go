package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/wipe"
)

// testPlan is an approved plan file for job "rack-7" as decom wipe --plan-out and
// decom plan merge write them: node7 (no DMI identity, so known by hostname) with
// three drives, and node8 with one.
const testPlan = `{
  "format": "decom-plan/1",
  "job": "rack-7",
  "hosts": [
    {"host": {"hostname": "node7", "system_vendor": "", "system_product": "", "system_serial": "", "system_uuid": ""},
     "created": "2026-11-22T09:00:00Z",
     "targets": [
       {"path": "/dev/sdb", "kind": "drive", "serial": "S-WIPED", "wwn": "0x5000000000000001", "model": "Samsung SSD 870 EVO 1TB", "size_bytes": 1000204886016, "method": {"name": "dod-3", "rounds": 1}},
       {"path": "/dev/sdc", "kind": "drive", "serial": "S-FAILED", "model": "Samsung SSD 870 EVO 1TB", "size_bytes": 1000204886016, "method": {"name": "dod-3", "rounds": 1}},
       {"path": "/dev/sdd", "kind": "drive", "serial": "S-MISSING", "model": "WDC WD40EFRX", "size_bytes": 4000787030016, "method": {"name": "dod-3", "rounds": 1}}
     ]},
    {"host": {"hostname": "node8", "system_vendor": "", "system_product": "", "system_serial": "SER-8", "system_uuid": "8888"},
     "created": "2026-11-22T09:00:00Z",
     "targets": [
       {"path": "/dev/nvme0n1", "kind": "drive", "serial": "S-NODE8", "model": "KXG60ZNV256G", "size_bytes": 256060514304, "method": {"name": "dod-3", "rounds": 1}}
     ]}
  ]
}
`

func planSHA(plan string) string {
	sum := sha256.Sum256([]byte(plan))
	return hex.EncodeToString(sum[:])
}

// jobCert is a certificate of job "rack-7" from node7, made under plan (a digest;
// "" for none).
func (r *testRegistry) jobCert(t *testing.T, tc testCert, plan string) *certificates.Certificate {
	t.Helper()
	c := r.certificate(t, tc)
	c.Sanitization.Job, c.Sanitization.ApprovedPlanSHA256 = "rack-7", plan
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

// uploadJob pushes testPlan and uploads rack-7's certificates: S-WIPED wiped and
// S-FAILED failed under the plan, S-EXTRA (no plan lists it) wiped under it, and
// one certificate of another job. S-MISSING and node8 have none. It returns the
// failed drive's record.
func uploadJob(t *testing.T, reg *testRegistry) *certificates.Certificate {
	t.Helper()
	client := &Client{URL: reg.URL, Token: reg.Token, HTTP: reg.HTTP}
	rc, err := client.PushPlan(t.Context(), []byte(testPlan))
	if err != nil {
		t.Fatal(err)
	}
	if rc.Job != "rack-7" || rc.SHA256 != planSHA(testPlan) || rc.Hosts != 2 || rc.Drives != 4 || !rc.Created || rc.Page != "/jobs/rack-7" {
		t.Fatalf("PushPlan: %+v", rc)
	}
	sha := planSHA(testPlan)
	other := reg.certificate(t, testCert{Serial: "S-OTHER"})
	other.Sanitization.Job = "hall 2/row b"
	failed := reg.jobCert(t, testCert{Serial: "S-FAILED", Path: "/dev/sdc", Outcome: wipe.OutcomeFailed}, sha)
	reg.upload(t,
		reg.jobCert(t, testCert{Serial: "S-WIPED"}, sha),
		failed,
		reg.jobCert(t, testCert{Serial: "S-EXTRA", Path: "/dev/sde"}, sha),
		other)
	return failed
}

func TestJobAPI(t *testing.T) {
	reg := newTestRegistry(t)
	failed := uploadJob(t, reg)

	var list JobList
	if err := json.Unmarshal([]byte(reg.get(t, "/api/v1/jobs")), &list); err != nil {
		t.Fatal(err)
	}
	byName := map[string]JobSummary{}
	for _, j := range list.Jobs {
		byName[j.Name] = j
	}
	r7 := byName["rack-7"]
	// The plan adds node8 and the missing drives to what the certificates show.
	if len(list.Jobs) != 2 || r7.Hosts != 2 || r7.ReportedHosts != 1 || r7.Drives != 5 || r7.Missing != 2 || r7.Certificates != 3 || r7.Plans != 1 ||
		r7.Outcomes["sanitized"] != 2 || r7.Outcomes["failed"] != 1 || r7.LastReport == nil || r7.LastPlan == nil || byName["hall 2/row b"].Drives != 1 || byName["hall 2/row b"].ReportedHosts != 1 {
		t.Errorf("GET /api/v1/jobs: %+v", list.Jobs)
	}

	var v JobView
	if err := json.Unmarshal([]byte(reg.get(t, "/api/v1/jobs/rack-7")), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Plans) != 1 || v.Plans[0].SHA256 != planSHA(testPlan) || len(v.Hosts) != 2 {
		t.Fatalf("job view: %+v", v)
	}
	n7, n8 := v.Hosts[0], v.Hosts[1]
	if n7.Hostname != "node7" || !n7.Planned || !n7.Reported || n8.SystemSerial != "SER-8" || !n8.Planned || n8.Reported {
		t.Errorf("hosts: node7 %+v, node8 %+v; want both planned, node7 reported, node8 not", n7, n8)
	}
	states := map[string]JobDrive{}
	for _, d := range n7.Drives {
		states[d.Serial] = d
	}
	for serial, want := range map[string]struct {
		state     string
		planned   bool
		unplanned bool
	}{
		"S-WIPED":   {DriveWiped, true, false},
		"S-FAILED":  {DriveFailed, true, false},
		"S-MISSING": {DriveMissing, true, false},
		"S-EXTRA":   {DriveWiped, false, true},
	} {
		d, ok := states[serial]
		if !ok || d.State != want.state || d.Planned != want.planned || d.Unplanned != want.unplanned {
			t.Errorf("drive %s: %+v, want state %s, planned %v, unplanned %v", serial, d, want.state, want.planned, want.unplanned)
		}
		if want.state != DriveMissing && (d.Certificate == "" || d.CertificateURL != "/certificates/"+d.Certificate) {
			t.Errorf("drive %s: certificate %q at %q", serial, d.Certificate, d.CertificateURL)
		}
	}
	if d := states["S-MISSING"]; d.Certificate != "" || d.Model != "WDC WD40EFRX" || d.SizeBytes != 4000787030016 {
		t.Errorf("missing drive: %+v, want the plan's model and size and no certificate", d)
	}
	if len(n8.Drives) != 1 || n8.Drives[0].State != DriveMissing {
		t.Errorf("node8 drives: %+v", n8.Drives)
	}
	if v.States[DriveWiped] != 2 || v.States[DriveFailed] != 1 || v.States[DriveMissing] != 2 || v.Unplanned != 1 {
		t.Errorf("states %v, unplanned %d", v.States, v.Unplanned)
	}
	if code, _, body := request(t, reg.HTTP, http.MethodGet, reg.URL+"/api/v1/jobs/no-such-job", "", nil); code != http.StatusNotFound {
		t.Errorf("GET an unknown job: %d %s", code, body)
	}
	// The failed drive is shredded: its certificate of destruction (made under no
	// plan) makes it destroyed. A wipe of S-MISSING under a plan that was not
	// pushed is not the pushed plan's: the drive stays missing, and the certificate
	// is flagged as not in the plan.
	destroyed := destructionOf(t, failed, "", time.Now())
	destroyed.Sanitization.Job = "rack-7"
	reg.upload(t, destroyed, reg.jobCert(t, testCert{Serial: "S-MISSING", Path: "/dev/sdd"}, strings.Repeat("ab", 32)))
	v = JobView{}
	if err := json.Unmarshal([]byte(reg.get(t, "/api/v1/jobs/rack-7")), &v); err != nil {
		t.Fatal(err)
	}
	var missing, flagged int
	for _, d := range v.Hosts[0].Drives {
		switch {
		case d.Serial == "S-FAILED" && (d.State != DriveDestroyed || d.Certificate != destroyed.ID || len(d.Certificates) != 2):
			t.Errorf("the shredded drive: %+v, want destroyed by %s after its failed wipe", d, destroyed.ID)
		case d.Serial == "S-MISSING" && d.Planned:
			missing++
			if d.State != DriveMissing {
				t.Errorf("S-MISSING under the plan: %+v, want missing", d)
			}
		case d.Serial == "S-MISSING":
			flagged++
			if !d.Unplanned || d.State != DriveWiped {
				t.Errorf("S-MISSING under another plan: %+v, want wiped and flagged", d)
			}
		}
	}
	if missing != 1 || flagged != 1 || v.States[DriveDestroyed] != 1 || v.Unplanned != 2 {
		t.Errorf("after the destruction: %d planned and %d flagged rows of S-MISSING, states %v, %d unplanned", missing, flagged, v.States, v.Unplanned)
	}

	page := reg.get(t, "/jobs/rack-7")
	for _, want := range []string{"Job <code>rack-7</code>", "1 of 2 planned host(s) reported", "not reported", "not in the plan",
		`data-serial="S-MISSING" data-state="missing"`, `data-serial="S-FAILED" data-state="destroyed"`, `data-serial="S-WIPED" data-state="wiped"`} {
		if !strings.Contains(page, want) {
			t.Errorf("job page lacks %q", want)
		}
	}
	jobs := reg.get(t, "/jobs")
	if !strings.Contains(jobs, `href="/jobs/rack-7"`) || !strings.Contains(jobs, `href="/jobs/hall%202%2Frow%20b"`) {
		t.Errorf("jobs page lacks the jobs:\n%s", jobs)
	}
	// A job name with a space and a slash reaches its page and its API.
	if page := reg.get(t, "/jobs/hall%202%2Frow%20b"); !strings.Contains(page, `data-serial="S-OTHER"`) {
		t.Errorf("the page of job \"hall 2/row b\" lacks its drive:\n%s", page)
	}
	if body := reg.get(t, "/api/v1/jobs/hall%202%2Frow%20b"); !strings.Contains(body, `"serial":"S-OTHER"`) {
		t.Errorf("the API of job \"hall 2/row b\": %s", body)
	}
}

// Only an upload token pushes a plan, and only a plan that names its job.
func TestPushPlanRefused(t *testing.T) {
	reg := newTestRegistry(t, func(c *Config) { c.PublicReads = false })
	upload, read, _, _ := scopedTokens(t, reg)
	post := func(token, body string) (int, string) {
		code, _, b := request(t, reg.HTTP, http.MethodPost, reg.URL+"/api/v1/plans", token, []byte(body))
		return code, b
	}
	if code, b := post("", testPlan); code != http.StatusUnauthorized {
		t.Errorf("no token: %d %s", code, b)
	}
	if code, b := post(read, testPlan); code != http.StatusForbidden {
		t.Errorf("read token: %d %s", code, b)
	}
	for name, body := range map[string]string{
		"no job":       strings.Replace(testPlan, `"job": "rack-7",`, "", 1),
		"bad job":      strings.Replace(testPlan, `"job": "rack-7"`, `"job": "rack\u00077"`, 1),
		"truncated":    testPlan[:200],
		"other format": strings.Replace(testPlan, "decom-plan/1", "decom-plan/9", 1),
		"no host":      `{"format": "decom-plan/1", "job": "rack-7", "hosts": []}`,
	} {
		if code, b := post(upload, body); code != http.StatusBadRequest || !strings.Contains(b, "bad plan") {
			t.Errorf("%s: %d %s, want 400 bad plan", name, code, b)
		}
	}
	if code, b := post(upload, testPlan); code != http.StatusCreated {
		t.Fatalf("push: %d %s", code, b)
	}
	if code, b := post(upload, testPlan); code != http.StatusOK || !strings.Contains(b, `"created":false`) {
		t.Errorf("push again: %d %s, want 200 and created false", code, b)
	}
	// Reads of the job view need the read scope.
	for _, path := range []string{"/api/v1/jobs", "/api/v1/jobs/rack-7", "/jobs", "/jobs/rack-7"} {
		if code, _, _ := request(t, reg.HTTP, http.MethodGet, reg.URL+path, "", nil); code != http.StatusUnauthorized {
			t.Errorf("GET %s without a token: %d, want 401", path, code)
		}
		if code, _, _ := request(t, reg.HTTP, http.MethodGet, reg.URL+path, upload, nil); code != http.StatusForbidden {
			t.Errorf("GET %s with an upload token: %d, want 403", path, code)
		}
		if code, _, b := request(t, reg.HTTP, http.MethodGet, reg.URL+path, read, nil); code != http.StatusOK {
			t.Errorf("GET %s with a read token: %d %s", path, code, b)
		}
	}
}
