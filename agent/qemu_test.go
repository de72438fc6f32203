package agent

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/disk"
	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/diskfs/go-diskfs/partition/gpt"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/internal/diskimage"
	"github.com/decom-project/decom/internal/kmod"
	"github.com/decom-project/decom/internal/qemutest"
)

const stickMiB = 1 + 40 + 48 + 1 // GPT, ESP, DECOM-DATA, backup GPT

// makeStick writes a USB image as decom's builder lays it out (GPT; partition 1 the
// ESP, partition 2 DECOM-DATA, both FAT32 and named by label and GPT name) with files
// on the data partition.
func makeStick(t *testing.T, files map[string][]byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "stick.img")
	d, err := diskfs.Create(p, stickMiB<<20, diskfs.SectorSize512)
	if err != nil {
		t.Fatal(err)
	}
	const mib = 2048 // sectors
	table := &gpt.Table{LogicalSectorSize: 512, PhysicalSectorSize: 512, ProtectiveMBR: true, Partitions: []*gpt.Partition{
		{Index: 1, Start: mib, End: 41*mib - 1, Type: gpt.EFISystemPartition, Name: ESPLabel},
		{Index: 2, Start: 41 * mib, End: 89*mib - 1, Type: gpt.MicrosoftBasicData, Name: DataLabel},
	}}
	if err := d.Partition(table); err != nil {
		t.Fatal(err)
	}
	if _, err := d.CreateFilesystem(disk.FilesystemSpec{Partition: 1, FSType: filesystem.TypeFat32, VolumeLabel: ESPLabel}); err != nil {
		t.Fatal(err)
	}
	_, err = d.CreateFilesystem(disk.FilesystemSpec{Partition: 2, FSType: filesystem.TypeFat32, VolumeLabel: DataLabel})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if err := diskimage.WriteFiles(p, 2, files); err != nil {
		t.Fatal(err)
	}
	return p
}

