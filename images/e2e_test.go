package images_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/images"
	"github.com/decom-project/decom/internal/debcache"
	"github.com/decom-project/decom/internal/diskimage"
	"github.com/decom-project/decom/internal/qemutest"
	"github.com/decom-project/decom/registry"
)

// The end-to-end tests build the real USB image, put a technician's config and a signing
// key on its DECOM-DATA partition, boot it under QEMU with OVMF (UEFI, software emulation)
// as a USB stick beside the drives to wipe, and wait for the machine to power itself off.
// Then the host reads the stick with go-diskfs, checks the certificates as an auditor
// would (decom cert verify), and reads the drives' images back.

const (
	e2eDiskSize   = 16 << 20
	e2ePassphrase = "e2e passphrase"
)

// e2eBin holds the two builds of decom: the full one for the host's side (keys, the
// registry, decom cert verify) and the boot image's (built with AgentTags) for /init.
var e2eBin struct {
	once       sync.Once
	host, boot string
}

// buildDecom builds decom with the given extra go build arguments.
func buildDecom(dir, name string, args ...string) (string, error) {
	p := filepath.Join(dir, name)
	cmd := exec.Command("go", append(append([]string{"build", "-trimpath", "-o", p}, args...), "../cmd/decom")...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build decom %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return p, nil
}

// decomBinaries builds decom once for the host-side checks and once for the image.
func decomBinaries(t *testing.T) (host, boot string) {
	t.Helper()
	e2eBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "decom-e2e-bin-")
		if err != nil {
			t.Fatal(err)
		}
		host, err := buildDecom(dir, "decom")
		if err != nil {
			t.Fatal(err)
		}
		boot, err := buildDecom(dir, "decom-agent", "-tags", images.AgentTags)
		if err != nil {
			t.Fatal(err)
		}
		e2eBin.host, e2eBin.boot = host, boot
	})
	if e2eBin.host == "" || e2eBin.boot == "" {
		t.Fatal("decom was not built")
	}
	return e2eBin.host, e2eBin.boot
}

// decomBinary is the full decom, for the host's side.
func decomBinary(t *testing.T) string {
	t.Helper()
	host, _ := decomBinaries(t)
	return host
}

// bootBinary is the boot image's decom.
func bootBinary(t *testing.T) string {
	t.Helper()
	_, boot := decomBinaries(t)
	return boot
}

