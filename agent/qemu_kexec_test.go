package agent

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/decom-project/decom/internal/kmod"
	"github.com/decom-project/decom/internal/qemutest"
	"github.com/decom-project/decom/internal/qemutest/wire"
	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/registry"
	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/wipe"
)

// TestQEMUKexec wipes a host from itself. The guest boots (QEMU's -kernel, the qemutest
// guest init) into a small "installed system": an ext4 system disk on /dev/vda that
// holds decom, the boot image's kernel and initramfs (in decom/, as on the stick's ESP),
// the config and an approved plan drawn up on this machine for the guest's DMI
// identity. It runs decom kexec --yes from that disk, chrooted into it, as a person
// would over SSH; the boot agent then wipes, as the plan approves, the former system
// disk and a second disk with zeros, uploads both certificates to a registry on this
// machine's loopback (10.0.2.2 from the guest) and powers off. This machine then checks
// both images byte by byte, the third disk (not in the plan) for being untouched, and
// the certificates in the registry, each stating the plan's SHA-256.
func TestQEMUKexec(t *testing.T) {
	qemu := qemutest.Require(t)
	vmlinuz, modulesDir := qemutest.Kernel(t)
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("needs mkfs.ext4 (e2fsprogs)")
		}
		t.Skip("needs mkfs.ext4 (e2fsprogs)")
	}
	bin := qemutest.Build(t, "github.com/decom-project/decom/cmd/decom")
	guest := qemutest.Build(t, "github.com/decom-project/decom/cmd/decom", "-tags", "agentimage", "-ldflags", "-s -w")
	dir := t.TempDir()
	env := []string{"DECOM_KEY_PASSWORD=kexec-test"}
	host(t, bin, env, "keys", "generate", "--out", filepath.Join(dir, "site"))
	data := filepath.Join(dir, "registry")
	host(t, bin, nil, "registry", "key", "add", "--data", data, filepath.Join(dir, "site.pub"))
	token := host(t, bin, nil, "registry", "token", "create", "--data", data, "--name", "kexec-test")
	// The test reads the registry as an auditor, with a token of its own.
	reader := host(t, bin, nil, "registry", "token", "create", "--data", data, "--name", "auditor", "--scope", "read")
	port := serveRegistry(t, bin, data)

	const (
		serial    = "KEXEC-HOST-1"
		uuid      = "5b2f6d52-8c1e-4b7a-9d0e-3f4a1c2b7e90"
		sysSize   = 64 << 20 // decom, a kernel and an initramfs fit
		dataSize  = 16 << 20
		otherSize = 16 << 20
	)
	// The approved plan, as a reviewer approved it for this guest.
	hp := sanitize.HostPlan{Host: inventory.Host{Hostname: "kexec-guest", SystemSerial: serial, SystemUUID: uuid}, Created: time.Now().UTC(),
		Targets: []sanitize.ApprovedTarget{
			{Path: "/dev/vda", Kind: wipe.KindDrive, Serial: "SYSDISK", SizeBytes: sysSize, Method: sanitize.ApprovedMethod{Name: "zero", Rounds: 1}},
			{Path: "/dev/vdb", Kind: wipe.KindDrive, Serial: "DATADISK", SizeBytes: dataSize, Method: sanitize.ApprovedMethod{Name: "zero", Rounds: 1}},
		}}
	plan, err := sanitize.PlanFile{Format: sanitize.PlanFormat, Hosts: []sanitize.HostPlan{hp}}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(plan)
	planSHA := hex.EncodeToString(sum[:])

	// The boot image: the agent's decom as /init with the modules it loads itself.
	mods := append(slices.Clone(qemutest.DefaultModules), FilesystemModules...)
	bootInitrd := writeInitramfs(t, guest, moduleFiles(t, append(mods, "virtio_net")...))

	// The installed system, on its own disk.
	tree := filepath.Join(dir, "system")
	put := func(rel string, b []byte, mode os.FileMode) {
		p := filepath.Join(tree, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, mode); err != nil {
			t.Fatal(err)
		}
	}
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	put("usr/bin/decom", read(guest), 0o755)
	put("boot/decom/vmlinuz", read(vmlinuz), 0o644)
	put("boot/decom/initrd.img", read(bootInitrd), 0o644)
	put("etc/decom/site.key", read(filepath.Join(dir, "site.key")), 0o600)
	put("etc/decom/plan.json", plan, 0o644)
	put("etc/decom/config.yaml", []byte(fmt.Sprintf("operator:\n  name: Kexec Test\nkey: /etc/decom/site.key\nverify: full\n"+
		"registry: http://10.0.2.2:%d\nregistry_token: %s\nboot:\n  countdown: 0\n  allow_insecure_http: true\n", port, token)), 0o600)
	for _, d := range []string{"proc", "sys", "dev", "tmp"} {
		if err := os.MkdirAll(filepath.Join(tree, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	system := qemutest.Image(t, "system.img", sysSize)
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", "-L", "system", "-d", tree, system).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v\n%s", err, out)
	}
	second := randomImage(t, "data.img", dataSize)
	other := randomImage(t, "other.img", otherSize)
	otherBefore := read(other)

	// The guest's first boot: the qemutest init loads ext4 (and the crc32c it asks
	// the crypto API for) and runs the system.
	stage1 := stage1Initramfs(t, modulesDir, append(slices.Clone(qemutest.DefaultModules), "ext4", "crc32c_generic"),
		[]string{"/bin/kexecsystem", "/dev/vda", "/usr/bin/decom", "--config", "/etc/decom/config.yaml", "kexec", "--yes",
			"--approved", "/etc/decom/plan.json", "--image", "/boot"}, env)

	args := []string{
		"-machine", "pc", "-accel", "tcg", "-m", "1024", "-smp", "1",
		"-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio", "-no-reboot",
		"-smbios", "type=1,serial=" + serial, "-uuid", uuid,
		"-kernel", vmlinuz, "-initrd", stage1, "-append", "console=ttyS0 panic=-1 quiet",
		"-drive", "file=" + system + ",if=none,id=system,format=raw", "-device", "virtio-blk-pci,drive=system,serial=SYSDISK",
		"-drive", "file=" + second + ",if=none,id=data,format=raw", "-device", "virtio-blk-pci,drive=data,serial=DATADISK",
		"-drive", "file=" + other + ",if=none,id=other,format=raw", "-device", "virtio-blk-pci,drive=other,serial=OTHERDISK",
		"-nic", "user,model=virtio-net-pci",
	}
	out := bootToPowerOff(t, qemu, args, 10*time.Minute)
	if strings.Contains(out, wire.End) {
		t.Fatalf("decom kexec returned in the installed system: it did not jump into the boot agent")
	}
	for _, want := range []string{
		"system disk /dev/vda mounted on /sysroot",
		"approved plan: sha256 " + planSHA + ": 2 targets, method zero",
		"decom: decom ",
		"decom: approved plan /etc/decom/plan.json (sha256 " + planSHA + ")",
		"decom: drive /dev/vdc: ",
		"not in the approved plan: not wiped\n",
		"decom: signing key: passphrase from /etc/decom/key-passphrase\n",
		"decom: registry: all 2 uploaded to http://10.0.2.2:",
		"decom: result: 2 sanitized, 0 with exceptions, 0 failed, 1 not wiped\n",
		"decom: powering off\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q", want)
		}
	}
	if strings.Contains(out, "Kernel panic") || strings.Contains(out, "FATAL") {
		t.Errorf("the console reports a panic or a fatal error")
	}
	for name, p := range map[string]string{"the system disk": system, "the second disk": second} {
		if !bytes.Equal(read(p), make([]byte, fileSize(t, p))) {
			t.Errorf("%s does not read back as zeros", name)
		}
	}
	if !bytes.Equal(read(other), otherBefore) {
		t.Errorf("the disk not in the plan was changed")
	}
	checkRegistry(t, port, reader, planSHA, "SYSDISK", "DATADISK")
}

