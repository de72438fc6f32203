package agent

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/u-root/u-root/pkg/cpio"

	"github.com/decom-project/decom/internal/qemutest"
)

// writeInitramfs writes a newc initramfs with init as /init and files (guest path → host
// path), as the boot image has it, and returns its path. Files below /bin are
// executable.
func writeInitramfs(t *testing.T, init string, files map[string]string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "initrd.cpio")
	f, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bw := bufio.NewWriter(f)
	w := cpio.NewDedupWriter(cpio.Newc.Writer(bw))
	ino := uint64(0)
	write := func(r cpio.Record) {
		ino++
		r.Ino, r.NLink = ino, 1
		if r.Mode&cpio.S_IFMT == cpio.S_IFDIR {
			r.NLink = 2
		}
		if err := w.WriteRecord(r); err != nil {
			t.Fatal(err)
		}
	}
	dirs := map[string]bool{}
	mkdirs := func(p string) {
		var parents []string
		for d := path.Dir(p); d != "/" && !dirs[d]; d = path.Dir(d) {
			parents = append(parents, d)
		}
		for i := len(parents) - 1; i >= 0; i-- {
			dirs[parents[i]] = true
			write(cpio.Directory(strings.TrimPrefix(parents[i], "/"), 0o755))
		}
	}
	mkdirs("/dev/x")
	write(cpio.CharDev("dev/console", 0o600, 5, 1))
	all := map[string]string{"/init": init}
	for g, h := range files {
		all[g] = h
	}
	for _, g := range slices.Sorted(maps.Keys(all)) {
		mkdirs(g)
		b, err := os.ReadFile(all[g])
		if err != nil {
			t.Fatal(err)
		}
		mode := uint64(0o644)
		if g == "/init" || strings.HasPrefix(g, "/bin/") {
			mode = 0o755
		}
		write(cpio.StaticRecord(b, cpio.Info{Name: strings.TrimPrefix(g, "/"), Mode: cpio.S_IFREG | mode}))
	}
	if err := cpio.WriteTrailer(w); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	return dst
}

// host runs the decom binary on this machine.
func host(t *testing.T, bin string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("decom %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return strings.TrimSpace(out.String())
}

// startRegistry runs decom registry serve on a loopback port of this machine, which the
// guest reaches through QEMU's user-mode network as 10.0.2.2, with the agent's key
// enrolled, and returns the port and an API token.
func startRegistry(t *testing.T, bin, pub string) (port int, token string) {
	t.Helper()
	data := filepath.Join(t.TempDir(), "registry")
	host(t, bin, nil, "registry", "key", "add", "--data", data, pub)
	token = host(t, bin, nil, "registry", "token", "create", "--data", data, "--name", "boot-test")
	return serveRegistry(t, bin, data), token
}

// serveRegistry runs decom registry serve with the data directory data on a loopback
// port of this machine until the test ends, and returns the port.
func serveRegistry(t *testing.T, bin, data string) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--log-level", "warn", "registry", "serve", "--addr", addr, "--data", data)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	for start := time.Now(); time.Since(start) < 20*time.Second; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return port
			}
		}
	}
	t.Fatal("the registry did not become ready")
	return 0
}

