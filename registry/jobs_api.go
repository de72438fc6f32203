package registry

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The JSON bodies of the job view's API (jobs.go), shared by the server and the
// client: decom plan push sends a plan with the client, from the boot image too.

// PlanReceipt is what the registry answers a pushed plan with.
type PlanReceipt struct {
	Job     string `json:"job"`
	SHA256  string `json:"sha256"`
	Hosts   int    `json:"hosts"`
	Drives  int    `json:"drives"`
	Created bool   `json:"created"`
	// Page is the job's page on the registry, relative to its base URL.
	Page string `json:"page"`
}

// JobList is the body of GET /api/v1/jobs.
type JobList struct {
	Jobs []JobSummary `json:"jobs"`
}

// JobSummary counts what a job holds: its hosts and drives (each drive once, by its
// serial number, else WWN, else host and path), its certificates and plans, and
// each drive's latest outcome (a missing drive has none).
type JobSummary struct {
	Name string `json:"name"`
	// Hosts and Drives count the planned ones and those with a certificate;
	// ReportedHosts the hosts with a certificate, Missing the planned drives
	// without one.
	Hosts         int            `json:"hosts"`
	ReportedHosts int            `json:"reported_hosts"`
	Drives        int            `json:"drives"`
	Missing       int            `json:"missing"`
	Certificates  int            `json:"certificates"`
	Plans         int            `json:"plans"`
	Outcomes      map[string]int `json:"outcomes"`
	LastReport    *time.Time     `json:"last_report,omitempty"`
	LastPlan      *time.Time     `json:"last_plan,omitempty"`
}

// The states of a drive in a job's view.
const (
	DriveWiped      = "wiped"      // sanitized, or sanitized with exceptions
	DriveUnverified = "unverified" // wiped, never read back: a record, not a certificate
	DriveFailed     = "failed"     // the latest attempt failed or was aborted
	DriveDestroyed  = "destroyed"  // a certificate of destruction
	DriveMissing    = "missing"    // planned, no certificate yet
)

// JobView is the body of GET /api/v1/jobs/NAME: the job's plans, and host by host
// its drives, planned ones and those with a certificate of the job.
type JobView struct {
	Name   string         `json:"name"`
	Plans  []JobPlan      `json:"plans"`
	Hosts  []JobHost      `json:"hosts"`
	States map[string]int `json:"states"`
	// Unplanned counts the drives with a certificate of the job that no plan of
	// the job lists (0 when the job has no plan).
	Unplanned int `json:"unplanned"`
}

// JobPlan is a plan pushed for the job.
type JobPlan struct {
	SHA256   string    `json:"sha256"`
	Uploaded time.Time `json:"uploaded"`
	Hosts    int       `json:"hosts"`
	Drives   int       `json:"drives"`
}

// JobHost is a host of the job: planned, or seen in a certificate.
type JobHost struct {
	Hostname     string `json:"hostname,omitempty"`
	SystemSerial string `json:"system_serial,omitempty"`
	SystemUUID   string `json:"system_uuid,omitempty"`
	// Planned says that a plan of the job lists the host; Reported that the
	// registry holds a certificate from it, or for one of its planned drives.
	Planned  bool       `json:"planned"`
	Reported bool       `json:"reported"`
	Drives   []JobDrive `json:"drives"`
}

// JobDrive is a drive of the job and its state: what its latest certificate says,
// or missing.
type JobDrive struct {
	Serial    string `json:"serial,omitempty"`
	WWN       string `json:"wwn,omitempty"`
	Model     string `json:"model,omitempty"`
	SizeBytes uint64 `json:"size_bytes,omitempty"`
	Path      string `json:"path,omitempty"`
	State     string `json:"state"`
	// Outcome is the latest certificate's outcome; "" for a missing drive.
	Outcome string `json:"outcome,omitempty"`
	// Planned says that a plan of the job lists the drive; Unplanned flags a
	// certificate for a drive the job's plans do not list.
	Planned   bool `json:"planned"`
	Unplanned bool `json:"unplanned,omitempty"`
	// Certificate is the latest certificate's ID and CertificateURL its page;
	// Certificates every certificate of the drive in the job, oldest first.
	Certificate    string   `json:"certificate,omitempty"`
	CertificateURL string   `json:"certificate_url,omitempty"`
	Certificates   []string `json:"certificates,omitempty"`
}

// JobPage is the address of a job's page on the registry at base.
func JobPage(base, job string) string {
	return strings.TrimRight(base, "/") + "/jobs/" + url.PathEscape(job)
}

// PushPlan sends an approved plan file (which names its job) to the registry and
// returns its receipt. The token needs the upload scope.
func (c *Client) PushPlan(ctx context.Context, plan []byte) (PlanReceipt, error) {
	var r PlanReceipt
	err := c.do(ctx, http.MethodPost, "/api/v1/plans", plan, &r)
	return r, err
}
