package registry

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/decom-project/decom/registry/store"
)

// syncBuffer is a log sink the server writes from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// tokens of each kind, made in reg's store.
func scopedTokens(t *testing.T, reg *testRegistry) (upload, read, admin, both string) {
	t.Helper()
	mk := func(name string, sc ...store.Scopes) string {
		tok, err := reg.Store.CreateToken(t.Context(), name, sc...)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	return mk("agent"), mk("auditor", store.ScopeRead), mk("ops", store.ScopeAdmin), mk("agent-reader", store.ScopeUpload, store.ScopeRead)
}

// request makes a request with an optional bearer token and returns status, headers and body.
func request(t *testing.T, c *http.Client, method, u, token string, body []byte) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// Who reads what: reads need the read scope, uploads the upload scope, /metrics
// the admin scope; the log's tiles, checkpoint, key and consistency proofs are
// public; a refused read says nothing of whether the certificate exists.
func TestAccessScopes(t *testing.T) {
	logs := &syncBuffer{}
	reg := newTestRegistry(t, func(c *Config) {
		c.PublicReads = false
		c.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	})
	upload, read, admin, both := scopedTokens(t, reg)
	c := reg.certificate(t, testCert{Serial: "S6PTNM0T000001A"})
	bundle := reg.sign(t, c)
	// An upload token uploads, and gets its receipt with the proof.
	if code, _, body := request(t, reg.HTTP, "POST", reg.URL+"/api/v1/certificates", upload, bundle); code != http.StatusCreated || !strings.Contains(body, `"inclusion_proof"`) {
		t.Fatalf("upload with an upload token: %d %s", code, body)
	}
	reads := []string{"/", "/?serial=S6PTNM0T000001A", "/certificates/" + c.ID, "/api/v1/certificates/" + c.ID,
		"/api/v1/certificates/" + c.ID + "/bundle", "/api/v1/certificates/" + c.ID + "/pdf",
		"/api/v1/certificates/" + c.ID + "/proof", "/api/v1/search?serial=S6PTNM0T000001A"}
	missing := []string{"/certificates/00000000-0000-4000-8000-000000000000", "/api/v1/certificates/00000000-0000-4000-8000-000000000000/proof", "/no/such/page"}
	for _, p := range append(reads, missing...) {
		for _, tc := range []struct {
			who, token string
			want       int
		}{{"anonymous", "", 401}, {"a wrong token", "decom_" + strings.Repeat("A", 43), 401}, {"an upload token", upload, 403}, {"an admin token", admin, 403}} {
			code, h, body := request(t, reg.HTTP, "GET", reg.URL+p, tc.token, nil)
			if code != tc.want {
				t.Errorf("GET %s by %s: %d, want %d", p, tc.who, code, tc.want)
			}
			if !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") || strings.Contains(body, "Samsung SSD") || strings.Contains(body, "sanitized") {
				t.Errorf("GET %s by %s: WWW-Authenticate %q, body %.300s", p, tc.who, h.Get("WWW-Authenticate"), body)
			}
			if strings.HasPrefix(p, "/api/") && !strings.Contains(body, `"error"`) {
				t.Errorf("GET %s by %s: not a JSON error: %.200s", p, tc.who, body)
			}
			if (p == "/" || strings.HasPrefix(p, "/certificates/")) && !strings.Contains(body, `<form id="login"`) {
				t.Errorf("GET %s by %s: no sign-in form: %.300s", p, tc.who, body)
			}
		}
	}
	for _, tok := range []string{read, both} {
		for _, p := range reads {
			code, _, body := request(t, reg.HTTP, "GET", reg.URL+p, tok, nil)
			if code != 200 {
				t.Errorf("GET %s with a read token: %d %.200s", p, code, body)
			}
			if strings.HasPrefix(p, "/certificates/") && !strings.Contains(body, "Samsung SSD") {
				t.Errorf("GET %s with a read token does not show the model the refusals must hide", p)
			}
		}
		for _, p := range missing {
			if code, _, _ := request(t, reg.HTTP, "GET", reg.URL+p, tok, nil); code != 404 {
				t.Errorf("GET %s with a read token: %d, want 404", p, code)
			}
		}
	}
	// A read token does not upload; neither does an admin token.
	c2 := reg.certificate(t, testCert{Serial: "S6PTNM0T000002A"})
	for _, tok := range []string{read, admin} {
		if code, _, body := request(t, reg.HTTP, "POST", reg.URL+"/api/v1/certificates", tok, reg.sign(t, c2)); code != http.StatusForbidden {
			t.Errorf("upload with a token without the upload scope: %d %s", code, body)
		}
	}
	if code, _, _ := request(t, reg.HTTP, "POST", reg.URL+"/api/v1/certificates", both, reg.sign(t, c2)); code != http.StatusCreated {
		t.Errorf("upload with an upload+read token: %d", code)
	}
	// /metrics: the admin scope only.
	for _, tc := range []struct {
		token string
		want  int
	}{{"", 401}, {upload, 403}, {read, 403}, {both, 403}, {admin, 200}} {
		code, _, body := request(t, reg.HTTP, "GET", reg.URL+"/metrics", tc.token, nil)
		if code != tc.want || (code == 200 && !strings.Contains(body, "decom_registry_access_refused_total")) {
			t.Errorf("GET /metrics: %d, want %d", code, tc.want)
		}
	}
	// MetricsHandler, for a listener of its own, asks for no token.
	ms := httptest.NewServer(reg.Server.MetricsHandler())
	t.Cleanup(ms.Close)
	if code, _, body := request(t, ms.Client(), "GET", ms.URL+"/metrics", "", nil); code != 200 || !strings.Contains(body, "decom_registry_certificates_accepted_total 2") {
		t.Errorf("the metrics listener: %d %.300s", code, body)
	}
	// Public either way: the log and the health checks.
	for _, p := range []string{"/log/checkpoint", "/log/tile/0/000.p/2", "/api/v1/log/checkpoint", "/api/v1/log/key", "/api/v1/log/consistency?from=1&to=2", "/log", "/healthz", "/readyz", "/login"} {
		if code, _, body := request(t, reg.HTTP, "GET", reg.URL+p, "", nil); code != 200 {
			t.Errorf("GET %s anonymously: %d %.200s", p, code, body)
		}
	}
	// No token is ever logged.
	for _, tok := range []string{upload, read, admin, both} {
		if strings.Contains(logs.String(), tok) || strings.Contains(logs.String(), strings.TrimPrefix(tok, store.TokenPrefix)) {
			t.Fatal("a token is in the server's log")
		}
	}
	if !strings.Contains(logs.String(), `"status":401`) {
		t.Error("refused requests are not in the request log")
	}

	// The same store served with --public-reads: anyone reads, nobody uploads
	// without a token, /metrics still needs the admin scope.
	open, err := New(Config{Store: reg.Store, Log: reg.Log, LogKey: reg.LogKey, PublicReads: true})
	if err != nil {
		t.Fatal(err)
	}
	os := httptest.NewServer(open.Handler())
	t.Cleanup(os.Close)
	for _, p := range reads {
		if code, _, _ := request(t, os.Client(), "GET", os.URL+p, "", nil); code != 200 {
			t.Errorf("GET %s anonymously with public reads: %d", p, code)
		}
	}
	if code, _, _ := request(t, os.Client(), "GET", os.URL+"/metrics", "", nil); code != 401 {
		t.Errorf("GET /metrics anonymously with public reads: %d, want 401", code)
	}
	if code, _, _ := request(t, os.Client(), "POST", os.URL+"/api/v1/certificates", "", bundle); code != 401 {
		t.Errorf("anonymous upload with public reads: %d, want 401", code)
	}
}

