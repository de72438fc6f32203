package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/decom-project/decom/registry"
	"github.com/decom-project/decom/sanitize"
)

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// fakeRegistry answers the registry's log key and certificate uploads on 127.0.0.1;
// the first failUploads uploads answer 503.
type fakeRegistry struct {
	*httptest.Server
	mu          sync.Mutex
	failUploads int
	uploads     int // accepted
	down        bool
}

func newFakeRegistry(t *testing.T) *fakeRegistry {
	r := &fakeRegistry{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, q *http.Request) {
		r.mu.Lock()
		defer r.mu.Unlock()
		switch {
		case r.down:
			http.Error(w, `{"error":"down"}`, http.StatusServiceUnavailable)
		case q.Method == http.MethodGet && q.URL.Path == "/api/v1/log/key":
			w.Write([]byte("test-log-key\n"))
		case q.Method == http.MethodPost && q.URL.Path == "/api/v1/certificates":
			if r.failUploads > 0 {
				r.failUploads--
				http.Error(w, `{"error":"busy"}`, http.StatusServiceUnavailable)
				return
			}
			r.uploads++
			w.Write([]byte(`{"id":"x","log_index":1}`))
		default:
			http.NotFound(w, q)
		}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *fakeRegistry) accepted() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.uploads
}

// webServer serves files on 127.0.0.1, as a site's provisioning server would.
func webServer(t *testing.T, files map[string][]byte) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, q *http.Request) {
		b, ok := files[q.URL.Path]
		if !ok {
			http.NotFound(w, q)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(s.Close)
	return s
}

// closedURL is an http URL on 127.0.0.1 where nothing listens.
func closedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String()
	l.Close()
	return u
}

// netbootEnv is the fake machine as a network boot sees it: no DECOM-DATA partition,
// no ISO, nothing but drives; the config and the key on a web server, and a registry.
type netbootEnv struct {
	*runEnv
	web    *httptest.Server
	reg    *fakeRegistry
	config []byte
	key    []byte
}

func newNetbootEnv(t *testing.T) *netbootEnv {
	e := &netbootEnv{runEnv: newRunEnv(t), reg: newFakeRegistry(t)}
	for _, p := range []string{"sda1", "sda2"} {
		os.WriteFile(filepath.Join(e.root, "sys/block/sda", p, "uevent"), []byte("PARTN="+p[3:]+"\n"), 0o644)
	}
	writeAt(t, filepath.Join(e.root, "dev/sdc1"), 0, make([]byte, 512))
	writeAt(t, filepath.Join(e.root, "dev/vda"), isoVolumeDescriptorOffset, make([]byte, 2048))
	os.RemoveAll(filepath.Join(e.root, "data"))
	e.key = []byte("-----BEGIN PRIVATE KEY-----\nnetboot\n-----END PRIVATE KEY-----\n")
	e.config = []byte("operator:\n  name: Net Boot\n")
	e.web = webServer(t, map[string][]byte{"/decom/config.yaml": e.config, "/decom/site.key": e.key})
	e.cfg = Config{Key: e.web.URL + "/decom/site.key", KeySHA256: sha256Hex(e.key), Operator: "Net Boot",
		Registry: e.reg.URL, HasToken: true, AllowInsecureHTTP: true}
	return e
}

// cmdline is the kernel command line of the network boot, with sum as the config's pin.
func (e *netbootEnv) cmdline(sum string) string {
	return "console=ttyS0 decom.mode=auto decom.config=" + e.web.URL + "/decom/config.yaml decom.config.sha256=" + sum
}

// options are the run's options; Prepare gives the run a registry client, as decom's
// does when the request names a registry.
func (e *netbootEnv) options(cmdline string) Options {
	o := e.runEnv.options(cmdline)
	read := o.ReadConfig
	o.ReadConfig = func(path string) (Config, error) {
		e.sys.record("config %s", path)
		return read(path)
	}
	o.Prepare = func(ctx context.Context, r WipeRequest) (sanitize.Options, error) {
		so, err := e.cli.prepare(ctx, r)
		if err == nil && r.Registry != "" {
			so.Certify = &sanitize.Certifier{Registry: &registry.Client{URL: r.Registry}}
		}
		return so, err
	}
	return o
}

