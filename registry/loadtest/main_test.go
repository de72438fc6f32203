package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/internal/jsonint"
	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/registry"
	"github.com/decom-project/decom/registry/tlog"
	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/verify"
	"github.com/decom-project/decom/wipe"
)

// decomBin is the decom binary TestMain builds; workDir holds it and the agent keys.
var decomBin, workDir string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "decom-loadtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	workDir, decomBin = dir, filepath.Join(dir, "decom")
	build := exec.Command("go", "build", "-o", decomBin, "../../cmd/decom")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest: build decom:", err)
		return 1
	}
	return m.Run()
}

// decom runs the decom binary and returns its trimmed stdout.
func decom(t testing.TB, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := exec.Command(decomBin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("decom %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return strings.TrimSpace(out.String())
}

// agentKey is the key every test agent signs with; strangerKey is never enrolled.
type agentKey struct {
	signer signature.SignerVerifier
	pub    string // path of the PEM public key
}

var (
	keysOnce              sync.Once
	keysErr               error
	theAgent, theStranger agentKey
)

func keys(t testing.TB) (agent, stranger agentKey) {
	t.Helper()
	keysOnce.Do(func() {
		for _, k := range []struct {
			name string
			dst  *agentKey
		}{{"agent", &theAgent}, {"stranger", &theStranger}} {
			priv, pub, err := certificates.GenerateKey(certificates.KeyECDSAP256, nil)
			if err != nil {
				keysErr = err
				return
			}
			k.dst.pub = filepath.Join(workDir, k.name+".pub")
			if err := os.WriteFile(k.dst.pub, pub, 0o644); err != nil {
				keysErr = err
				return
			}
			if k.dst.signer, err = certificates.LoadPrivateKey(priv, nil); err != nil {
				keysErr = err
				return
			}
		}
	})
	if keysErr != nil {
		t.Fatal(keysErr)
	}
	return theAgent, theStranger
}

// bundle is a signed certificate as an agent uploads it.
type bundle struct {
	ID   string
	JSON []byte
}

var pool struct {
	sync.Mutex
	bundles []bundle
}

// bundles returns n distinct bundles signed by the agent key. They are made once per test
// process and shared: every server has its own data directory.
func bundles(t testing.TB, n int) []bundle {
	t.Helper()
	agent, _ := keys(t)
	pool.Lock()
	defer pool.Unlock()
	if have := len(pool.bundles); have < n {
		more := make([]bundle, n-have)
		errs := make(chan error, len(more))
		var wg sync.WaitGroup
		workers := runtime.GOMAXPROCS(0)
		for w := range workers {
			wg.Go(func() {
				for i := w; i < len(more); i += workers {
					b, err := signedBundle(agent.signer, have+i)
					if err != nil {
						errs <- err
						return
					}
					more[i] = b
				}
			})
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		pool.bundles = append(pool.bundles, more...)
	}
	return pool.bundles[:n:n]
}

// signedBundle makes the certificate of a three-pass wipe of drive number n, and signs it.
func signedBundle(signer signature.SignerVerifier, n int) (bundle, error) {
	cert, err := sanitize.NewCertificate(evidence(n), certificates.Details{
		PerformedBy: certificates.Person{Name: "Load Tester", Title: "Technician"}, Organization: "ACME",
		Customer: fmt.Sprintf("customer-%d", n%17), Destination: certificates.Destination{Kind: certificates.DestRecycling},
	}, time.Now())
	if err != nil {
		return bundle{}, fmt.Errorf("certificate %d: %w", n, err)
	}
	b, err := certificates.Sign(context.Background(), signer, cert)
	if err != nil {
		return bundle{}, fmt.Errorf("certificate %d: %w", n, err)
	}
	return bundle{ID: cert.ID, JSON: b}, nil
}

func evidence(n int) sanitize.Evidence {
	start := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Minute)
	const size = 1000204886016
	rec := wipe.Record{Device: "/dev/sdb", Kind: wipe.KindDrive, Method: "dod-3", Title: "DoD 5220.22-M (E), 3 passes",
		NISTClass: wipe.ClassClear, Rounds: 1, IOMode: wipe.IODirect, Outcome: wipe.OutcomeCompleted,
		Started: start, Finished: start.Add(time.Hour),
		Identity: wipe.Identity{DevNo: "8:16", Serial: fmt.Sprintf("LT%012d", n), WWN: fmt.Sprintf("0x5002538f%08x", n),
			Model: "Samsung SSD 870 EVO 1TB", SizeBytes: size},
		Drive: &inventory.Device{Vendor: "ATA", Firmware: "SVT02B6Q", Transport: "sata", Media: "ssd",
			LogicalSectorSize: 512, PhysicalSectorSize: 512},
		Passes: []wipe.PassRecord{
			{Number: 1, Pattern: wipe.Fixed(0), BytesWritten: size, Completed: true, Flushed: true, BadRanges: []wipe.Range{}},
			{Number: 2, Pattern: wipe.Fixed(0xff), BytesWritten: size, Completed: true, Flushed: true, BadRanges: []wipe.Range{}},
			{Number: 3, Pattern: wipe.Random(), Keys: &wipe.Keys{Key: make([]byte, 32), IV: make([]byte, 16)},
				BytesWritten: size, Completed: true, Flushed: true, BadRanges: []wipe.Range{}},
		}}
	return sanitize.Evidence{Record: rec, VerifyMode: verify.ModeSample,
		Checks: []verify.Result{{Pass: 3, Mode: verify.ModeSample, Seed: jsonint.Uint64(n), Verified: true, Outcome: verify.OutcomePassed}},
		Host:   inventory.Host{Hostname: fmt.Sprintf("rack%02d-node%03d", n%40, n%997)},
		Tool:   certificates.Tool{Name: "decom", Version: "v0.1.0", Commit: "loadtest"}}
}

// openReads are the flags of registry serve for the tests that read without a token and
// search as fast as they can: reads public, no rate limit. TestLoad and the benchmarks run
// with access control and the rate limit on, as a registry runs by default.
var openReads = []string{"--public-reads", "--rate-limit", "0"}

// newRegistryData makes a data directory with the agent key enrolled and a token (scopes
// upload and read), as an
// operator would with decom registry key add and decom registry token create. Extra flags
// (--db URL) go to both.
func newRegistryData(t testing.TB, extra ...string) (data, token string) {
	t.Helper()
	agent, _ := keys(t)
	data = filepath.Join(t.TempDir(), "registry")
	decom(t, append([]string{"--log-level", "error", "registry", "key", "add", "--data", data, agent.pub}, extra...)...)
	token = decom(t, append([]string{"--log-level", "error", "registry", "token", "create", "--data", data, "--name", "loadtest", "--scope", "upload,read"}, extra...)...)
	if !strings.HasPrefix(token, "decom_") {
		t.Fatalf("registry token create printed %q", token)
	}
	return data, token
}

// server is a `decom registry serve` process.
type server struct {
	URL    string
	Data   string
	LogKey string // the log's verifier key, from GET /api/v1/log/key
	// ReadToken, when set, is sent with the searches of stored: a registry that does
	// not serve reads to anyone needs it.
	ReadToken string
	cmd       *exec.Cmd
	logf      string // its stderr (the request log)
	exited    chan struct{}
}

// Log levels of the server process: info logs every request, as in production.
const (
	logRequests = "info"
	logQuiet    = "warn"
)

// startServer runs the registry on a free loopback port with the given data directory (and
// extra flags of registry serve), waits until it is ready, and kills it (SIGKILL) when the test
// ends, whatever happened.
func startServer(t testing.TB, data, logLevel string, extra ...string) *server {
	t.Helper()
	var last error
	for range 3 { // the free port may be taken between finding and binding it
		s, err := tryStart(t, data, logLevel, extra)
		if err == nil {
			return s
		}
		last = err
	}
	t.Fatal(last)
	return nil
}

func tryStart(t testing.TB, data, logLevel string, extra []string) (*server, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	logf := filepath.Join(t.TempDir(), "server.log")
	f, err := os.Create(logf)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd := exec.Command(decomBin, append([]string{"--log-level", logLevel, "--log-format", "json",
		"registry", "serve", "--addr", addr, "--data", data, "--origin", "loadtest.decom.invalid/registry"}, extra...)...)
	cmd.Stdout, cmd.Stderr = f, f
	// Should the test process die without cleaning up (a panic, go test -timeout), the kernel
	// kills the server.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{URL: "http://" + addr, Data: data, cmd: cmd, logf: logf, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.exited) }()
	t.Cleanup(s.kill)
	if err := s.waitReady(30 * time.Second); err != nil {
		s.kill()
		return nil, fmt.Errorf("registry serve on %s: %w\n%s", addr, err, s.logTail())
	}
	key, err := get(http.DefaultClient, s.URL+"/api/v1/log/key")
	if err != nil {
		s.kill()
		return nil, err
	}
	s.LogKey = strings.TrimSpace(string(key))
	return s, nil
}

func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func (s *server) waitReady(timeout time.Duration) error {
	c := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); {
		select {
		case <-s.exited:
			return errors.New("exited before it was ready")
		default:
		}
		if resp, err := c.Get(s.URL + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("not ready in time")
}

// target is a registry under load: a process, or one in the test for profiling.
type target interface {
	url() string
	cpuTime() time.Duration
	rss() uint64
}

func (s *server) url() string { return s.URL }

// kill sends SIGKILL to the server, as a crash would, and waits until it is gone.
func (s *server) kill() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// cpuTime is the CPU time (user + system) the server process used so far.
func (s *server) cpuTime() time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses: state is field 3, utime 14, stime 15.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseUint(f[11], 10, 64)
	stime, _ := strconv.ParseUint(f[12], 10, 64)
	const clockTicks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// rss is the server's resident memory, in bytes.
func (s *server) rss() uint64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// logTail is the end of the server's log, for failure messages.
func (s *server) logTail() string {
	b, _ := os.ReadFile(s.logf)
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return string(b)
}

// logErrors returns the error-level lines of the server's log.
func (s *server) logErrors() []string {
	b, _ := os.ReadFile(s.logf)
	var out []string
	for line := range strings.SplitSeq(string(b), "\n") {
		if strings.Contains(line, `"level":"error"`) {
			out = append(out, line)
		}
	}
	return out
}

// agentClient is one agent's HTTP client: its own keep-alive connection to the registry.
func agentClient() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		Proxy: nil, MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute, DisableCompression: true,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}}
}

