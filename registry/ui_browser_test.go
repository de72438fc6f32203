//go:build linux

package registry

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/wipe"
)

// The browser the UI tests drive: Debian's chromium and chromium-driver packages.
const (
	chromiumPath     = "/usr/bin/chromium"
	chromedriverPath = "/usr/bin/chromedriver"
)

// TestBrowserUI drives the auditor pages in headless Chromium, through
// chromedriver's W3C WebDriver API, against a real registry holding 60 uploaded
// certificates: search, the list's columns, a certificate's page, pagination, the
// log page, the downloads, hostile input and the not-found page.
func TestBrowserUI(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a browser")
	}
	wd := startBrowser(t)
	reg := newTestRegistry(t)

	// 60 certificates, so the unfiltered search (50 a page) has a second page: most
	// sanitized, one failed, one aborted, one with exceptions.
	orgs := []string{"ACME Corp", "Globex", "Initech"}
	methods := []string{"dod-3", "zero", "random", "nist-clear"}
	base := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	var certs []*certificates.Certificate
	for i := range 60 {
		tc := testCert{Serial: fmt.Sprintf("S6PTNM0T%06dA", 100+i), Organization: orgs[i%len(orgs)],
			Customer: fmt.Sprintf("customer-%d", i%7), Method: methods[i%len(methods)], Issued: base.Add(time.Duration(i) * time.Hour)}
		switch i {
		case 7:
			tc.Unverified = true // a failed read-back: a record of a failed sanitization
		case 8:
			tc.Outcome = wipe.OutcomeAborted
		case 9:
			tc.Outcome = wipe.OutcomeExceptions
		case 10:
			tc.NotReadBack = true // a record of unverified sanitization
		case 20, 21:
			// Two drives without a serial number: the asset number, model and path
			// tell them apart in the list.
			tc.Serial, tc.Asset, tc.Path, tc.Model = "", fmt.Sprintf("RACK4-U%d", i), fmt.Sprintf("/dev/sd%c", 'a'+i-18), fmt.Sprintf("QEMU HARDDISK %d", i)
		case 22:
			tc.Serial, tc.NoAsset = "", true
		}
		certs = append(certs, reg.certificate(t, tc))
	}
	// The certificate the page test opens has a destination with details, a
	// validator without organization, location or contact, both
	// categorisations, and no operator contact.
	good := certs[12]
	good.Destination = certificates.Destination{Kind: certificates.DestRecycling, Details: "Shredder lot 5"}
	good.ValidatedBy = &certificates.Person{Name: "Ann Auditor", Title: "Security Officer"}
	good.PreCategorization, good.PostCategorization = "Confidential (patient data)", "Unclassified"
	good.PerformedBy.Contact = ""
	start := time.Now()
	bundles := reg.upload(t, certs...)
	t.Logf("uploaded %d certificates in %v", len(certs), time.Since(start).Round(time.Millisecond))
	failed := certs[7]
	if good.Outcome != certificates.OutcomeSanitized || failed.Outcome != certificates.OutcomeFailed {
		t.Fatalf("outcomes %s and %s", good.Outcome, failed.Outcome)
	}

	shots := filepath.Join(os.TempDir(), "decom-ui")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	t.Run("latest", func(t *testing.T) {
		wd.open(t, reg.URL+"/")
		if h := wd.find(t, "main h2").text(t); h != "Latest certificates" {
			t.Errorf("heading %q", h)
		}
		if rows := wd.findAll(t, "#results tbody tr"); len(rows) != 50 {
			t.Errorf("%d rows on the first page, want 50", len(rows))
		}
		wd.screenshot(t, filepath.Join(shots, "search.png"))
	})

	t.Run("search by serial", func(t *testing.T) {
		wd.open(t, reg.URL+"/")
		wd.find(t, `#search input[name="serial"]`).sendKeys(t, good.Media.Serial)
		wd.find(t, `#search button[type="submit"]`).click(t)
		wd.waitURL(t, func(u *url.URL) bool { return u.Query().Get("serial") == good.Media.Serial })
		if h := wd.find(t, "main h2").text(t); h != "Results" {
			t.Errorf("heading %q", h)
		}
		rows := wd.findAll(t, "#results tbody tr")
		if len(rows) != 1 {
			t.Fatalf("%d rows for serial %s, want 1", len(rows), good.Media.Serial)
		}
		cells := rows[0].findAll(t, "td")
		if len(cells) < 7 || cells[1].text(t) != good.Media.Serial || cells[5].text(t) != certificates.OutcomeSanitized ||
			cells[6].text(t) != good.Sanitization.Method {
			t.Errorf("row %q", rows[0].text(t))
		}
		link := rows[0].find(t, "a")
		if href := link.attr(t, "href"); href != "/certificates/"+good.ID {
			t.Errorf("link to %q, want /certificates/%s", href, good.ID)
		}
		link.click(t)
		wd.waitURL(t, func(u *url.URL) bool { return u.Path == "/certificates/"+good.ID })
	})

	t.Run("list columns", func(t *testing.T) {
		wd.open(t, reg.URL+"/")
		var heads []string
		for _, th := range wd.findAll(t, "#results thead th") {
			heads = append(heads, th.text(t))
		}
		if got := strings.Join(heads, "|"); !strings.HasPrefix(got, "Issued|Serial|Asset no.|Model|Path|Outcome|Method|") {
			t.Errorf("columns %s", got)
		}
		// The cells of every row, by link, over both pages of the list.
		cellsOf := map[string]map[string]string{}
		for page := 0; ; page++ {
			for _, row := range wd.findAll(t, "#results tbody tr") {
				cells := map[string]string{}
				for _, class := range []string{"serial", "asset", "model", "path"} {
					cells[class] = row.find(t, "td."+class).text(t)
				}
				cellsOf[row.find(t, "a").attr(t, "href")] = cells
			}
			if page > 0 || len(wd.findAll(t, "#next")) == 0 {
				break
			}
			wd.find(t, "#next").click(t)
			wd.waitURL(t, func(u *url.URL) bool { return u.Query().Get("cursor") != "" })
		}
		for _, c := range []*certificates.Certificate{certs[20], certs[21], certs[22], good} {
			cells, ok := cellsOf["/certificates/"+c.ID]
			if !ok {
				t.Errorf("certificate %s is not listed", c.ID)
				continue
			}
			want := map[string]string{"serial": c.Media.Serial, "asset": c.Media.AssetNumber, "model": c.Media.Model, "path": c.Media.Path}
			for class, v := range want {
				if v == "" {
					v = "—"
				}
				if cells[class] != v {
					t.Errorf("certificate %s: %s %q, want %q", c.ID, class, cells[class], v)
				}
			}
		}
		// The two drives without a serial differ in the list.
		a, b := cellsOf["/certificates/"+certs[20].ID], cellsOf["/certificates/"+certs[21].ID]
		if a["serial"] != "—" || a["path"] == b["path"] || a["asset"] == b["asset"] {
			t.Errorf("drives without serial: rows %q and %q", a, b)
		}
		// The search list has the same columns.
		wd.open(t, reg.URL+"/?asset=RACK4-U21")
		rows := wd.findAll(t, "#results tbody tr")
		if len(rows) != 1 || rows[0].find(t, "td.path").text(t) != certs[21].Media.Path || rows[0].find(t, "td.model").text(t) != certs[21].Media.Model {
			t.Errorf("search by asset number: %d rows", len(rows))
		}
	})

	t.Run("certificate", func(t *testing.T) {
		wd.open(t, reg.URL+"/certificates/"+good.ID)
		if h := wd.find(t, "#title").text(t); h != "Certificate of Sanitization" {
			t.Errorf("title %q", h)
		}
		if got := wd.find(t, "#serial").text(t); got != good.Media.Serial {
			t.Errorf("serial %q, want %q", got, good.Media.Serial)
		}
		if got := wd.find(t, "#method").text(t); !strings.HasPrefix(got, good.Sanitization.Method+" ") {
			t.Errorf("method %q, want %s", got, good.Sanitization.Method)
		}
		if got := wd.find(t, "#outcome").text(t); got != certificates.OutcomeSanitized {
			t.Errorf("outcome %q", got)
		}
		sig := wd.find(t, "#signature")
		if class, text := sig.attr(t, "class"), sig.text(t); class != "ok" || !strings.Contains(text, reg.AgentFingerprint) {
			t.Errorf("signature: class %q, %q; want ok and the key %s", class, text, reg.AgentFingerprint)
		}
		inc := wd.find(t, "#inclusion")
		if class, text := inc.attr(t, "class"), inc.text(t); class != "ok" || !strings.Contains(text, "proof verified") {
			t.Errorf("inclusion: class %q, %q", class, text)
		}
		if n := len(wd.findAll(t, ".banner.bad")); n != 0 {
			t.Errorf("%d failure banners on a certificate", n)
		}
		for id, want := range map[string]string{
			"pre-categorization":  good.PreCategorization,
			"post-categorization": good.PostCategorization,
			// No stray comma for the fields the validator left out.
			"validated-by":        "Ann Auditor, Security Officer",
			"destination":         certificates.DestRecycling,
			"destination-details": "Shredder lot 5",
			"path":                good.Media.Path,
			"asset":               good.Media.AssetNumber,
			"notes":               "not recorded",
		} {
			if got := wd.find(t, "#"+id).text(t); got != want {
				t.Errorf("#%s %q, want %q", id, got, want)
			}
		}
		// Every field the certificate leaves empty says so, none is blank.
		var blank []string
		wd.must(t, http.MethodPost, "/execute/sync", map[string]any{
			"script": "return Array.from(document.querySelectorAll('dd')).filter(d => d.textContent.trim() === '').map(d => d.previousElementSibling.textContent)",
			"args":   []any{}}, &blank)
		if len(blank) != 0 {
			t.Errorf("blank fields: %q", blank)
		}
		var unrecorded []string
		wd.must(t, http.MethodPost, "/execute/sync", map[string]any{
			"script": "return Array.from(document.querySelectorAll('dd .none')).map(e => e.closest('dd').previousElementSibling.textContent)",
			"args":   []any{}}, &unrecorded)
		if !slices.Contains(unrecorded, "Contact") || !slices.Contains(unrecorded, "Notes") {
			t.Errorf("fields shown as not recorded: %q, want Contact and Notes among them", unrecorded)
		}
		wd.screenshot(t, filepath.Join(shots, "certificate.png"))
	})

	t.Run("narrow window", func(t *testing.T) {
		wd.resize(t, 420, 900)
		defer wd.resize(t, 1280, 1000)
		for _, page := range []struct{ path, shot string }{
			{"/certificates/" + good.ID, "certificate-narrow.png"}, {"/", "search-narrow.png"}, {"/log", "log-narrow.png"},
		} {
			wd.open(t, reg.URL+page.path)
			var widths []int
			wd.must(t, http.MethodPost, "/execute/sync", map[string]any{
				"script": "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]", "args": []any{}}, &widths)
			if len(widths) != 2 || widths[0] > widths[1] {
				t.Errorf("%s: the page is wider than the window: %v", page.path, widths)
			}
			wd.screenshot(t, filepath.Join(shots, page.shot))
		}
	})

	t.Run("failure record", func(t *testing.T) {
		wd.open(t, reg.URL+"/certificates/"+failed.ID)
		if h := wd.find(t, "#title").text(t); !strings.Contains(h, "NOT a certificate") {
			t.Errorf("title %q", h)
		}
		if title := wd.title(t); !strings.Contains(title, "NOT a certificate") {
			t.Errorf("window title %q", title)
		}
		if b := wd.find(t, ".banner.bad").text(t); !strings.Contains(b, "does not certify") {
			t.Errorf("banner %q", b)
		}
		if got := wd.find(t, "#outcome").text(t); got != certificates.OutcomeFailed {
			t.Errorf("outcome %q", got)
		}
		if class := wd.find(t, "#signature").attr(t, "class"); class != "ok" {
			t.Errorf("signature class %q: a failure record is signed too", class)
		}
		wd.screenshot(t, filepath.Join(shots, "certificate-failed.png"))
	})

	t.Run("unverified record", func(t *testing.T) {
		unread := certs[10]
		wd.open(t, reg.URL+"/?outcome="+certificates.OutcomeUnverified)
		rows := wd.findAll(t, "#results tbody tr")
		if len(rows) != 1 {
			t.Fatalf("%d rows for outcome unverified, want 1", len(rows))
		}
		cell := rows[0].findAll(t, "td")[5]
		if cell.text(t) != certificates.OutcomeUnverified || cell.attr(t, "class") != "unverified" {
			t.Errorf("outcome cell %q of class %q", cell.text(t), cell.attr(t, "class"))
		}
		rows[0].find(t, "a").click(t)
		wd.waitURL(t, func(u *url.URL) bool { return u.Path == "/certificates/"+unread.ID })
		if h := wd.find(t, "#title").text(t); h != unread.Title() || !strings.Contains(h, "NOT a certificate") {
			t.Errorf("title %q", h)
		}
		if b := wd.find(t, "#banner-unverified").text(t); !strings.Contains(b, "never read back") || !strings.Contains(b, "does not certify") {
			t.Errorf("banner %q", b)
		}
		if class := wd.find(t, "#signature").attr(t, "class"); class != "ok" {
			t.Errorf("signature class %q: the record is signed too", class)
		}
		wd.screenshot(t, filepath.Join(shots, "certificate-unverified.png"))
	})

	t.Run("next page", func(t *testing.T) {
		wd.open(t, reg.URL+"/")
		wd.find(t, `#search button[type="submit"]`).click(t) // every field empty
		wd.waitURL(t, func(u *url.URL) bool { return u.Query().Has("serial") })
		first := wd.links(t, "#results tbody tr a")
		wd.find(t, "#next").click(t)
		wd.waitURL(t, func(u *url.URL) bool { return u.Query().Get("cursor") != "" })
		second := wd.links(t, "#results tbody tr a")
		if len(first) != 50 || len(second) != 10 {
			t.Errorf("pages of %d and %d rows, want 50 and 10", len(first), len(second))
		}
		seen := map[string]bool{}
		for _, l := range append(first, second...) {
			if seen[l] {
				t.Errorf("%s on both pages", l)
			}
			seen[l] = true
		}
		for _, c := range certs {
			if !seen["/certificates/"+c.ID] {
				t.Errorf("certificate %s on neither page", c.ID)
			}
		}
		if n := len(wd.findAll(t, "#next")); n != 0 {
			t.Errorf("the last page links to a next one")
		}
	})

	t.Run("log", func(t *testing.T) {
		wd.open(t, reg.URL+"/log")
		if size := wd.find(t, "#size").text(t); size != strconv.Itoa(len(certs)) {
			t.Errorf("size %s, want %d", size, len(certs))
		}
		origin := wd.find(t, "#origin").text(t)
		if origin != reg.Origin {
			t.Errorf("origin %q, want %q", origin, reg.Origin)
		}
		cp := wd.find(t, "#checkpoint").text(t)
		if first, _, _ := strings.Cut(cp, "\n"); first != origin {
			t.Errorf("checkpoint starts %q, want the origin %q:\n%s", first, origin, cp)
		}
		if lines := strings.Split(cp, "\n"); len(lines) < 2 || lines[1] != strconv.Itoa(len(certs)) {
			t.Errorf("checkpoint does not state the size %d:\n%s", len(certs), cp)
		}
		wd.screenshot(t, filepath.Join(shots, "log.png"))
	})

	t.Run("downloads", func(t *testing.T) {
		wd.open(t, reg.URL+"/certificates/"+good.ID)
		jsonURL := wd.find(t, "#download-json").prop(t, "href")
		pdfURL := wd.find(t, "#download-pdf").prop(t, "href")
		for _, u := range []string{jsonURL, pdfURL} {
			if !strings.HasPrefix(u, reg.URL+"/") {
				t.Fatalf("download link %q leaves the registry", u)
			}
		}
		body, ctype := fetch(t, reg, jsonURL, http.StatusOK)
		if !bytes.Equal(body, bundles[12]) {
			t.Errorf("the JSON download is not the uploaded bundle:\n%s", body)
		}
		if !strings.HasPrefix(ctype, "application/json") {
			t.Errorf("JSON served as %q", ctype)
		}
		body, ctype = fetch(t, reg, pdfURL, http.StatusOK)
		if !bytes.HasPrefix(body, []byte("%PDF")) || ctype != "application/pdf" {
			t.Errorf("PDF download: %q, starting %q", ctype, body[:min(len(body), 16)])
		}
	})

	t.Run("hostile search", func(t *testing.T) {
		for _, in := range []string{`' OR 1=1 --`, `%`, `_`, `<script>alert(1)</script>`, `" onfocus="alert(1)`} {
			for _, field := range []string{"serial", "organization"} {
				wd.open(t, reg.URL+"/")
				wd.find(t, `#search input[name="`+field+`"]`).sendKeys(t, in)
				wd.find(t, `#search button[type="submit"]`).click(t)
				wd.waitURL(t, func(u *url.URL) bool { return u.Query().Get(field) == in })
				if n := len(wd.findAll(t, "#results")); n != 0 {
					t.Errorf("%s %q: results listed", field, in)
				}
				if msg := wd.find(t, "#empty").text(t); msg != "No certificate matches." {
					t.Errorf("%s %q: %q", field, in, msg)
				}
				if v := wd.find(t, `#search input[name="`+field+`"]`).prop(t, "value"); v != in {
					t.Errorf("%s %q: the form shows %q", field, in, v)
				}
				if n := len(wd.findAll(t, "script, [onfocus]")); n != 0 {
					t.Errorf("%s %q: %d script elements or handlers in the page", field, in, n)
				}
				wd.noAlert(t)
				raw, _ := fetch(t, reg, wd.currentURL(t).String(), http.StatusOK)
				if in == `<script>alert(1)</script>` &&
					(!bytes.Contains(raw, []byte("&lt;script&gt;alert(1)&lt;/script&gt;")) || bytes.Contains(raw, []byte("<script>"))) {
					t.Errorf("%s %q: not escaped in the page", field, in)
				}
			}
		}
	})

	t.Run("not found", func(t *testing.T) {
		for _, id := range []string{"00000000-0000-4000-8000-000000000000", "<script>alert(1)</script>"} {
			u := reg.URL + "/certificates/" + url.PathEscape(id)
			fetch(t, reg, u, http.StatusNotFound)
			wd.open(t, u)
			if h := wd.find(t, "main h1").text(t); h != "Not found" {
				t.Errorf("%s: heading %q", id, h)
			}
			if got := wd.find(t, "main code").text(t); got != id {
				t.Errorf("%s: the page names %q", id, got)
			}
			if n := len(wd.findAll(t, "script")); n != 0 {
				t.Errorf("%s: %d script elements", id, n)
			}
			wd.noAlert(t)
		}
	})
}