func TestNetbootConfig(t *testing.T) {
	e := newNetbootEnv(t)
	e.cli.upload = true
	if err := e.run(t, e.options(e.cmdline(sha256Hex(e.config)))); err != nil {
		t.Errorf("Run: %v", err)
	}
	// The network comes up before the config is read, and the config is read once,
	// from the fetched copy.
	var order []string
	for _, c := range e.sys.calls {
		if c == "network" || strings.HasPrefix(c, "config ") {
			order = append(order, c)
		}
	}
	cfgPath := filepath.Join(e.root, netConfigRel)
	if want := []string{"network", "config " + cfgPath}; strings.Join(order, ",") != strings.Join(want, ",") {
		t.Errorf("order %q, want %q", order, want)
	}
	if b, err := os.ReadFile(cfgPath); err != nil || !bytes.Equal(b, e.config) {
		t.Errorf("fetched config %q, %v", b, err)
	}
	keyPath := filepath.Join(e.root, netKeyRel)
	if b, err := os.ReadFile(keyPath); err != nil || !bytes.Equal(b, e.key) {
		t.Errorf("fetched key %q, %v", b, err)
	}
	wipes := e.cli.wipeCalls()
	if len(wipes) != 1 {
		t.Fatalf("wipes %+v", wipes)
	}
	if r := wipes[0].Req; r.ConfigPath != cfgPath || r.Key != keyPath || r.Registry != e.reg.URL || r.JournalDir != "" {
		t.Errorf("request %+v", r)
	}
	contains(t, "console", e.console.String(),
		"decom: config: "+e.web.URL+"/decom/config.yaml (SHA-256 as the kernel command line pins it), in /run/decom/config.yaml (operator Net Boot)\n",
		"decom: signing key: "+e.web.URL+"/decom/site.key (SHA-256 as the config pins it), in /run/decom/signing.key\n",
		"decom: registry "+e.reg.URL+" answers",
		"decom: registry: all 6 uploaded to "+e.reg.URL+"\n")
}

// Every way the network config can fail leaves the drives alone, and never reads
// decom's default config instead.
func TestNetbootConfigRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cmdline func(e *netbootEnv) string
		setup   func(e *netbootEnv)
		want    string
	}{
		{name: "no pin", cmdline: func(e *netbootEnv) string { return "decom.config=" + e.web.URL + "/decom/config.yaml" },
			want: "decom.config=" + "http://127.0.0.1"},
		{name: "bad pin", cmdline: func(e *netbootEnv) string { return e.cmdline("12ab") },
			want: "decom.config.sha256=12ab: want the config file's SHA-256, 64 hex digits"},
		{name: "bad URL", cmdline: func(e *netbootEnv) string {
			return "decom.config=ftp://x/c.yaml decom.config.sha256=" + sha256Hex(e.config)
		}, want: "decom.config=ftp://x/c.yaml: want the config file's http:// or https:// URL"},
		{name: "mismatch", cmdline: func(e *netbootEnv) string { return e.cmdline(strings.Repeat("0", 64)) },
			want: "/decom/config.yaml: SHA-256 mismatch: got " + sha256Hex([]byte("operator:\n  name: Net Boot\n"))},
		{name: "unreachable", cmdline: func(e *netbootEnv) string {
			return "decom.config=" + closedURL(t) + "/c.yaml decom.config.sha256=" + sha256Hex(e.config)
		}, want: "/c.yaml: unreachable: dial tcp"},
		{name: "not found", cmdline: func(e *netbootEnv) string {
			return "decom.config=" + e.web.URL + "/nope.yaml decom.config.sha256=" + sha256Hex(e.config)
		}, want: "/nope.yaml: unreachable: HTTP status 404 Not Found"},
		{name: "no network", cmdline: func(e *netbootEnv) string { return e.cmdline(sha256Hex(e.config)) },
			setup: func(e *netbootEnv) { e.sys.netErr = errors.New("no DHCP lease on eth0") },
			want:  "network: no DHCP lease on eth0: the config cannot be fetched: nothing can be wiped"},
		{name: "key unpinned", cmdline: func(e *netbootEnv) string { return e.cmdline(sha256Hex(e.config)) },
			setup: func(e *netbootEnv) { e.cfg.KeySHA256 = "" },
			want:  "/decom/site.key: a key fetched by URL needs boot: key_sha256:"},
		{name: "key mismatch", cmdline: func(e *netbootEnv) string { return e.cmdline(sha256Hex(e.config)) },
			setup: func(e *netbootEnv) { e.cfg.KeySHA256 = strings.Repeat("a", 64) },
			want:  "signing key: " + "http://127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newNetbootEnv(t)
			if tc.setup != nil {
				tc.setup(e)
			}
			err := e.run(t, e.options(tc.cmdline(e)))
			if !errors.Is(err, ErrProblems) {
				t.Errorf("Run: %v, want ErrProblems", err)
			}
			if w := e.cli.wipeCalls(); len(w) != 0 {
				t.Errorf("wiped: %+v", w)
			}
			for _, c := range e.sys.calls {
				if c == "config " {
					t.Errorf("decom's default config was read")
				}
			}
			contains(t, "console", e.console.String(), tc.want, "decom: result: 0 sanitized")
			if !strings.Contains(e.console.String(), "not wiped") {
				t.Errorf("the summary does not say the drives were not wiped")
			}
		})
	}
}