// A browser signs in with a read token once, by the form; the cookie reads but
// never uploads, and signing in with another kind of token is refused.
func TestAccessSignIn(t *testing.T) {
	reg := newTestRegistry(t, func(c *Config) { c.PublicReads = false })
	upload, read, _, _ := scopedTokens(t, reg)
	c := reg.certificate(t, testCert{Serial: "S6PTNM0T000001A"})
	reg.upload(t, c)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	login := func(token, next string) *http.Response {
		t.Helper()
		resp, err := browser.PostForm(reg.URL+"/login", url.Values{"token": {token}, "next": {next}})
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	for _, tc := range []struct {
		token string
		want  int
	}{{"", 401}, {"decom_nope", 401}, {upload, 403}} {
		if resp := login(tc.token, "/"); resp.StatusCode != tc.want || len(resp.Cookies()) != 0 {
			t.Errorf("sign in with %.12q: %d, cookies %v; want %d and none", tc.token, resp.StatusCode, resp.Cookies(), tc.want)
		}
	}
	resp := login(read, "/certificates/"+c.ID)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/certificates/"+c.ID {
		t.Fatalf("sign in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	ck := resp.Cookies()
	if len(ck) != 1 || !ck[0].HttpOnly || ck[0].Secure || ck[0].SameSite != http.SameSiteLaxMode || ck[0].Path != "/" {
		t.Fatalf("sign-in cookie %+v: want HttpOnly, SameSite=Lax, not Secure over plain HTTP", ck)
	}
	if code, _, body := request(t, browser, "GET", reg.URL+"/certificates/"+c.ID, "", nil); code != 200 || !strings.Contains(body, c.ID) {
		t.Errorf("the certificate page with the cookie: %d", code)
	}
	// The cookie is for reading: an upload with it alone is refused.
	c2 := reg.certificate(t, testCert{Serial: "S6PTNM0T000002A"})
	if code, _, _ := request(t, browser, "POST", reg.URL+"/api/v1/certificates", "", reg.sign(t, c2)); code != 401 {
		t.Errorf("upload with the read cookie: %d, want 401", code)
	}
	// Signing in never leads to another site.
	for _, next := range []string{"https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"} {
		if resp := login(read, next); resp.Header.Get("Location") != "/" {
			t.Errorf("sign in with next %q leads to %q, want /", next, resp.Header.Get("Location"))
		}
	}
	// From another site's form: refused.
	req, _ := http.NewRequest("POST", reg.URL+"/login", strings.NewReader(url.Values{"token": {read}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 403 || len(resp.Cookies()) != 0 {
		t.Errorf("sign in from another origin: %v %v", resp.Status, err)
	}
	// A revoked token's cookie reads no more; signing out drops it.
	if err := reg.Store.RevokeToken(t.Context(), "auditor"); err != nil {
		t.Fatal(err)
	}
	if code, _, body := request(t, browser, "GET", reg.URL+"/certificates/"+c.ID, "", nil); code != 401 || !strings.Contains(body, "no longer valid") {
		t.Errorf("with a revoked token's cookie: %d %.300s", code, body)
	}
	resp, err := browser.Post(reg.URL+"/logout", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ck := resp.Cookies(); len(ck) != 1 || ck[0].MaxAge >= 0 {
		t.Errorf("sign out: cookies %+v", ck)
	}
}

// Pages, PDFs and searches are limited per client, with 429 and Retry-After;
// uploads and proofs are not.
func TestRateLimit(t *testing.T) {
	reg := newTestRegistry(t, func(c *Config) { c.RateLimit = RateLimit{PerSecond: 0.5, Burst: 3} })
	c := reg.certificate(t, testCert{Serial: "S6PTNM0T000001A"})
	reg.upload(t, c)
	for i := range 3 {
		if code, _, _ := request(t, reg.HTTP, "GET", reg.URL+"/api/v1/search", "", nil); code != 200 {
			t.Fatalf("search %d of the burst: %d", i+1, code)
		}
	}
	for _, p := range []string{"/api/v1/search", "/", "/certificates/" + c.ID, "/api/v1/certificates/" + c.ID + "/pdf", "/no/such/page"} {
		code, h, body := request(t, reg.HTTP, "GET", reg.URL+p, "", nil)
		secs, err := strconv.Atoi(h.Get("Retry-After"))
		if code != http.StatusTooManyRequests || err != nil || secs < 1 || secs > 2 {
			t.Errorf("GET %s after the burst: %d, Retry-After %q; want 429 and 1 or 2 s", p, code, h.Get("Retry-After"))
		}
		if strings.HasPrefix(p, "/api/") && !strings.Contains(body, `"error"`) {
			t.Errorf("GET %s: 429 without a JSON error: %s", p, body)
		}
	}
	// Not limited: uploads, proofs, bundles, the certificate's JSON, the log.
	for i := range 10 {
		ci := reg.certificate(t, testCert{Serial: "S6PTNM0T00001" + strconv.Itoa(i) + "A"})
		if code, _, body := request(t, reg.HTTP, "POST", reg.URL+"/api/v1/certificates", reg.Token, reg.sign(t, ci)); code != http.StatusCreated {
			t.Fatalf("upload %d after the burst: %d %s", i, code, body)
		}
		for _, p := range []string{"/proof", "/bundle", ""} {
			if code, _, _ := request(t, reg.HTTP, "GET", reg.URL+"/api/v1/certificates/"+c.ID+p, "", nil); code != 200 {
				t.Fatalf("GET %s %d after the burst: %d", p, i, code)
			}
		}
		if code, _, _ := request(t, reg.HTTP, "GET", reg.URL+"/log/checkpoint", "", nil); code != 200 {
			t.Fatalf("checkpoint %d after the burst: %d", i, code)
		}
	}
	// The bucket refills: one request per 2 s.
	time.Sleep(2100 * time.Millisecond)
	if code, _, _ := request(t, reg.HTTP, "GET", reg.URL+"/api/v1/search", "", nil); code != 200 {
		t.Errorf("search after waiting: %d", code)
	}
}

// Behind a trusted proxy clients are told apart by X-Forwarded-For; from anyone
// else the header is ignored.
func TestRateLimitForwardedFor(t *testing.T) {
	proxy := netip.MustParsePrefix("10.0.0.0/24")
	l := newLimiter(RateLimit{PerSecond: 1, Burst: 1, TrustedProxies: []netip.Prefix{proxy, netip.MustParsePrefix("fd00::/64")}})
	for _, tc := range []struct {
		remote, xff, want string
	}{
		{"192.0.2.7:5000", "", "192.0.2.7"},
		{"192.0.2.7:5000", "198.51.100.1", "192.0.2.7"},            // not a trusted proxy: ignored
		{"10.0.0.2:5000", "198.51.100.1", "198.51.100.1"},          // the proxy names its client
		{"10.0.0.2:5000", "6.6.6.6, 198.51.100.1", "198.51.100.1"}, // what the client wrote is left of it
		{"10.0.0.2:5000", "198.51.100.1, 10.0.0.3", "198.51.100.1"},
		{"10.0.0.2:5000", "garbage, 10.0.0.3", "10.0.0.3"},
		{"10.0.0.2:5000", "", "10.0.0.2"},
		{"[2001:db8:1:2:3:4:5:6]:443", "", "2001:db8:1:2::"}, // an IPv6 client is its /64
		{"[fd00::1]:443", "2001:db8:9:9::1", "2001:db8:9:9::"},
		{"[::ffff:192.0.2.7]:80", "", "192.0.2.7"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := l.client(r); got.String() != tc.want {
			t.Errorf("%s with X-Forwarded-For %q: client %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}

	// Over HTTP: clients behind the trusted proxy (the test's loopback) have a
	// bucket each; without trusting it, the header changes nothing.
	for _, trusted := range []bool{true, false} {
		rl := RateLimit{PerSecond: 0.1, Burst: 1}
		if trusted {
			rl.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		}
		reg := newTestRegistry(t, func(c *Config) { c.RateLimit = rl })
		var codes []int
		for _, client := range []string{"198.51.100.1", "198.51.100.2", "198.51.100.1"} {
			req, _ := http.NewRequest("GET", reg.URL+"/api/v1/search", nil)
			req.Header.Set("X-Forwarded-For", client)
			resp, err := reg.HTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			codes = append(codes, resp.StatusCode)
		}
		want := []int{200, 429, 429}
		if trusted {
			want = []int{200, 200, 429}
		}
		if strconv.Itoa(codes[0])+strconv.Itoa(codes[1])+strconv.Itoa(codes[2]) != strconv.Itoa(want[0])+strconv.Itoa(want[1])+strconv.Itoa(want[2]) {
			t.Errorf("proxy trusted %v: statuses %v, want %v", trusted, codes, want)
		}
	}
}
