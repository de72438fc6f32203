//go:build !agentimage

package registry

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/registry/store"
)

// The fleet view: jobs. Certificates name the job they were made in
// (Sanitization.Job), and decom plan push sends a job's approved plan. A job's page
// lists, host by host, the drives its plans approved and what became of each:
// wiped, failed, destroyed, or missing (no certificate yet), and flags the
// certificates of the job for drives no plan listed.
//
// A certificate counts for a planned drive when they name the same drive (the same
// serial number, or the same WWN; for a target with neither, the same host and
// path) and the certificate was made under one of the plans that list the drive
// (Sanitization.ApprovedPlanSHA256), or under none (a certificate of destruction,
// or a wipe with --job alone). The drive's state is its latest certificate's.

// planFile is what the registry reads of an approved plan file (package sanitize
// writes them; the registry does not link it): the job, and each host's identity
// and targets.
type planFile struct {
	Format string     `json:"format"`
	Job    string     `json:"job"`
	Hosts  []planHost `json:"hosts"`
}

type planHost struct {
	Host struct {
		Hostname     string `json:"hostname"`
		SystemSerial string `json:"system_serial"`
		SystemUUID   string `json:"system_uuid"`
	} `json:"host"`
	Targets []planTarget `json:"targets"`
}

type planTarget struct {
	Path      string `json:"path"`
	Serial    string `json:"serial"`
	WWN       string `json:"wwn"`
	Model     string `json:"model"`
	SizeBytes uint64 `json:"size_bytes"`
}

// planFormat is the plan file format the registry reads.
const planFormat = "decom-plan/1"

// errBadPlan: a pushed plan the registry cannot take.
var errBadPlan = errors.New("bad plan")

// parsePlan reads a plan file for a job: its format, its job, and a host identity
// and targets in each section.
func parsePlan(data []byte) (planFile, error) {
	var p planFile
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&p); err != nil {
		return planFile{}, fmt.Errorf("%w: not a plan file: %v", errBadPlan, err)
	}
	switch {
	case p.Format != planFormat:
		return planFile{}, fmt.Errorf("%w: format %q, want %q", errBadPlan, p.Format, planFormat)
	case p.Job == "":
		return planFile{}, fmt.Errorf("%w: the plan names no job (decom wipe --dry-run --plan-out FILE --job NAME, or decom plan merge --job NAME)", errBadPlan)
	case len(p.Hosts) == 0:
		return planFile{}, fmt.Errorf("%w: no host section", errBadPlan)
	}
	if err := certificates.ValidJob(p.Job); err != nil {
		return planFile{}, fmt.Errorf("%w: %v", errBadPlan, err)
	}
	for i, h := range p.Hosts {
		if h.Host.Hostname == "" && h.Host.SystemSerial == "" && h.Host.SystemUUID == "" {
			return planFile{}, fmt.Errorf("%w: host section %d has no host identity", errBadPlan, i+1)
		}
		for _, t := range h.Targets {
			if t.Path == "" {
				return planFile{}, fmt.Errorf("%w: host section %d has a target without a path", errBadPlan, i+1)
			}
		}
	}
	return p, nil
}

// jobFields are what the store keeps of a certificate for its job's view; nil for
// a certificate of no job.
func jobFields(c *certificates.Certificate) *store.JobFields {
	if c.Sanitization.Job == "" {
		return nil
	}
	return &store.JobFields{Job: c.Sanitization.Job, PlanSHA256: c.Sanitization.ApprovedPlanSHA256,
		Hostname: c.Source.Hostname, SystemSerial: c.Source.SystemSerial, SystemUUID: c.Source.SystemUUID,
		Model: c.Media.Model, Path: c.Media.Path, SizeBytes: c.Media.SizeBytes}
}

func (p planFile) drives() int {
	n := 0
	for _, h := range p.Hosts {
		n += len(h.Targets)
	}
	return n
}

func (s *Server) jobRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /api/v1/plans", s.pushPlan)
	m.HandleFunc("GET /api/v1/jobs", s.listJobs)
	m.HandleFunc("GET /api/v1/jobs/{name...}", s.getJob)
	m.HandleFunc("GET /jobs", s.uiJobs)
	m.HandleFunc("GET /jobs/{name...}", s.uiJob)
}