// stickFiles reads the files of a directory of the stick's data partition.
func stickFiles(t *testing.T, image, dir string) map[string][]byte {
	t.Helper()
	files, err := diskimage.ReadFiles(image, 2, dir)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// moduleFiles puts a module index into the guest with the modules of names and their
// dependencies, as the image builder does: the agent's coldplug loads them.
func moduleFiles(t *testing.T, names ...string) map[string]string {
	t.Helper()
	_, dir := qemutest.Kernel(t)
	x, err := kmod.Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	mods, err := x.Closure(names...)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(mods, func(a, b kmod.Module) int { return strings.Compare(a.Name, b.Name) })
	files := map[string]string{}
	base := "/lib/modules/" + x.Kernel + "/"
	for _, m := range mods {
		files[base+m.Path] = filepath.Join(dir, filepath.FromSlash(m.Path))
	}
	idx := filepath.Join(t.TempDir(), kmod.IndexFile)
	f, err := os.Create(idx)
	if err != nil {
		t.Fatal(err)
	}
	if err := kmod.WriteIndex(f, &kmod.Index{Kernel: x.Kernel, Modules: mods, Builtin: x.Builtin}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	files[base+kmod.IndexFile] = idx
	return files
}

func randomImage(t *testing.T, name string, size int64) string {
	t.Helper()
	p := qemutest.Image(t, name, size)
	b := make([]byte, size)
	rand.Read(b)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestQEMUAgent runs the agent (not as PID 1: the qemutest init is) in a virtual machine
// with decom's stick on virtio-scsi and three drives of random data on NVMe, AHCI and
// virtio-blk, in auto mode. The agent must load vfat itself from its module index, find
// and mount DECOM-DATA, leave the stick alone, wipe the three with nist-clear, write
// signed certificates, PDFs and its log to the stick and unmount it.
func TestQEMUAgent(t *testing.T) {
	qemutest.Require(t)
	priv, pub, err := certificates.GenerateKey("ecdsa-p256", []byte("agent-test"))
	if err != nil {
		t.Fatal(err)
	}
	stick := makeStick(t, map[string][]byte{
		"config.yaml":    []byte("operator:\n  name: Agent Test\norganization: decom tests\nkey: site.key\nboot:\n  countdown: 0\n"),
		"site.key":       priv,
		"key-passphrase": []byte("agent-test\n"),
	})
	const size = 16 << 20
	disks := []qemutest.Disk{
		{Path: stick, Bus: qemutest.VirtioSCSI, Serial: "DECOMSTICK"},
		{Path: randomImage(t, "nvme.img", size), Bus: qemutest.NVMe, Serial: "AGENTNVME"},
		{Path: randomImage(t, "sata.img", size), Bus: qemutest.AHCI, Serial: "AGENTSATA"},
		{Path: randomImage(t, "virtio.img", size), Bus: qemutest.VirtioBlk, Serial: "AGENTVIRTIO"},
	}
	files := moduleFiles(t, append(slices.Clone(qemutest.DefaultModules), FilesystemModules...)...)
	// The boot image's decom (images.AgentTags).
	files["/decom"] = qemutest.Build(t, "github.com/decom-project/decom/cmd/decom", "-tags", "agentimage")
	res := qemutest.Run(t, qemutest.Config{
		Disks: disks,
		Files: files,
		Command: []string{"/decom", "agent", "--cmdline",
			"console=ttyS0 decom.mode=auto decom.method=nist-clear decom.verify=full decom.poweroff=0"},
	})
	t.Logf("agent output:\n%s\n%s", res.Stdout, res.Stderr)
	if res.ExitCode != 0 {
		t.Errorf("decom agent: exit code %d", res.ExitCode)
	}
	for _, want := range []string{
		"decom: modules: ",
		"decom: data partition: /dev/sd",
		"(GPT partition name DECOM-DATA) mounted on /data",
		"boot medium: holds the DECOM-DATA partition",
		"decom: wiping 3 drives in parallel with nist-clear, verification full:",
		"decom: summary\n",
		"decom: result: 3 sanitized, 0 with exceptions, 0 failed, 1 not wiped\n",
		"decom: data partition unmounted",
	} {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("agent output lacks %q", want)
		}
	}

	certs := stickFiles(t, stick, "/certs")
	keys, err := certificates.LoadPublicKeys(writeTemp(t, "site.pub", pub))
	if err != nil {
		t.Fatal(err)
	}
	var serials []string
	pdfs := 0
	for name, b := range certs {
		switch {
		case strings.HasSuffix(name, ".pdf"):
			pdfs++
		case strings.HasSuffix(name, ".sigstore.json"):
			v, err := certificates.Verify(b, keys)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			serials = append(serials, v.Certificate.Media.Serial)
			if v.Certificate.Outcome != "sanitized" || v.Certificate.PerformedBy.Name != "Agent Test" {
				t.Errorf("%s: outcome %s, operator %q", name, v.Certificate.Outcome, v.Certificate.PerformedBy.Name)
			}
		}
	}
	slices.Sort(serials)
	if want := []string{"AGENTNVME", "AGENTSATA", "AGENTVIRTIO"}; !slices.Equal(serials, want) || pdfs != 3 {
		t.Errorf("certificates for %q and %d PDFs on the stick (%d files), want %q and 3", serials, pdfs, len(certs), want)
	}
	logs := stickFiles(t, stick, "/logs")
	var log []byte
	for name, b := range logs {
		if strings.HasSuffix(name, ".log") {
			log = b
		}
	}
	if !bytes.Contains(log, []byte("decom: summary")) || !bytes.Contains(log, []byte("decom: result: 3 sanitized")) {
		t.Errorf("log on the stick (%d files):\n%s", len(logs), log)
	}
	zero := make([]byte, size)
	for _, d := range disks[1:] {
		b, err := os.ReadFile(d.Path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, zero) {
			t.Errorf("%s (%s) does not read back as zeros", d.Serial, d.Bus)
		}
	}
}

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