// hostDecom runs decom on the host and returns its stdout.
func hostDecom(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(decomBinary(t), args...)
	cmd.Env = append(os.Environ(), "DECOM_KEY_PASSWORD="+e2ePassphrase)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("decom %s: %w: %s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), err
}

// stick builds the USB image with config.yaml, the site key and its passphrase on
// DECOM-DATA, as a technician prepares one. It returns the image and the public key.
func stick(t *testing.T, config string) (image, pub string) {
	t.Helper()
	qemutest.Require(t)
	vmlinuz, modules, err := debcache.Kernel()
	if err != nil {
		vmlinuz, modules = qemutest.Kernel(t)
	}
	dir := t.TempDir()
	if _, err := hostDecom(t, "keys", "generate", "--out", filepath.Join(dir, "site")); err != nil {
		t.Fatal(err)
	}
	image = filepath.Join(dir, "decom.img")
	res, err := images.Build(context.Background(), images.Config{Image: image, Kernel: vmlinuz, Modules: modules,
		Binary: bootBinary(t), DataSize: 64 << 20})
	if err != nil {
		if efi, _, lerr := debcache.Loader(); lerr != nil && efi == "" {
			stopE2E(t, "no systemd-boot in the loader cache (make deps fetches it): %v", err)
		}
		t.Fatal(err)
	}
	t.Logf("image: %d bytes, initramfs %d bytes with %d modules", res.Image.Size, res.Initramfs.Size, len(res.Initramfs.Modules))
	key, err := os.ReadFile(filepath.Join(dir, "site.key"))
	if err != nil {
		t.Fatal(err)
	}
	writeData(t, image, map[string][]byte{
		"config.yaml":    []byte(config),
		"site.key":       key,
		"key-passphrase": []byte(e2ePassphrase + "\n"),
	})
	return image, filepath.Join(dir, "site.pub")
}

func stopE2E(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// writeData writes files onto the image's DECOM-DATA partition.
func writeData(t *testing.T, image string, files map[string][]byte) {
	t.Helper()
	if err := diskimage.WriteFiles(image, 2, files); err != nil {
		t.Fatal(err)
	}
}

// readData returns the files of a directory of the image's DECOM-DATA partition.
func readData(t *testing.T, image, dir string) map[string][]byte {
	t.Helper()
	files, err := diskimage.ReadFiles(image, 2, dir)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// randomDisk is a drive image full of random bytes.
func randomDisk(t *testing.T, name string) string {
	t.Helper()
	p := qemutest.Image(t, name, e2eDiskSize)
	b := make([]byte, e2eDiskSize)
	rand.Read(b)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// boot boots the stick with the drives and returns the console once the machine has
// powered itself off.
func boot(t *testing.T, image string, disks []qemutest.Disk, network bool) string {
	t.Helper()
	res := qemutest.BootUEFI(t, qemutest.UEFIConfig{USB: image, Disks: disks, Net: network, Timeout: 12 * time.Minute})
	console := strings.ReplaceAll(res.Console, "\r", "")
	if os.Getenv("DECOM_E2E_CONSOLE") != "" || t.Failed() {
		t.Logf("console:\n%s", console)
	}
	for _, want := range []string{"decom: summary", "decom: data partition unmounted", "decom: powering off"} {
		if !strings.Contains(console, want) {
			t.Errorf("the console lacks %q; its end:\n%s", want, console[max(0, len(console)-4000):])
		}
	}
	if strings.Contains(console, "decom: FATAL:") {
		t.Errorf("the agent gave up:\n%s", console[max(0, len(console)-4000):])
	}
	return console
}

// certificates returns the stick's verified certificates by drive serial, each checked with
// decom cert verify on the host as an auditor would.
func stickCertificates(t *testing.T, image, pub string) map[string]*certificates.Certificate {
	t.Helper()
	files := readData(t, image, "certs")
	dir := t.TempDir()
	out := map[string]*certificates.Certificate{}
	pdfs := 0
	for name, b := range files {
		if strings.HasSuffix(name, ".pdf") {
			pdfs++
			if !bytes.HasPrefix(b, []byte("%PDF-")) {
				t.Errorf("%s is not a PDF", name)
			}
		}
		if !strings.HasSuffix(name, ".sigstore.json") {
			continue
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := hostDecom(t, "cert", "verify", p, "--key", pub); err != nil {
			t.Errorf("certificate %s does not verify: %v", name, err)
			continue
		}
		c, _, err := certificates.Inspect(b)
		if err != nil {
			t.Fatal(err)
		}
		out[c.Media.Serial] = c
	}
	if pdfs != len(out) {
		t.Errorf("%d PDFs for %d certificates", pdfs, len(out))
	}
	return out
}

func baseConfig(extra string) string {
	return `operator:
  name: E2E Technician
  title: Technician
organization: ACME Datacenter
customer: Test Customer
destination: recycling
method: nist-clear
verify: sample
key: site.key
pdf: true
boot:
  countdown: 0
` + extra
}

// TestE2EAuto is the technician's run: the stick and three drives full of data (virtio,
// NVMe, SATA), auto mode, nist-clear. Every drive ends as zeros (nist-clear's pattern)
// with a verified certificate on the stick, and the stick itself is untouched but for
// the certificates, PDFs and log.
func TestE2EAuto(t *testing.T) {
	image, pub := stick(t, baseConfig(""))
	disks := []qemutest.Disk{
		{Path: randomDisk(t, "virtio.img"), Bus: qemutest.VirtioBlk, Serial: "E2EVIRTIO"},
		{Path: randomDisk(t, "nvme.img"), Bus: qemutest.NVMe, Serial: "E2ENVME"},
		{Path: randomDisk(t, "sata.img"), Bus: qemutest.AHCI, Serial: "E2ESATA"},
	}
	console := boot(t, image, disks, false)
	if !strings.Contains(console, "decom: result: 3 sanitized, 0 with exceptions, 0 failed") {
		t.Errorf("the summary does not say 3 sanitized")
	}
	certs := stickCertificates(t, image, pub)
	var serials []string
	for serial, c := range certs {
		serials = append(serials, serial)
		if c.Outcome != certificates.OutcomeSanitized || c.Sanitization.Method != "nist-clear" ||
			c.PerformedBy.Name != "E2E Technician" || c.Organization != "ACME Datacenter" || !c.Verification.Verified {
			t.Errorf("certificate of %s: outcome %s, method %s, operator %q, organisation %q, verified %v",
				serial, c.Outcome, c.Sanitization.Method, c.PerformedBy.Name, c.Organization, c.Verification.Verified)
		}
	}
	slices.Sort(serials)
	if want := []string{"E2ENVME", "E2ESATA", "E2EVIRTIO"}; !slices.Equal(serials, want) {
		t.Errorf("certificates for %q, want %q", serials, want)
	}
	zero := make([]byte, e2eDiskSize)
	for _, d := range disks {
		b, err := os.ReadFile(d.Path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, zero) {
			t.Errorf("%s (%s) does not read back as nist-clear's zeros", d.Serial, d.Bus)
		}
	}
	logs := readData(t, image, "logs")
	found := false
	for name, b := range logs {
		found = found || (strings.HasSuffix(name, ".log") && bytes.Contains(b, []byte("decom: result: 3 sanitized")))
	}
	if !found {
		t.Errorf("no log with the result on the stick (%d files)", len(logs))
	}
}

// TestE2ERegistry boots with a registry on this machine's loopback, which the guest reaches
// through QEMU's user-mode network as 10.0.2.2: the certificates arrive there, and are on
// the stick with their receipts.
func TestE2ERegistry(t *testing.T) {
	qemutest.Require(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "registry")
	// The stick's key is made in stick(); the registry enrols it after.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	token, err := hostDecom(t, "--log-level", "error", "registry", "token", "create", "--data", data, "--name", "e2e")
	if err != nil {
		t.Fatal(err)
	}
	token = strings.TrimSpace(token)
	// The auditor reads with a token of their own: reads need the read scope.
	readToken, err := hostDecom(t, "--log-level", "error", "registry", "token", "create", "--data", data, "--name", "auditor", "--scope", "read")
	if err != nil {
		t.Fatal(err)
	}
	readToken = strings.TrimSpace(readToken)
	image, pub := stick(t, baseConfig(fmt.Sprintf("  allow_insecure_http: true # the test registry listens on the host's loopback, without TLS\nregistry: http://10.0.2.2:%d\nregistry_token: %s\n", port, token)))
	if _, err := hostDecom(t, "--log-level", "error", "registry", "key", "add", "--data", data, pub); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := exec.CommandContext(ctx, decomBinary(t), "--log-level", "warn", "registry", "serve", "--addr", addr, "--data", data)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); srv.Wait() })
	base := "http://" + addr
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Since(start) > 20*time.Second {
			t.Fatal("the registry did not become ready")
		}
	}

	disks := []qemutest.Disk{
		{Path: randomDisk(t, "nvme.img"), Bus: qemutest.NVMe, Serial: "REGNVME"},
		{Path: randomDisk(t, "virtio.img"), Bus: qemutest.VirtioBlk, Serial: "REGVIRTIO"},
	}
	console := boot(t, image, disks, true)
	if !strings.Contains(console, "decom: registry: all 2 uploaded to http://10.0.2.2:") {
		t.Errorf("the console does not report both uploaded")
	}
	certs := stickCertificates(t, image, pub)
	req, err := http.NewRequest(http.MethodGet, base+"/api/v1/search?organization="+"ACME%20Datacenter", nil)
	if err != nil {
		t.Fatal(err)
	}
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
	inRegistry := map[string]string{}
	for _, c := range found.Certificates {
		inRegistry[c.Serial] = c.ID
	}
	for _, serial := range []string{"REGNVME", "REGVIRTIO"} {
		c, ok := certs[serial]
		switch {
		case !ok:
			t.Errorf("no certificate for %s on the stick", serial)
		case inRegistry[serial] != c.ID:
			t.Errorf("certificate %s of %s is not in the registry (it has %v)", c.ID, serial, inRegistry)
		}
	}
	receipts := 0
	for name := range readData(t, image, "certs") {
		if strings.HasSuffix(name, ".receipt.json") {
			receipts++
		}
	}
	if receipts != 2 {
		t.Errorf("%d receipts on the stick, want 2", receipts)
	}
	// An auditor checks one against the registry's log.
	for name, b := range readData(t, image, "certs") {
		if !strings.HasSuffix(name, ".sigstore.json") {
			continue
		}
		p := filepath.Join(t.TempDir(), name)
		os.WriteFile(p, b, 0o644)
		out, err := hostDecom(t, "cert", "verify", p, "--key", pub, "--registry", base, "--token", readToken)
		if err != nil || !strings.Contains(out, "in the registry's log") {
			t.Errorf("cert verify --registry: %v\n%s", err, out)
		}
		break
	}
}

// TestE2EBadSectors boots with a drive whose sectors at 8 MiB fail every read and write
// (QEMU's blkdebug): its certificate says completed with exceptions and names that range,
// and the rest of the drive reads back as zeros.
func TestE2EBadSectors(t *testing.T) {
	image, pub := stick(t, baseConfig(""))
	const bad = 8 << 20 // bytes
	rules := filepath.Join(t.TempDir(), "blkdebug.conf")
	var conf strings.Builder
	for _, event := range []string{"write_aio", "read_aio"} {
		fmt.Fprintf(&conf, "[inject-error]\nevent = \"%s\"\nerrno = \"5\"\nsector = \"%d\"\nonce = \"off\"\n\n", event, bad/512)
	}
	if err := os.WriteFile(rules, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	disk := qemutest.Disk{Path: randomDisk(t, "faulty.img"), Bus: qemutest.VirtioBlk, Serial: "E2EFAULTY", Blkdebug: rules}
	console := boot(t, image, []qemutest.Disk{disk}, false)
	if !strings.Contains(console, "decom: result: 0 sanitized, 1 with exceptions, 0 failed") {
		t.Errorf("the summary does not report the drive with exceptions")
	}
	c, ok := stickCertificates(t, image, pub)["E2EFAULTY"]
	if !ok {
		t.Fatal("no certificate for the faulty drive")
	}
	if c.Outcome != certificates.OutcomeExceptions {
		t.Errorf("outcome %q, want %q", c.Outcome, certificates.OutcomeExceptions)
	}
	var ranges []string
	for _, p := range c.Sanitization.Passes {
		for _, r := range p.BadRanges {
			ranges = append(ranges, fmt.Sprintf("%d+%d", r.Offset, r.Length))
			if r.Offset > bad || r.Offset+r.Length <= bad || r.Length > 4096 {
				t.Errorf("bad range %d+%d does not pin down the failing sector at %d", r.Offset, r.Length, bad)
			}
		}
	}
	if len(ranges) == 0 {
		t.Errorf("the certificate lists no bad range")
	}
	t.Logf("bad ranges in the certificate: %s", strings.Join(ranges, ", "))
	b, err := os.ReadFile(disk.Path)
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(b); off += 4096 {
		if off <= bad && bad < off+4096 {
			continue
		}
		if !bytes.Equal(b[off:off+4096], make([]byte, 4096)) {
			t.Fatalf("the faulty drive is not zero at %d, outside its bad sectors", off)
		}
	}
}
