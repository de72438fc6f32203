package images_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/decom-project/decom/images"
	"github.com/decom-project/decom/internal/debcache"
	"github.com/decom-project/decom/internal/qemutest"
	"github.com/decom-project/decom/registry"
)

// pxeROM is Debian's iPXE option ROM for QEMU's virtio NIC (package ipxe-qemu, which
// make deps installs): SeaBIOS runs it, and it boots from QEMU's own DHCP and TFTP.
const pxeROM = "/usr/lib/ipxe/qemu/pxe-virtio.rom"

// listenLoopback reserves a port on this machine's loopback, which a guest on QEMU's
// user-mode network reaches as 10.0.2.2.
func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// startTestRegistry runs decom registry serve on the loopback with pub enrolled and
// returns its port, an upload token and a read token.
func startTestRegistry(t *testing.T, pub string) (port int, token, readToken string) {
	t.Helper()
	data := filepath.Join(t.TempDir(), "registry")
	run := func(args ...string) string {
		out, err := hostDecom(t, append([]string{"--log-level", "error", "registry"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}
	token = run("token", "create", "--data", data, "--name", "netboot")
	readToken = run("token", "create", "--data", data, "--name", "auditor", "--scope", "read")
	run("key", "add", "--data", data, pub)
	l := listenLoopback(t)
	addr := l.Addr().String()
	port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	srv := exec.CommandContext(ctx, decomBinary(t), "--log-level", "warn", "registry", "serve", "--addr", addr, "--data", data)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); srv.Wait() })
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return port, token, readToken
			}
		}
		if time.Since(start) > 20*time.Second {
			t.Fatal("the registry did not become ready")
		}
	}
}

// pxeBoot boots a machine with no boot disk, only disks, from QEMU's TFTP server
// (dir, bootfile) through the iPXE ROM, and returns the console once the machine has
// powered itself off.
func pxeBoot(t *testing.T, dir, bootfile string, disks ...string) string {
	t.Helper()
	qemu := qemutest.Require(t)
	args := []string{
		"-machine", "pc", "-accel", "tcg", "-m", "1024", "-smp", "1",
		"-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio", "-no-reboot",
		"-netdev", "user,id=n0,tftp=" + dir + ",bootfile=" + bootfile,
		// Debian's ROM names the modern virtio NIC (1af4:1041), which SeaBIOS only runs
		// on a NIC that is one: disable-legacy. bootindex makes SeaBIOS boot from it.
		"-device", "virtio-net-pci,netdev=n0,disable-legacy=on,bootindex=1,romfile=" + pxeROM,
	}
	for i, d := range disks {
		args = append(args, "-drive", fmt.Sprintf("file=%s,if=none,id=d%d,format=raw", d, i),
			"-device", fmt.Sprintf("virtio-blk-pci,drive=d%d,serial=NETBOOT%d", i, i))
	}
	const limit = 15 * time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemu, args...)
	cmd.WaitDelay = 5 * time.Second
	var console bytes.Buffer
	cmd.Stdout, cmd.Stderr = &console, &console
	start := time.Now()
	err := cmd.Run()
	out := strings.ReplaceAll(console.String(), "\r", "")
	if os.Getenv("DECOM_E2E_CONSOLE") != "" || ctx.Err() != nil || err != nil {
		t.Logf("console after %v:\n%s", time.Since(start).Round(time.Second), out)
	} else {
		t.Logf("the machine powered off after %v", time.Since(start).Round(time.Second))
	}
	if ctx.Err() != nil {
		t.Fatalf("the guest did not power off within %v", limit)
	}
	if err != nil {
		t.Errorf("qemu: %v", err)
	}
	if strings.Contains(out, "Kernel panic") || strings.Contains(out, "decom: FATAL:") {
		t.Errorf("the console reports a panic or a fatal error:\n%s", out[max(0, len(out)-4000):])
	}
	return out
}

