//go:build linux

package registry

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBrowserJobs drives the job pages in headless Chromium: the list of jobs, and
// the page of a job whose plan lists two hosts, where one host has reported a wiped
// drive, a failed one and a drive the plan did not list, and one of its drives and
// the other host's are missing.
func TestBrowserJobs(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a browser")
	}
	wd := startBrowser(t)
	reg := newTestRegistry(t)
	uploadJob(t, reg)
	shots := filepath.Join(os.TempDir(), "decom-ui")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	wd.open(t, reg.URL+"/")
	wd.find(t, `header nav a[href="/jobs"]`).click(t)
	wd.waitURL(t, func(u *url.URL) bool { return u.Path == "/jobs" })
	row := wd.find(t, `#jobs tr[data-job="rack-7"]`)
	if h, d := row.find(t, "td.hosts").text(t), row.find(t, "td.drives").text(t); h != "1 of 2" || d != "5" {
		t.Errorf("rack-7 in the list: hosts %q, drives %q; want 1 of 2 hosts reported, 5 drives", h, d)
	}
	if o := row.find(t, "td.outcomes").text(t); !strings.Contains(o, "2 sanitized") || !strings.Contains(o, "1 failed") || !strings.Contains(o, "2 missing") {
		t.Errorf("rack-7's outcomes: %q", o)
	}
	wd.screenshot(t, filepath.Join(shots, "jobs.png"))

	row.find(t, "a").click(t)
	wd.waitURL(t, func(u *url.URL) bool { return u.Path == "/jobs/rack-7" })
	if title := wd.find(t, "#job-title").text(t); title != "Job rack-7" {
		t.Errorf("title %q", title)
	}
	if s := wd.find(t, "#job-summary").text(t); !strings.Contains(s, "1 of 2 planned host(s) reported") ||
		!strings.Contains(s, "2 wiped") || !strings.Contains(s, "1 failed") || !strings.Contains(s, "2 missing") || !strings.Contains(s, "1 not in the plan") {
		t.Errorf("summary %q", s)
	}
	hosts := wd.findAll(t, "section.host")
	if len(hosts) != 2 {
		t.Fatalf("%d hosts, want 2", len(hosts))
	}
	if h := hosts[0].find(t, "h2").text(t); !strings.HasPrefix(h, "node7") || !strings.Contains(h, "reported") || strings.Contains(h, "not reported") {
		t.Errorf("first host: %q, want node7, reported", h)
	}
	if h := hosts[1].find(t, "h2").text(t); !strings.HasPrefix(h, "node8") || !strings.Contains(h, "not reported") {
		t.Errorf("second host: %q, want node8, not reported", h)
	}
	for serial, want := range map[string]string{"S-WIPED": "wiped", "S-FAILED": "failed", "S-MISSING": "missing", "S-EXTRA": "wiped not in the plan"} {
		r := hosts[0].find(t, `tr[data-serial="`+serial+`"]`)
		if got := r.find(t, "td.state").text(t); got != want {
			t.Errorf("%s: state %q, want %q", serial, got, want)
		}
		if c := r.find(t, "td.certificate").text(t); (serial == "S-MISSING") != (c == "no certificate yet") {
			t.Errorf("%s: certificate cell %q", serial, c)
		}
	}
	if got := hosts[1].find(t, `tr[data-serial="S-NODE8"] td.state`).text(t); got != "missing" {
		t.Errorf("node8's drive: %q, want missing", got)
	}
	// Colours follow the state: a missing or failed drive is red, a wiped one green.
	var colours []string
	wd.must(t, http.MethodPost, "/execute/sync", map[string]any{"script": `return ["S-WIPED","S-FAILED","S-MISSING"].map(s =>
		getComputedStyle(document.querySelector('tr[data-serial="'+s+'"] td.state')).color)`, "args": []any{}}, &colours)
	if len(colours) != 3 || colours[0] != "rgb(27, 122, 54)" || colours[1] != "rgb(179, 38, 30)" || colours[2] != "rgb(179, 38, 30)" {
		t.Errorf("state colours %v", colours)
	}
	wd.screenshot(t, filepath.Join(shots, "job.png"))

	// The wiped drive's certificate link leads to its page, which names the job.
	hosts[0].find(t, `tr[data-serial="S-WIPED"] td.certificate a`).click(t)
	wd.waitURL(t, func(u *url.URL) bool { return strings.HasPrefix(u.Path, "/certificates/") })
	if j := wd.find(t, "#job").text(t); j != "rack-7" {
		t.Errorf("the certificate page's job: %q", j)
	}
	wd.find(t, "#job a").click(t)
	wd.waitURL(t, func(u *url.URL) bool { return u.Path == "/jobs/rack-7" })
}