// pushPlan stores an approved plan for its job (upload scope).
func (s *Server) pushPlan(w http.ResponseWriter, r *http.Request) {
	if _, err := s.authorize(r, store.ScopeUpload, false); err != nil {
		if errors.Is(err, errScope) {
			writeError(w, http.StatusForbidden, "this token may not push plans: it lacks the upload scope")
			return
		}
		writeError(w, http.StatusUnauthorized, "a valid API token is required (Authorization: Bearer TOKEN)")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, store.MaxPlanLen))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "plan larger than %d bytes", store.MaxPlanLen)
			return
		}
		writeError(w, http.StatusBadRequest, "reading the body: %v", err)
		return
	}
	p, err := parsePlan(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	sum := sha256.Sum256(body)
	stored, created, err := s.store.PutPlan(r.Context(), store.Plan{SHA256: hex.EncodeToString(sum[:]), Job: p.Job, Body: body})
	switch {
	case errors.Is(err, store.ErrInvalid):
		writeError(w, http.StatusBadRequest, "plan not storable: %v", err)
		return
	case err != nil:
		s.internal(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		s.logger.Info("plan pushed", "job", stored.Job, "sha256", stored.SHA256, "hosts", len(p.Hosts))
	}
	writeJSON(w, status, PlanReceipt{Job: stored.Job, SHA256: stored.SHA256, Hosts: len(p.Hosts), Drives: p.drives(),
		Created: created, Page: JobPage("", stored.Job)})
}

func (s *Server) jobSummaries(r *http.Request) ([]JobSummary, error) {
	sums, err := s.store.JobSummaries(r.Context())
	if err != nil {
		return nil, err
	}
	out := make([]JobSummary, 0, len(sums))
	for _, j := range sums {
		js := JobSummary{Name: j.Name, Hosts: j.Hosts, ReportedHosts: j.Hosts, Drives: j.Drives, Certificates: j.Certificates,
			Plans: j.Plans, Outcomes: j.Outcomes}
		if j.Plans > 0 {
			// The plans add the hosts and drives that have not reported.
			v, _, err := s.jobView(r, j.Name)
			if err != nil {
				return nil, err
			}
			js.Hosts, js.ReportedHosts, js.Drives, js.Missing = len(v.Hosts), 0, 0, v.States[DriveMissing]
			for _, h := range v.Hosts {
				js.Drives += len(h.Drives)
				if h.Reported {
					js.ReportedHosts++
				}
			}
		}
		if !j.LastReport.IsZero() {
			t := j.LastReport
			js.LastReport = &t
		}
		if !j.LastPlan.IsZero() {
			t := j.LastPlan
			js.LastPlan = &t
		}
		out = append(out, js)
	}
	return out, nil
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) {
	jobs, err := s.jobSummaries(r)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, JobList{Jobs: jobs})
}

// jobView gathers a job's plans and certificates; found is false for a job the
// registry has neither of.
func (s *Server) jobView(r *http.Request, name string) (v JobView, found bool, err error) {
	plans, err := s.store.Plans(r.Context(), name)
	if err != nil {
		return JobView{}, false, err
	}
	recs, err := s.store.JobCertificates(r.Context(), name)
	if err != nil {
		return JobView{}, false, err
	}
	return buildJobView(name, plans, recs), len(plans) > 0 || len(recs) > 0, nil
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	v, found, err := s.jobView(r, name)
	switch {
	case err != nil:
		s.internal(w, r, err)
	case !found:
		writeError(w, http.StatusNotFound, "no job %q: no certificate names it and no plan was pushed for it", name)
	default:
		writeJSON(w, http.StatusOK, v)
	}
}

// driveState is a drive's state in the job view, from its latest certificate's outcome.
func driveState(outcome string) string {
	switch outcome {
	case certificates.OutcomeSanitized, certificates.OutcomeExceptions:
		return DriveWiped
	case certificates.OutcomeUnverified:
		return DriveUnverified
	case certificates.OutcomeDestroyed:
		return DriveDestroyed
	}
	return DriveFailed
}

// viewHost is a host of the view being built, with its drives by key.
type viewHost struct {
	*JobHost
	key    string
	drives map[string]int // drive key → index in Drives
}

// plannedDrive is a drive a plan lists, and the plans that do.
type plannedDrive struct {
	host              *viewHost
	index             int
	serial, wwn, path string
	plans             map[string]bool
}