// fetch GETs a URL of the test registry with Go's client, checks the status and
// returns the body and its content type.
func fetch(t *testing.T, reg *testRegistry, u string, status int) ([]byte, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := reg.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != status {
		t.Errorf("GET %s: %s, want %d", u, resp.Status, status)
	}
	return body, resp.Header.Get("Content-Type")
}

// webDriver is a session of chromedriver's W3C WebDriver HTTP API
// (https://www.w3.org/TR/webdriver2/): just what the UI tests use.
type webDriver struct {
	base    string // chromedriver's URL
	session string
	client  *http.Client
}

// webDriverError is an error the remote end answered with.
type webDriverError struct {
	Code    string `json:"error"`
	Message string `json:"message"`
}

func (e *webDriverError) Error() string { return e.Code + ": " + e.Message }

// elementKey is the W3C web element identifier.
const elementKey = "element-6066-11e4-a52e-4f735466cecf"

// startBrowser starts chromedriver on a free loopback port and opens a headless
// Chromium session in it. Both end with the test, failed or not. Without
// Chromium the test is skipped, except in CI where it fails.
func startBrowser(t *testing.T) *webDriver {
	t.Helper()
	for _, p := range []string{chromiumPath, chromedriverPath} {
		if _, err := os.Stat(p); err != nil {
			msg := fmt.Sprintf("no browser to drive (%v); install Debian's chromium and chromium-driver", err)
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	profile := t.TempDir() // removed after chromedriver is killed: cleanups run last first
	logPath := filepath.Join(t.TempDir(), "chromedriver.log")

	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(chromedriverPath, "--port="+strconv.Itoa(port), "--allowed-ips=127.0.0.1",
		"--log-path="+logPath)
	// Its own process group, so that killing it takes Chromium along.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	wd := &webDriver{base: "http://127.0.0.1:" + strconv.Itoa(port),
		client: &http.Client{Timeout: time.Minute, Transport: &http.Transport{Proxy: nil}}}
	t.Cleanup(func() {
		if wd.session != "" {
			if err := wd.call(http.MethodDelete, "", nil, nil); err != nil {
				t.Logf("delete the WebDriver session: %v", err)
			}
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		if t.Failed() {
			if log, err := os.ReadFile(logPath); err == nil && len(log) > 0 {
				t.Logf("chromedriver's log (last 4 KiB):\n%s", log[max(0, len(log)-4096):])
			}
		}
	})

	deadline := time.Now().Add(20 * time.Second)
	for {
		var status struct {
			Ready bool `json:"ready"`
		}
		if err := wd.do(http.MethodGet, "/status", nil, &status); err == nil && status.Ready {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("chromedriver did not become ready on port %d: %v", port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName":      "chrome",
		"pageLoadStrategy": "normal",
		"goog:chromeOptions": map[string]any{
			"binary": chromiumPath,
			"args": []string{"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
				"--disable-background-networking", "--disable-component-update", "--disable-sync",
				"--user-data-dir=" + profile, "--window-size=1280,1000",
				// Loopback only: no proxy, and no name resolves.
				"--no-proxy-server", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"},
		},
	}}}
	var session struct {
		SessionID string `json:"sessionId"`
	}
	if err := wd.do(http.MethodPost, "/session", caps, &session); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	wd.session = session.SessionID
	return wd
}

// freePort returns a loopback TCP port that nothing listened on a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// do sends one WebDriver command and decodes the "value" of the answer into out.
func (wd *webDriver) do(method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, wd.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := wd.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var answer struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return fmt.Errorf("%s %s: %s, undecodable: %w", method, path, resp.Status, err)
	}
	if resp.StatusCode != http.StatusOK {
		e := &webDriverError{}
		if err := json.Unmarshal(answer.Value, e); err != nil || e.Code == "" {
			return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, answer.Value)
		}
		return e
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(answer.Value, out)
}

// call sends a command of the session.
func (wd *webDriver) call(method, path string, in, out any) error {
	return wd.do(method, "/session/"+wd.session+path, in, out)
}

func (wd *webDriver) must(t *testing.T, method, path string, in, out any) {
	t.Helper()
	if err := wd.call(method, path, in, out); err != nil {
		t.Fatalf("WebDriver %s %s: %v", method, path, err)
	}
}

func (wd *webDriver) open(t *testing.T, u string) {
	t.Helper()
	wd.must(t, http.MethodPost, "/url", map[string]string{"url": u}, nil)
}

func (wd *webDriver) currentURL(t *testing.T) *url.URL {
	t.Helper()
	var s string
	wd.must(t, http.MethodGet, "/url", nil, &s)
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// waitURL waits for the browser to be at a URL ok accepts.
func (wd *webDriver) waitURL(t *testing.T, ok func(*url.URL) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		u := wd.currentURL(t)
		if ok(u) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the browser stayed at %s", u)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// resize sets the size of the browser window.
func (wd *webDriver) resize(t *testing.T, width, height int) {
	t.Helper()
	wd.must(t, http.MethodPost, "/window/rect", map[string]int{"width": width, "height": height}, nil)
}

func (wd *webDriver) title(t *testing.T) string {
	t.Helper()
	var s string
	wd.must(t, http.MethodGet, "/title", nil, &s)
	return s
}

// noAlert checks that no JavaScript dialog is open.
func (wd *webDriver) noAlert(t *testing.T) {
	t.Helper()
	var text string
	err := wd.call(http.MethodGet, "/alert/text", nil, &text)
	var we *webDriverError
	if !errors.As(err, &we) || we.Code != "no such alert" {
		t.Errorf("alert: %q, %v; want no such alert", text, err)
		_ = wd.call(http.MethodPost, "/alert/dismiss", map[string]any{}, nil)
	}
}

// screenshot saves a PNG of the whole page, widening the window to its height
// for the moment.
func (wd *webDriver) screenshot(t *testing.T, path string) {
	t.Helper()
	var rect struct {
		Width  int `json:"width"`
		Height int `json:"height"`
	}
	wd.must(t, http.MethodGet, "/window/rect", nil, &rect)
	var height int
	wd.must(t, http.MethodPost, "/execute/sync",
		map[string]any{"script": "return document.documentElement.scrollHeight", "args": []any{}}, &height)
	wd.must(t, http.MethodPost, "/window/rect", map[string]int{"width": rect.Width, "height": max(rect.Height, height+150)}, nil)
	defer wd.must(t, http.MethodPost, "/window/rect", map[string]int{"width": rect.Width, "height": rect.Height}, nil)
	var b64 string
	wd.must(t, http.MethodGet, "/screenshot", nil, &b64)
	png, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", path)
}

// element is a web element of the session's current page.
type element struct {
	wd *webDriver
	id string
}

func (wd *webDriver) find(t *testing.T, css string) element {
	t.Helper()
	return wd.findIn(t, "", css)
}

func (wd *webDriver) findAll(t *testing.T, css string) []element {
	t.Helper()
	return wd.findAllIn(t, "", css)
}

// links returns the href attributes of the elements css selects.
func (wd *webDriver) links(t *testing.T, css string) []string {
	t.Helper()
	var hrefs []string
	for _, e := range wd.findAll(t, css) {
		hrefs = append(hrefs, e.attr(t, "href"))
	}
	return hrefs
}

func (wd *webDriver) findIn(t *testing.T, prefix, css string) element {
	t.Helper()
	var ref map[string]string
	if err := wd.call(http.MethodPost, prefix+"/element", map[string]string{"using": "css selector", "value": css}, &ref); err != nil {
		t.Fatalf("find %q: %v", css, err)
	}
	return element{wd: wd, id: ref[elementKey]}
}

func (wd *webDriver) findAllIn(t *testing.T, prefix, css string) []element {
	t.Helper()
	var refs []map[string]string
	wd.must(t, http.MethodPost, prefix+"/elements", map[string]string{"using": "css selector", "value": css}, &refs)
	es := make([]element, len(refs))
	for i, r := range refs {
		es[i] = element{wd: wd, id: r[elementKey]}
	}
	return es
}

func (e element) path() string { return "/element/" + e.id }

func (e element) find(t *testing.T, css string) element {
	t.Helper()
	return e.wd.findIn(t, e.path(), css)
}

func (e element) findAll(t *testing.T, css string) []element {
	t.Helper()
	return e.wd.findAllIn(t, e.path(), css)
}

func (e element) click(t *testing.T) {
	t.Helper()
	e.wd.must(t, http.MethodPost, e.path()+"/click", map[string]any{}, nil)
}

func (e element) sendKeys(t *testing.T, text string) {
	t.Helper()
	e.wd.must(t, http.MethodPost, e.path()+"/value", map[string]string{"text": text}, nil)
}

// text is the element's rendered text.
func (e element) text(t *testing.T) string {
	t.Helper()
	var s string
	e.wd.must(t, http.MethodGet, e.path()+"/text", nil, &s)
	return s
}

// attr is an attribute as written in the page.
func (e element) attr(t *testing.T, name string) string {
	t.Helper()
	var s *string
	e.wd.must(t, http.MethodGet, e.path()+"/attribute/"+name, nil, &s)
	if s == nil {
		return ""
	}
	return *s
}

// prop is a DOM property: an absolute href, an input's current value.
func (e element) prop(t *testing.T, name string) string {
	t.Helper()
	var s string
	e.wd.must(t, http.MethodGet, e.path()+"/property/"+name, nil, &s)
	return s
}
