// Package ansible_test runs the decom.sanitize Ansible collection against three
// hosts on this machine: each an sshd of its own in its own UTS, mount and PID
// namespaces (its own hostname, its own DMI serial and UUID), with its own loop
// devices standing in for its drives.
package ansible_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/decom-project/decom/internal/loopdev"
)

const diskSize = 8 << 20

// hostScript turns the namespaces unshare made into a host: a hostname, DMI
// files of its own under /sys/class/dmi/id (a tmpfs over /sys/class with every
// class bound back, since a machine may have no /sys/class/dmi to bind over),
// then sshd in the foreground. The mounts die with the namespace.
const hostScript = `set -eu
H=$1
hostname "$2"
mkdir -p "$H/sysclass"
mount --bind /sys/class "$H/sysclass"
mount -t tmpfs -o mode=0755 decom-test-sysclass /sys/class
for d in "$H"/sysclass/*; do
	n=${d##*/}
	mkdir -p "/sys/class/$n"
	mount --bind "$d" "/sys/class/$n"
done
mkdir -p /sys/class/dmi
mount --bind "$H/dmi" /sys/class/dmi
mkdir -p /run/sshd
exec /usr/sbin/sshd -D -e -f "$H/sshd_config"
`

type host struct {
	name, addr, dir string
	port            int
	serial, uuid    string
	disks           []*loopdev.Loop // A and B are planned, C is not
	orig            [][]byte
}