// matches reports whether certificate r is about this planned drive, under one of
// its plans or none.
func (d *plannedDrive) matches(r store.JobRecord, hostKey string) bool {
	if r.PlanSHA256 != "" && !d.plans[r.PlanSHA256] {
		return false
	}
	fold := func(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
	serial, wwn := fold(d.serial), fold(d.wwn)
	if serial == "" && wwn == "" {
		return d.host.key == hostKey && d.path == r.JobFields.Path
	}
	return serial != "" && serial == fold(r.Serial) || wwn != "" && wwn == fold(r.WWN)
}

// buildJobView lays a job's certificates (as received, oldest first) over its plans
// (oldest first).
func buildJobView(name string, plans []store.Plan, recs []store.JobRecord) JobView {
	v := JobView{Name: name, Plans: []JobPlan{}, Hosts: []JobHost{}, States: map[string]int{}}
	var hosts []*viewHost
	byKey := map[string]*viewHost{}
	host := func(key, hostname, serial, uuid string) *viewHost {
		h, ok := byKey[key]
		if !ok {
			h = &viewHost{JobHost: &JobHost{Hostname: hostname, SystemSerial: serial, SystemUUID: uuid, Drives: []JobDrive{}},
				key: key, drives: map[string]int{}}
			byKey[key] = h
			hosts = append(hosts, h)
		}
		return h
	}
	var planned []*plannedDrive
	for _, p := range plans {
		pf, err := parsePlan(p.Body)
		if err != nil {
			continue // checked when it was pushed
		}
		v.Plans = append(v.Plans, JobPlan{SHA256: p.SHA256, Uploaded: p.Uploaded, Hosts: len(pf.Hosts), Drives: pf.drives()})
		for _, ph := range pf.Hosts {
			hk := store.HostKey(ph.Host.Hostname, ph.Host.SystemSerial, ph.Host.SystemUUID)
			h := host(hk, ph.Host.Hostname, ph.Host.SystemSerial, ph.Host.SystemUUID)
			h.Planned = true
			for _, t := range ph.Targets {
				dk := store.DriveKey(t.Serial, t.WWN, hk, t.Path)
				if i, ok := h.drives[dk]; ok {
					for _, d := range planned {
						if d.host == h && d.index == i {
							d.plans[p.SHA256] = true
						}
					}
					continue
				}
				h.drives[dk] = len(h.Drives)
				h.Drives = append(h.Drives, JobDrive{Serial: t.Serial, WWN: t.WWN, Model: t.Model, SizeBytes: t.SizeBytes,
					Path: t.Path, State: DriveMissing, Planned: true})
				planned = append(planned, &plannedDrive{host: h, index: len(h.Drives) - 1, serial: t.Serial, wwn: t.WWN,
					path: t.Path, plans: map[string]bool{p.SHA256: true}})
			}
		}
	}
	record := func(d *JobDrive, r store.JobRecord) {
		d.State, d.Outcome = driveState(r.Outcome), r.Outcome
		d.Certificate, d.CertificateURL = r.ID, "/certificates/"+url.PathEscape(r.ID)
		d.Certificates = append(d.Certificates, r.ID)
		if d.Model == "" {
			d.Model = r.JobFields.Model
		}
		if d.SizeBytes == 0 {
			d.SizeBytes = r.SizeBytes
		}
		if d.Serial == "" {
			d.Serial = r.Serial
		}
		if d.WWN == "" {
			d.WWN = r.WWN
		}
	}
	for _, r := range recs {
		hk := store.HostKey(r.Hostname, r.SystemSerial, r.SystemUUID)
		if h, ok := byKey[hk]; ok {
			h.Reported = true
		}
		var match *plannedDrive
		for _, d := range planned {
			if d.matches(r, hk) && (match == nil || d.host.key == hk && match.host.key != hk) {
				match = d
			}
		}
		if match != nil {
			match.host.Reported = true
			record(&match.host.Drives[match.index], r)
			continue
		}
		h := host(hk, r.Hostname, r.SystemSerial, r.SystemUUID)
		h.Reported = true
		dk := store.DriveKey(r.Serial, r.WWN, hk, r.JobFields.Path)
		i, ok := h.drives[dk]
		if !ok || h.Drives[i].Planned {
			h.drives[dk] = len(h.Drives)
			h.Drives = append(h.Drives, JobDrive{Path: r.JobFields.Path, Unplanned: len(v.Plans) > 0})
			i = len(h.Drives) - 1
		}
		record(&h.Drives[i], r)
	}
	for _, h := range hosts {
		for _, d := range h.Drives {
			v.States[d.State]++
			if d.Unplanned {
				v.Unplanned++
			}
		}
		v.Hosts = append(v.Hosts, *h.JobHost)
	}
	return v
}

// The pages.

type jobsPage struct {
	Jobs []JobSummary
}

func (s *Server) uiJobs(w http.ResponseWriter, r *http.Request) {
	jobs, err := s.jobSummaries(r)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, s.uiTemplates.jobs, jobsPage{Jobs: jobs})
}

type jobPage struct {
	JobView
	Found bool
	// Counts are the summary's parts: "2 wiped", "1 missing", each with its class.
	Counts []jobCount
	// Reported counts the planned hosts that have reported.
	Reported, PlannedHosts int
	Generated              time.Time
}

type jobCount struct{ State, Text, Class string }

func (s *Server) uiJob(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if name == "" {
		http.Redirect(w, r, "/jobs", http.StatusSeeOther)
		return
	}
	v, found, err := s.jobView(r, name)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	p := jobPage{JobView: v, Found: found, Generated: time.Now()}
	for _, c := range []jobCount{{DriveWiped, "wiped", "ok"}, {DriveDestroyed, "destroyed", "ok"},
		{DriveUnverified, "not read back", "unverified"}, {DriveFailed, "failed", "bad"}, {DriveMissing, "missing", "bad"}} {
		if n := v.States[c.State]; n > 0 {
			c.Text = fmt.Sprintf("%d %s", n, c.Text)
			p.Counts = append(p.Counts, c)
		}
	}
	if v.Unplanned > 0 {
		p.Counts = append(p.Counts, jobCount{Text: fmt.Sprintf("%d not in the plan", v.Unplanned), Class: "warn"})
	}
	for _, h := range v.Hosts {
		if h.Planned {
			p.PlannedHosts++
			if h.Reported {
				p.Reported++
			}
		}
	}
	status := http.StatusOK
	if !found {
		status = http.StatusNotFound
	}
	s.render(w, r, status, s.uiTemplates.job, p)
}