// TestE2ENetboot builds the network boot (decom image build --netboot), serves its
// config and signing key over HTTP on this machine's loopback, and PXE-boots a machine
// with no boot disk and two drives full of data through QEMU's TFTP server and
// Debian's iPXE ROM. The agent fetches the config and key (pinned by SHA-256), wipes
// both drives, and its certificates, which exist only in RAM, reach the registry on
// this machine before it powers off. A second boot whose script pins a wrong SHA-256
// wipes nothing: its drives are unchanged byte for byte.
func TestE2ENetboot(t *testing.T) {
	qemutest.Require(t)
	if _, err := os.Stat(pxeROM); err != nil {
		stopE2E(t, "needs Debian's iPXE ROM %s (package ipxe-qemu; make deps installs it)", pxeROM)
	}
	vmlinuz, modules, err := debcache.Kernel()
	if err != nil {
		vmlinuz, modules = qemutest.Kernel(t)
	}
	dir := t.TempDir()
	if _, err := hostDecom(t, "keys", "generate", "--unencrypted", "--out", filepath.Join(dir, "site")); err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(filepath.Join(dir, "site.unencrypted.key"))
	if err != nil {
		t.Fatal(err)
	}
	keySum := sha256.Sum256(key)
	regPort, token, readToken := startTestRegistry(t, filepath.Join(dir, "site.pub"))

	// The provisioning web server: the config and the key, as a site serves them.
	l := listenLoopback(t)
	webPort := l.Addr().(*net.TCPAddr).Port
	files := map[string][]byte{"/decom/site.key": key}
	web := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	})}
	go web.Serve(l)
	t.Cleanup(func() { web.Close() })
	config := fmt.Sprintf(`operator:
  name: Netboot Technician
organization: ACME Datacenter
method: nist-clear
verify: full
pdf: false
key: http://10.0.2.2:%d/decom/site.key
registry: http://10.0.2.2:%d
registry_token: %s
boot:
  countdown: 0
  allow_insecure_http: true # the test's registry listens on the loopback, without TLS
  key_sha256: %s
`, webPort, regPort, token, hex.EncodeToString(keySum[:]))
	files["/decom/config.yaml"] = []byte(config)
	configFile := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(configFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}

	tftp := filepath.Join(dir, "tftp")
	res, err := images.Build(context.Background(), images.Config{Netboot: tftp, Kernel: vmlinuz, Modules: modules,
		Binary: bootBinary(t), NetbootConfig: configFile,
		NetbootConfigURL: fmt.Sprintf("http://10.0.2.2:%d/decom/config.yaml", webPort)})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("netboot: initramfs %d bytes, cmdline %s", res.Netboot.Initrd.Size, res.Netboot.Cmdline)

	t.Run("wipes", func(t *testing.T) {
		disks := []string{randomDisk(t, "a.img"), randomDisk(t, "b.img")}
		console := pxeBoot(t, tftp, images.NetbootScript, disks...)
		for _, want := range []string{
			"decom: network: eth0: 10.0.2.15",
			"decom: config: http://10.0.2.2:",
			"decom: signing key: http://10.0.2.2:",
			"decom: data partition: none labelled DECOM-DATA",
			"decom: registry http://10.0.2.2:",
			"decom: wiping 2 drives in parallel with nist-clear, verification full: /dev/vda /dev/vdb\n",
			"decom: registry: all 2 uploaded to http://10.0.2.2:",
			"decom: result: 2 sanitized, 0 with exceptions, 0 failed, 0 not wiped\n",
			"decom: powering off\n",
		} {
			if !strings.Contains(console, want) {
				t.Errorf("the console lacks %q", want)
			}
		}
		zero := make([]byte, e2eDiskSize)
		for _, d := range disks {
			b, err := os.ReadFile(d)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, zero) {
				t.Errorf("%s does not read back as nist-clear's zeros", filepath.Base(d))
			}
		}
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/api/v1/search?organization=ACME%%20Datacenter", regPort), nil)
		req.Header.Set("Authorization", "Bearer "+readToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var found registry.SearchResult
		if err := json.NewDecoder(resp.Body).Decode(&found); err != nil {
			t.Fatal(err)
		}
		var serials []string
		for _, c := range found.Certificates {
			serials = append(serials, c.Serial)
		}
		slices.Sort(serials)
		if want := []string{"NETBOOT0", "NETBOOT1"}; !slices.Equal(serials, want) {
			t.Errorf("the registry holds certificates of %q, want %q", serials, want)
		}
	})

	t.Run("wrong pin", func(t *testing.T) {
		script, err := os.ReadFile(filepath.Join(tftp, images.NetbootScript))
		if err != nil {
			t.Fatal(err)
		}
		wrong := strings.Repeat("0", 64)
		bad := strings.ReplaceAll(string(script), "decom.config.sha256="+res.Netboot.ConfigSHA256, "decom.config.sha256="+wrong)
		if bad == string(script) {
			t.Fatal("the script does not pin the config's SHA-256")
		}
		if err := os.WriteFile(filepath.Join(tftp, "wrong-pin.ipxe"), []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		disks := []string{randomDisk(t, "a.img"), randomDisk(t, "b.img")}
		var before [][]byte
		for _, d := range disks {
			b, err := os.ReadFile(d)
			if err != nil {
				t.Fatal(err)
			}
			before = append(before, b)
		}
		console := pxeBoot(t, tftp, "wrong-pin.ipxe", disks...)
		for _, want := range []string{"SHA-256 mismatch", "nothing can be wiped", "decom: result: 0 sanitized"} {
			if !strings.Contains(console, want) {
				t.Errorf("the console lacks %q", want)
			}
		}
		if strings.Contains(console, "decom: wiping ") {
			t.Errorf("the agent started a wipe")
		}
		for i, d := range disks {
			b, err := os.ReadFile(d)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, before[i]) {
				t.Errorf("%s changed", filepath.Base(d))
			}
		}
	})
}