func require(t *testing.T) {
	t.Helper()
	stop := t.Skipf
	if os.Getenv("CI") == "true" {
		stop = t.Fatalf
	}
	for _, c := range []string{"ansible-playbook", "ansible-doc", "/usr/sbin/sshd", "ssh-keygen", "ssh", "unshare", "go"} {
		if _, err := exec.LookPath(c); err != nil {
			stop("needs %s (make deps installs ansible-core and openssh-server)", c)
		}
	}
	loopdev.Require(t, "truncate")
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T, addr string) int {
	t.Helper()
	l, err := net.Listen("tcp", addr+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startHost makes h's disks, keys and sshd, and stops them when the test ends.
func startHost(t *testing.T, h *host, clientPub string, seed int64) {
	t.Helper()
	rng := rand.New(rand.NewSource(seed))
	for range 3 {
		content := make([]byte, diskSize)
		rng.Read(content)
		l := loopdev.New(t, diskSize, false, func(image string) error { return os.WriteFile(image, content, 0o600) })
		h.disks = append(h.disks, l)
		h.orig = append(h.orig, content)
	}
	for f, v := range map[string]string{"product_serial": h.serial, "product_uuid": h.uuid,
		"sys_vendor": "decom test", "product_name": "ansible host " + h.name} {
		writeFile(t, filepath.Join(h.dir, "dmi", "id", f), v+"\n")
	}
	run(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(h.dir, "host_key"))
	writeFile(t, filepath.Join(h.dir, "authorized_keys"), clientPub)
	h.port = freePort(t, h.addr)
	writeFile(t, filepath.Join(h.dir, "sshd_config"), fmt.Sprintf(`ListenAddress %s:%d
HostKey %s/host_key
AuthorizedKeysFile %s/authorized_keys
PidFile none
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
`, h.addr, h.port, h.dir, h.dir))

	logf, err := os.Create(filepath.Join(h.dir, "sshd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("unshare", "--uts", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc",
		"sh", "-c", hostScript, "host.sh", h.dir, h.name)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	// unshare's death kills the namespace's init (--kill-child), and with it every
	// process of the host: sshd, its sessions, decom.
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("%s:%d", h.addr, h.port), time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(h.dir, "sshd.log"))
			t.Fatalf("host %s: sshd exited:\n%s", h.name, log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("host %s: sshd does not listen on %s:%d", h.name, h.addr, h.port)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func readDisk(t *testing.T, l *loopdev.Loop, n int) []byte {
	t.Helper()
	f, err := os.Open(l.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, 0); err != nil {
		t.Fatalf("read %s: %v", l.Path, err)
	}
	return b
}

type wipeResult struct {
	Changed      bool     `json:"changed"`
	Failed       bool     `json:"failed"`
	Msg          string   `json:"msg"`
	RC           int      `json:"rc"`
	ExitMeaning  *string  `json:"exit_meaning"`
	Certificates []string `json:"certificates"`
	Records      []struct {
		Device  string `json:"device"`
		Outcome string `json:"outcome"`
	} `json:"records"`
	Drift []struct {
		Device, Field, Planned, Now string
	} `json:"drift"`
}

// wipeResults returns each host's decom_wipe result from the lines of Ansible's
// oneline stdout callback ("HOST | STATE => {JSON}"): the results that have an
// exit_meaning, which only decom_wipe returns.
func wipeResults(t *testing.T, out []byte) map[string]wipeResult {
	t.Helper()
	res := map[string]wipeResult{}
	for _, line := range strings.Split(string(out), "\n") {
		h, rest, ok := strings.Cut(line, " | ")
		if !ok {
			continue
		}
		state, body, ok := strings.Cut(rest, " => ")
		if !ok || !strings.HasPrefix(body, "{") {
			continue
		}
		var r wipeResult
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("result of %s: %v\n%s", h, err, body)
		}
		if r.ExitMeaning == nil {
			continue
		}
		r.Failed = state == "FAILED!"
		if _, dup := res[h]; dup {
			t.Fatalf("two decom_wipe results for %s", h)
		}
		res[h] = r
	}
	return res
}

func TestThreeHostsPlanApproveWipe(t *testing.T) {
	require(t)
	tmp := t.TempDir()
	collection, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	cols := filepath.Join(tmp, "collections")
	if err := os.MkdirAll(filepath.Join(cols, "ansible_collections", "decom"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(collection, filepath.Join(cols, "ansible_collections", "decom", "sanitize")); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "ANSIBLE_COLLECTIONS_PATH="+cols, "ANSIBLE_CONFIG="+filepath.Join(tmp, "ansible.cfg"),
		"ANSIBLE_HOST_KEY_CHECKING=False", "ANSIBLE_NOCOLOR=1", "ANSIBLE_RETRY_FILES_ENABLED=False",
		"ANSIBLE_LOCAL_TEMP="+filepath.Join(tmp, "ansible-local"), "LC_ALL=C.UTF-8",
		"ANSIBLE_SSH_ARGS=-o ControlMaster=no -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no")
	writeFile(t, filepath.Join(tmp, "ansible.cfg"), "[defaults]\n")

	// Each module's documentation renders.
	for _, m := range []string{"decom_inventory", "decom_plan", "decom_wipe"} {
		cmd := exec.Command("ansible-doc", "-t", "module", "decom.sanitize."+m)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "decom_path") || !strings.Contains(string(out), "RETURN VALUES") {
			t.Fatalf("ansible-doc %s: %v\n%s", m, err, out)
		}
		if m == "decom_wipe" && !strings.Contains(string(out), "key_passphrase") {
			t.Fatalf("ansible-doc decom_wipe shows no key_passphrase:\n%s", out)
		}
	}

	decom := filepath.Join(tmp, "decom")
	build := exec.Command("go", "build", "-o", decom, "github.com/decom-project/decom/cmd/decom")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	clientKey := filepath.Join(tmp, "client")
	run(t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", clientKey)
	clientPub, err := os.ReadFile(clientKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	const passphrase = "correct horse battery staple"
	keyCmd := exec.Command(decom, "keys", "generate", "--out", filepath.Join(tmp, "site"))
	keyCmd.Env = append(os.Environ(), "DECOM_KEY_PASSWORD="+passphrase)
	if out, err := keyCmd.CombinedOutput(); err != nil {
		t.Fatalf("decom keys generate: %v\n%s", err, out)
	}

	hosts := []*host{
		{name: "node1", addr: "127.0.0.2", serial: "SER-NODE-1", uuid: "11111111-2222-3333-4444-000000000001"},
		{name: "node2", addr: "127.0.0.3", serial: "SER-NODE-2", uuid: "11111111-2222-3333-4444-000000000002"},
		{name: "node3", addr: "127.0.0.4", serial: "SER-NODE-3", uuid: "11111111-2222-3333-4444-000000000003"},
	}
	inv := map[string]any{}
	for i, h := range hosts {
		h.dir = filepath.Join(tmp, h.name)
		startHost(t, h, string(clientPub), int64(i+1))
		inv[h.name] = map[string]any{
			"ansible_host": h.addr, "ansible_port": h.port,
			"decom_devices":      []string{h.disks[0].Path, h.disks[1].Path},
			"decom_binary_dest":  filepath.Join(h.dir, "work", "decom"),
			"decom_workdir":      filepath.Join(h.dir, "work"),
			"ansible_remote_tmp": filepath.Join(h.dir, "ansible-tmp"),
		}
	}
	invBytes, err := json.MarshalIndent(map[string]any{"all": map[string]any{
		"hosts": inv,
		"vars": map[string]any{
			"ansible_user": "root", "ansible_ssh_private_key_file": clientKey,
			"ansible_python_interpreter": "/usr/bin/python3",
		},
	}}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	inventory := filepath.Join(tmp, "hosts.yml")
	writeFile(t, inventory, string(invBytes))
	playbook := filepath.Join(collection, "playbooks", "decommission.yml")
	plans, certs := filepath.Join(tmp, "plans"), filepath.Join(tmp, "certificates")
	common := []string{"-i", inventory, playbook, "-e", "decom_binary_src=" + decom, "-e", "decom_plan_fetch_dir=" + plans,
		"-e", "decom_cert_fetch_dir=" + certs}
	playbookRun := func(oneline bool, args ...string) ([]byte, error) {
		cmd := exec.Command("ansible-playbook", append(append([]string{}, common...), args...)...)
		cmd.Env = env
		if oneline {
			cmd.Env = append(cmd.Env, "ANSIBLE_STDOUT_CALLBACK=oneline")
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Logf("ansible-playbook %s: %v", args[:2], err)
		}
		return out, err
	}

	// Plan on all three hosts; each plan names its own host.
	if out, err := playbookRun(false, "--tags", "plan", "-e", "decom_method=zero"); err != nil {
		t.Fatalf("plan play failed:\n%s", out)
	}
	var planFiles []string
	for _, h := range hosts {
		f := filepath.Join(plans, h.name+".json")
		planFiles = append(planFiles, f)
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("plan of %s did not come back: %v", h.name, err)
		}
		var plan struct {
			Format string `json:"format"`
			Hosts  []struct {
				Host struct {
					Hostname     string `json:"hostname"`
					SystemSerial string `json:"system_serial"`
					SystemUUID   string `json:"system_uuid"`
				} `json:"host"`
				Targets []struct {
					Path      string `json:"path"`
					SizeBytes uint64 `json:"size_bytes"`
				} `json:"targets"`
			} `json:"hosts"`
		}
		if err := json.Unmarshal(b, &plan); err != nil {
			t.Fatalf("plan of %s: %v", h.name, err)
		}
		if len(plan.Hosts) != 1 {
			t.Fatalf("plan of %s has %d host sections:\n%s", h.name, len(plan.Hosts), b)
		}
		hp := plan.Hosts[0]
		if hp.Host.Hostname != h.name || hp.Host.SystemSerial != h.serial || hp.Host.SystemUUID != h.uuid {
			t.Errorf("plan of %s names host %+v, want %s, %s, %s", h.name, hp.Host, h.name, h.serial, h.uuid)
		}
		if len(hp.Targets) != 2 || hp.Targets[0].Path != h.disks[0].Path || hp.Targets[1].Path != h.disks[1].Path ||
			hp.Targets[0].SizeBytes != diskSize {
			t.Errorf("plan of %s targets %+v, want %s and %s", h.name, hp.Targets, h.disks[0].Path, h.disks[1].Path)
		}
	}

	// The review: one file for the rack.
	merged := filepath.Join(tmp, "approved.json")
	run(t, decom, append(append([]string{"plan", "merge"}, planFiles...), "--out", merged)...)
	approved, err := os.ReadFile(merged)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(approved)
	planSum := hex.EncodeToString(sum[:])
	vars, err := json.Marshal(map[string]string{"decom_approved_plan": merged, "decom_key_src": filepath.Join(tmp, "site.key"),
		"decom_key_passphrase": passphrase, "decom_operator": "Jane Doe", "decom_verify": "full"})
	if err != nil {
		t.Fatal(err)
	}
	wipeArgs := []string{"--tags", "wipe", "-e", string(vars)}

	// Check mode compares only: every host agrees with the plan, nothing changes.
	out, err := playbookRun(true, append(wipeArgs, "--check")...)
	if err != nil {
		t.Fatalf("wipe play in check mode failed:\n%s", out)
	}
	for _, h := range hosts {
		r, ok := wipeResults(t, out)[h.name]
		if !ok || r.Failed || r.Changed || len(r.Records) != 0 {
			t.Errorf("check mode on %s: %+v", h.name, r)
		}
	}
	for _, h := range hosts {
		for i, d := range h.disks {
			if !bytes.Equal(readDisk(t, d, diskSize), h.orig[i]) {
				t.Fatalf("check mode wrote to %s's disk %d (%s)", h.name, i, d.Path)
			}
		}
	}

	// node3 drifts: its disk B grows by 4 MiB after the review.
	drifted := hosts[2]
	if err := os.Truncate(drifted.disks[1].Backing, diskSize+4<<20); err != nil {
		t.Fatal(err)
	}
	run(t, "losetup", "-c", drifted.disks[1].Path)

	out, err = playbookRun(true, wipeArgs...)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("wipe play: %v, want exit code 2 (a host failed):\n%s", err, out)
	}
	if bytes.Contains(out, []byte(passphrase)) {
		t.Errorf("the key's passphrase shows in ansible-playbook's output")
	}
	results := wipeResults(t, out)
	for _, h := range hosts[:2] {
		r := results[h.name]
		if r.Failed || !r.Changed || r.RC != 0 || len(r.Records) != 2 || len(r.Certificates) != 2 {
			t.Errorf("wipe on %s: %+v", h.name, r)
		}
		for _, rec := range r.Records {
			if rec.Outcome != "completed" {
				t.Errorf("wipe on %s: %s %s", h.name, rec.Device, rec.Outcome)
			}
		}
	}
	r := results[drifted.name]
	if !r.Failed || r.Changed || r.RC != 4 || !strings.Contains(r.Msg, "exited with 4: refused by a safety gate; nothing was written") ||
		len(r.Drift) != 1 || r.Drift[0].Device != drifted.disks[1].Path || r.Drift[0].Field != "size_bytes" ||
		r.Drift[0].Planned != fmt.Sprint(diskSize) || r.Drift[0].Now != fmt.Sprint(diskSize+4<<20) ||
		!strings.Contains(r.Msg, "drift: "+drifted.disks[1].Path+": size_bytes") {
		t.Errorf("wipe on the drifted %s: %+v", drifted.name, r)
	}

	// Byte by byte: the approved disks of node1 and node2 hold zeros; their C, and
	// every disk of node3, hold what they held.
	zeros := make([]byte, diskSize)
	for _, h := range hosts {
		for i, d := range h.disks {
			got := readDisk(t, d, diskSize)
			want := h.orig[i]
			if h != drifted && i < 2 {
				want = zeros
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s's disk %c (%s): not what it should hold (wiped: %v)", h.name, 'A'+i, d.Path, bytes.Equal(got, zeros))
			}
		}
	}

	// The certificates came back, verify with the site's key and carry the
	// approved plan's SHA-256; none came from the drifted host.
	for _, h := range hosts {
		files, _ := filepath.Glob(filepath.Join(certs, h.name, "*.sigstore.json"))
		if h == drifted {
			if len(files) != 0 || fileExists(filepath.Join(certs, h.name)) {
				t.Errorf("certificates from the drifted %s: %v", h.name, files)
			}
			continue
		}
		if len(files) != 2 {
			t.Fatalf("%s: %d certificates came back, want 2: %v", h.name, len(files), files)
		}
		run(t, decom, append([]string{"cert", "verify", "--key", filepath.Join(tmp, "site.pub")}, files...)...)
		for _, f := range files {
			show := run(t, decom, "cert", "show", "--key", filepath.Join(tmp, "site.pub"), f)
			if !strings.Contains(show, "sha256:"+planSum) {
				t.Errorf("%s does not carry the approved plan's SHA-256 %s:\n%s", f, planSum, show)
			}
		}
	}
	// The signing key does not stay on the hosts.
	for _, h := range hosts {
		if fileExists(filepath.Join(h.dir, "work", "signing.key")) {
			t.Errorf("the signing key stayed on %s", h.name)
		}
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
