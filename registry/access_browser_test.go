//go:build linux

package registry

import (
	"net/url"
	"strings"
	"testing"

	"github.com/decom-project/decom/registry/store"
)

// TestBrowserAccess: in headless Chromium, a certificate page of a registry that
// does not serve reads to anyone is refused without a token (the sign-in page,
// nothing of the certificate), and read once signed in with a read token.
func TestBrowserAccess(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a browser")
	}
	wd := startBrowser(t)
	reg := newTestRegistry(t, func(c *Config) { c.PublicReads = false })
	c := reg.certificate(t, testCert{Serial: "S6PTNM0T000777A"})
	reg.upload(t, c)
	upload := reg.Token
	read, err := reg.Store.CreateToken(t.Context(), "auditor", store.ScopeRead)
	if err != nil {
		t.Fatal(err)
	}
	page := reg.URL + "/certificates/" + c.ID

	wd.open(t, page)
	if h := wd.find(t, "main h1").text(t); h != "Sign in" {
		t.Fatalf("without a token the certificate page shows %q, want the sign-in page", h)
	}
	if txt := wd.find(t, "main").text(t); strings.Contains(txt, "S6PTNM0T000777A") || strings.Contains(txt, "Samsung") {
		t.Errorf("the refusal shows the certificate: %s", txt)
	}
	// An upload token does not read.
	wd.find(t, `#login input[name="token"]`).sendKeys(t, upload)
	wd.find(t, `#login button[type="submit"]`).click(t)
	// The click returns before the form's POST has answered: wait for its page.
	wd.waitURL(t, func(u *url.URL) bool { return u.Path == "/login" })
	if e := wd.find(t, "#login-error").text(t); !strings.Contains(e, "may not read") {
		t.Errorf("signing in with an upload token: %q", e)
	}
	// A read token does, and leads back to the page asked for.
	wd.find(t, `#login input[name="token"]`).sendKeys(t, read)
	wd.find(t, `#login button[type="submit"]`).click(t)
	wd.waitURL(t, func(u *url.URL) bool { return u.Path == "/certificates/"+c.ID })
	if txt := wd.find(t, "main").text(t); !strings.Contains(txt, "S6PTNM0T000777A") {
		t.Errorf("signed in with a read token, the page does not show the certificate: %.300s", txt)
	}
	// The token is in no address the browser visited.
	if u := wd.currentURL(t); strings.Contains(u.String(), "decom_") {
		t.Errorf("the token is in the address %s", u)
	}
	wd.noAlert(t)
}