// upload posts a bundle and returns the HTTP status and body.
func upload(ctx context.Context, c *http.Client, url, token string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/api/v1/certificates", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(c, req)
}

func do(c *http.Client, req *http.Request) (int, []byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// get fetches url and wants 200.
func get(c *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	code, b, err := do(c, req)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d: %s", url, code, b)
	}
	return b, nil
}

func getJSON(c *http.Client, url string, v any) error {
	b, err := get(c, url)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return nil
}

// checkpoint fetches and verifies the log's latest checkpoint.
func (s *server) checkpoint(t testing.TB) (tlog.Checkpoint, []byte) {
	t.Helper()
	raw, err := get(http.DefaultClient, s.URL+"/api/v1/log/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	cp, err := tlog.VerifyCheckpoint(raw, s.LogKey)
	if err != nil {
		t.Fatalf("the registry's checkpoint: %v\n%s", err, raw)
	}
	return cp, raw
}

// consistent checks, with a proof from the server, that the log at newer extends the log at
// older.
func (s *server) consistent(c *http.Client, older, newer tlog.Checkpoint) error {
	var p registry.ConsistencyProof
	if err := getJSON(c, fmt.Sprintf("%s/api/v1/log/consistency?from=%d&to=%d", s.URL, older.Size, newer.Size), &p); err != nil {
		return err
	}
	hashes, err := decodeHashes(p.Proof)
	if err != nil {
		return err
	}
	return tlog.VerifyConsistency(older, newer, hashes)
}

func decodeHashes(in []string) ([][]byte, error) {
	out := make([][]byte, len(in))
	for i, h := range in {
		b, err := base64.StdEncoding.DecodeString(h)
		if err != nil {
			return nil, fmt.Errorf("proof hash %d: %w", i, err)
		}
		out[i] = b
	}
	return out, nil
}