// Without a writable medium (no DECOM-DATA partition, no boot medium) the registry is
// required: nothing is wiped without one that answers.
func TestRAMOnlyNeedsRegistry(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(e *netbootEnv)
		want  string
	}{
		{name: "none configured", setup: func(e *netbootEnv) { e.cfg.Registry = "" }, want: "and no registry is configured"},
		{name: "no token", setup: func(e *netbootEnv) { e.cfg.HasToken = false }, want: "and no registry is configured"},
		{name: "down", setup: func(e *netbootEnv) { e.reg.down = true }, want: "does not answer: "},
		{name: "unreachable", setup: func(e *netbootEnv) { e.cfg.Registry = closedURL(t) }, want: "does not answer: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newNetbootEnv(t)
			tc.setup(e)
			e.run(t, e.options(e.cmdline(sha256Hex(e.config))))
			if w := e.cli.wipeCalls(); len(w) != 0 {
				t.Errorf("wiped: %+v", w)
			}
			contains(t, "console", e.console.String(), "nothing wiped: no writable medium", tc.want)
		})
	}
}

// A certificate whose upload failed is sent again, with pauses, on a boot without a
// writable medium.
func TestRAMOnlyRetriesUploads(t *testing.T) {
	e := newNetbootEnv(t)
	e.reg.failUploads = 8 // each of the 6 fails once, two of them twice
	start := e.clk.Now()
	e.run(t, e.options(e.cmdline(sha256Hex(e.config))))
	if got := e.reg.accepted(); got != 6 {
		t.Errorf("%d uploads accepted, want 6", got)
	}
	if waited := e.clk.Now().Sub(start); waited < firstUploadWait+2*firstUploadWait {
		t.Errorf("the retries paused %v in all", waited)
	}
	contains(t, "console", e.console.String(),
		"decom: registry: 6 certificates not uploaded and only in RAM: trying again\n",
		"certificate not uploaded (try 1 of 6)",
		"decom: registry: all 6 uploaded to "+e.reg.URL+"\n")
}

// The machine is not powered off while a certificate is only in RAM: the agent keeps
// trying, and says so.
func TestRAMOnlyHoldsPowerOff(t *testing.T) {
	e := newNetbootEnv(t)
	e.reg.failUploads = 1 << 30
	o := e.options(e.cmdline(sha256Hex(e.config)))
	a := newAgent(o) // Run, but for its end: end powers off, or halts for ever
	err := a.run(context.Background())
	t.Logf("console:\n%s", e.console.String())
	if err == nil {
		t.Errorf("run: no error with certificates only in RAM")
	}
	contains(t, "console", e.console.String(),
		"only in RAM (/run/decom/certs) and not in the registry",
		"the machine stays on, trying the registry again, until it has them")
	// A deadline, so that an agent that never uploads fails the test instead of
	// holding it for ever.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	// The registry comes back after three rounds.
	e.clk.after(3*holdUploadPause-1, func() {
		e.reg.mu.Lock()
		e.reg.failUploads = 0
		e.reg.mu.Unlock()
	})
	if !a.holdForUploads(ctx) {
		t.Errorf("holdForUploads gave up")
	}
	cancel()
	contains(t, "console", e.console.String(),
		"decom: NOT powering off: 6 certificates exist only in RAM (/run/decom/certs) and are not in the registry",
		"decom: registry: every certificate uploaded\n")
	if len(a.pendingInRAM()) != 0 || e.reg.accepted() != 6 {
		t.Errorf("pending %d, accepted %d", len(a.pendingInRAM()), e.reg.accepted())
	}
}