func fileSize(t *testing.T, p string) int64 {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// stage1Initramfs is the qemutest guest init's initramfs with the modules of names (and
// their dependencies) and the kexecsystem program, running args with env.
func stage1Initramfs(t *testing.T, modulesDir string, names, args, env []string) string {
	t.Helper()
	x, err := kmod.Scan(modulesDir)
	if err != nil {
		t.Fatal(err)
	}
	mods, err := x.Closure(names...)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	files := map[string]string{"/bin/kexecsystem": qemutest.Build(t, "./testdata/kexecsystem")}
	cfg := wire.Config{Disks: 3, WaitSeconds: 60, Args: args, Env: env}
	for i, m := range mods {
		image, err := kmod.ReadFile(filepath.Join(modulesDir, filepath.FromSlash(m.Path)))
		if err != nil {
			t.Fatal(err)
		}
		file := fmt.Sprintf("%03d-%s.ko", i, m.Name)
		host := filepath.Join(tmp, file)
		if err := os.WriteFile(host, image, 0o644); err != nil {
			t.Fatal(err)
		}
		files[wire.ModulesDir+"/"+file] = host
		cfg.Modules = append(cfg.Modules, wire.Module{Name: m.Name, File: file})
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(tmp, "qemutest.json")
	if err := os.WriteFile(conf, js, 0o644); err != nil {
		t.Fatal(err)
	}
	files[wire.ConfigPath] = conf
	return writeInitramfs(t, qemutest.Build(t, "github.com/decom-project/decom/internal/qemutest/guestinit"), files)
}

// checkRegistry checks that the registry holds a certificate of each drive serial,
// each stating the approved plan's SHA-256.
func checkRegistry(t *testing.T, port int, reader, planSHA string, serials ...string) {
	t.Helper()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	get := func(path string) []byte {
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+reader)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %v %d %s", path, err, resp.StatusCode, b)
		}
		return b
	}
	for _, serial := range serials {
		var found registry.SearchResult
		if err := json.Unmarshal(get("/api/v1/search?serial="+serial), &found); err != nil {
			t.Fatal(err)
		}
		if len(found.Certificates) != 1 {
			t.Errorf("the registry has %d certificates of %s, want 1", len(found.Certificates), serial)
			continue
		}
		c := found.Certificates[0]
		if c.Method != "zero" {
			t.Errorf("certificate of %s: method %q", serial, c.Method)
		}
		var bundle struct {
			DSSEEnvelope struct {
				Payload string `json:"payload"`
			} `json:"dsseEnvelope"`
		}
		if err := json.Unmarshal(get("/api/v1/certificates/"+c.ID+"/bundle"), &bundle); err != nil {
			t.Fatal(err)
		}
		payload, err := base64.StdEncoding.DecodeString(bundle.DSSEEnvelope.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(payload, []byte(planSHA)) {
			t.Errorf("certificate of %s does not state the plan's SHA-256", serial)
		}
	}
}
