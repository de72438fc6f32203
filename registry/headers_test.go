package registry

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The registry's answers carry the headers that keep its pages out of frames,
// its downloads from being sniffed into another type, and browsers on HTTPS.
func TestResponseHeaders(t *testing.T) {
	reg := newTestRegistry(t)
	c := reg.certificate(t, testCert{Serial: "S6PTNM0T000001A"})
	reg.upload(t, c)

	head := func(hc *http.Client, u string) http.Header {
		t.Helper()
		resp, err := hc.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", u, resp.Status)
		}
		return resp.Header
	}
	for _, page := range []string{"/", "/certificates/" + c.ID, "/log"} {
		h := head(reg.HTTP, reg.URL+page)
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: Content-Security-Policy %q lacks frame-ancestors 'none'", page, csp)
		}
		if hsts := h.Get("Strict-Transport-Security"); hsts != "" {
			t.Errorf("%s over plain HTTP: Strict-Transport-Security %q", page, hsts)
		}
	}
	for _, dl := range []string{"/bundle", "/pdf"} {
		if h := head(reg.HTTP, reg.URL+"/api/v1/certificates/"+c.ID+dl); h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s download: X-Content-Type-Options %q, want nosniff", dl, h.Get("X-Content-Type-Options"))
		}
	}

	// The same server over TLS asks browsers to stay on HTTPS.
	ts := httptest.NewTLSServer(reg.Server.Handler())
	t.Cleanup(ts.Close)
	for _, page := range []string{"/", "/certificates/" + c.ID, "/api/v1/certificates/" + c.ID + "/pdf", "/log/checkpoint"} {
		if hsts := head(ts.Client(), ts.URL+page).Get("Strict-Transport-Security"); !strings.HasPrefix(hsts, "max-age=") {
			t.Errorf("%s over TLS: Strict-Transport-Security %q", page, hsts)
		}
	}
}

// A registry that knows its public URL renders PDFs whose QR code leads to the
// certificate's page there; one that does not names the certificate by its ID.
func TestPDFLeadsToRegistryPage(t *testing.T) {
	reg := newTestRegistry(t)
	c := reg.certificate(t, testCert{Serial: "S6PTNM0T000001A"})
	reg.upload(t, c)

	const public = "https://registry.example:8443/"
	srv, err := New(Config{Store: reg.Store, Log: reg.Log, LogKey: reg.LogKey, PublicURL: public, PublicReads: true})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	want := "https://registry.example:8443/certificates/" + c.ID
	if got := pdfQR(t, ts.URL+"/api/v1/certificates/"+c.ID+"/pdf"); got != want {
		t.Errorf("with a public URL the QR code reads %q, want %q", got, want)
	}
	if got := pdfQR(t, reg.URL+"/api/v1/certificates/"+c.ID+"/pdf"); got != "urn:uuid:"+c.ID {
		t.Errorf("without a public URL the QR code reads %q, want urn:uuid:%s", got, c.ID)
	}

	for _, bad := range []string{"registry.example", "ftp://registry.example", "https://", "https://r.example/?q=1", "https://u:p@r.example"} {
		if _, err := New(Config{Store: reg.Store, Log: reg.Log, LogKey: reg.LogKey, PublicURL: bad}); err == nil {
			t.Errorf("public URL %q accepted", bad)
		}
	}
}

// pdfQR fetches a PDF and reads its QR code with pdftoppm and zbarimg.
func pdfQR(t *testing.T, u string) string {
	t.Helper()
	for _, tool := range []struct{ name, pkg string }{{"pdftoppm", "poppler-utils"}, {"zbarimg", "zbar-tools"}} {
		if _, err := exec.LookPath(tool.name); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not found: install the Debian package %s", tool.name, tool.pkg)
			}
			t.Skipf("%s not found (Debian package %s)", tool.name, tool.pkg)
		}
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || !bytes.HasPrefix(body, []byte("%PDF")) {
		t.Fatalf("GET %s: %s, %v", u, resp.Status, err)
	}
	dir := t.TempDir()
	pdf := filepath.Join(dir, "c.pdf")
	if err := os.WriteFile(pdf, body, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("pdftoppm", "-png", "-r", "200", "-singlefile", pdf, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	out, err := exec.Command("zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", filepath.Join(dir, "page.png")).Output()
	if err != nil {
		t.Fatalf("zbarimg: %v", err)
	}
	return strings.TrimSpace(string(out))
}