// TestQEMUBootPID1 boots decom as the initramfs's /init, the way the boot image does (but
// with QEMU's -kernel, not through UEFI): PID 1 mounts the kernel's filesystems, starts
// the agent, which loads every module itself from the index, gets a DHCP lease on a
// virtio NIC, wipes the one target, uploads its certificate to a registry on this
// machine, shows the summary and powers the machine off.
func TestQEMUBootPID1(t *testing.T) {
	qemu := qemutest.Require(t)
	vmlinuz, _ := qemutest.Kernel(t)
	// The guest runs the boot image's decom (images.AgentTags); this machine, the full
	// one: the boot image's has no registry server.
	bin := qemutest.Build(t, "github.com/decom-project/decom/cmd/decom")
	guest := qemutest.Build(t, "github.com/decom-project/decom/cmd/decom", "-tags", "agentimage")
	dir := t.TempDir()
	env := []string{"DECOM_KEY_PASSWORD=boot-test"}
	host(t, bin, env, "keys", "generate", "--out", filepath.Join(dir, "site"))
	port, token := startRegistry(t, bin, filepath.Join(dir, "site.pub"))
	key, err := os.ReadFile(filepath.Join(dir, "site.key"))
	if err != nil {
		t.Fatal(err)
	}
	stick := makeStick(t, map[string][]byte{
		// The kernel command line names the registry: the config allows that one.
		"config.yaml": []byte("operator:\n  name: Boot Test\nkey: site.key\nregistry_token: " + token + "\n" +
			"boot:\n  countdown: 0\n  cmdline_registries: [10.0.2.2]\n  allow_insecure_http: true\n"),
		"site.key":       key,
		"key-passphrase": []byte("boot-test\n"),
	})
	const size = 16 << 20
	target := randomImage(t, "target.img", size)
	mods := append(slices.Clone(qemutest.DefaultModules), FilesystemModules...)
	initrd := writeInitramfs(t, guest, moduleFiles(t, append(mods, "virtio_net")...))

	registry := fmt.Sprintf("http://10.0.2.2:%d", port)
	args := []string{
		"-machine", "pc", "-accel", "tcg", "-m", "1024", "-smp", "1",
		"-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio", "-no-reboot",
		"-kernel", vmlinuz, "-initrd", initrd,
		"-append", "console=ttyS0 panic=-1 quiet decom.mode=auto decom.method=zero decom.verify=full decom.registry=" + registry,
		"-device", "virtio-scsi-pci,id=scsi0",
		"-drive", "file=" + stick + ",if=none,id=stick,format=raw",
		"-device", "scsi-hd,drive=stick,bus=scsi0.0,serial=DECOMSTICK",
		"-drive", "file=" + target + ",if=none,id=target,format=raw",
		"-device", "virtio-blk-pci,drive=target,serial=BOOTTARGET",
		"-nic", "user,model=virtio-net-pci",
	}
	out := bootToPowerOff(t, qemu, args, 5*time.Minute)
	for _, want := range []string{
		"decom: decom ",
		"decom: network: eth0: 10.0.2.15 via 10.0.2.2",
		"decom: data partition: /dev/sda2 (GPT partition name DECOM-DATA) mounted on /data\n",
		"decom: wiping 1 drives in parallel with zero, verification full: /dev/vda\n",
		"decom: summary\n",
		"decom: registry: all 1 uploaded to " + registry + "\n",
		"decom: result: 1 sanitized, 0 with exceptions, 0 failed, 1 not wiped\n",
		"decom: data partition unmounted: it is safe to remove the stick\n",
		"decom: powering off in 10s",
		"decom: powering off\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q", want)
		}
	}
	if strings.Contains(out, "Kernel panic") || strings.Contains(out, "FATAL") {
		t.Errorf("the console reports a panic or a fatal error")
	}
	certs := stickFiles(t, stick, "/certs")
	kinds := map[string]int{}
	for name := range certs {
		kinds[filepath.Ext(name)]++
	}
	if kinds[".json"] != 2 || kinds[".pdf"] != 1 { // the certificate and its receipt
		t.Errorf("files on the stick: %v", slices.Sorted(mapKeys(certs)))
	}
	b, err := os.ReadFile(target)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, make([]byte, size)) {
		t.Errorf("the target does not read back as zeros")
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// bootToPowerOff runs QEMU with args until the guest powers off and returns its
// console (carriage returns dropped), logged. A guest still running after limit
// fails the test; QEMU's own failure is an error.
func bootToPowerOff(t *testing.T, qemu string, args []string, limit time.Duration) string {
	t.Helper()
	return bootWithMonitor(t, qemu, args, limit, nil)
}

// bootWithMonitor is bootToPowerOff with monitor, when not nil, run beside the guest
// with QEMU's machine protocol (QMP) and the console so far, to plug disks in and
// out; its ctx ends when QEMU does.
func bootWithMonitor(t *testing.T, qemu string, args []string, limit time.Duration, monitor func(ctx context.Context, m *qemutest.Monitor)) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var socket string
	if monitor != nil {
		socket = filepath.Join(t.TempDir(), "qmp.sock")
		args = append(slices.Clone(args), qemutest.MonitorArgs(socket)...)
	}
	cmd := exec.CommandContext(ctx, qemu, args...)
	var console lockedBuffer
	cmd.Stdout, cmd.Stderr = &console, &console
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("qemu: %v", err)
	}
	monCtx, stopMonitor := context.WithCancel(ctx)
	monitorDone := make(chan struct{})
	go func() {
		defer close(monitorDone)
		if monitor == nil {
			return
		}
		m, err := qemutest.DialMonitor(monCtx, socket, &console)
		if err != nil {
			t.Errorf("%v", err)
			return
		}
		defer m.Close()
		monitor(monCtx, m)
	}()
	err := cmd.Wait()
	stopMonitor()
	<-monitorDone
	out := strings.ReplaceAll(console.String(), "\r", "")
	t.Logf("console after %v:\n%s", time.Since(start).Round(time.Second), out)
	if ctx.Err() != nil {
		t.Fatalf("the guest did not power off within %v", limit)
	}
	if err != nil {
		t.Errorf("qemu: %v", err)
	}
	return out
}
