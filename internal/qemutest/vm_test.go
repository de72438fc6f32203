package qemutest

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// report is one line of ./probe's output.
type report struct {
	Dev         string `json:"dev"`
	Transport   string `json:"transport"`
	Kind        string `json:"kind"`
	Vendor      string `json:"vendor"`
	Model       string `json:"model"`
	Serial      string `json:"serial"`
	Status      uint16 `json:"status"`
	SenseKey    byte   `json:"sense_key"`
	Unsupported bool   `json:"unsupported"`
	Error       string `json:"error"`
}

// serial is a drive serial number no emulator would invent: prefix and 8 random hex digits.
func serial(t *testing.T, prefix string) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + strings.ToUpper(hex.EncodeToString(b))
}

func probeReports(t *testing.T, res Result) []report {
	t.Helper()
	if res.ExitCode != 0 {
		t.Fatalf("probe exited %d; stderr:\n%s", res.ExitCode, res.Stderr)
	}
	var out []report
	sc := bufio.NewScanner(strings.NewReader(res.Stdout))
	for sc.Scan() {
		var r report
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("probe printed %q: %v", sc.Text(), err)
		}
		t.Logf("guest: %s", sc.Text())
		out = append(out, r)
	}
	return out
}

// find returns the one report of kind on a device with transport tr (any transport for "").
func find(t *testing.T, reps []report, dev, tr, kind string) report {
	t.Helper()
	var found []report
	for _, r := range reps {
		if r.Kind == kind && (dev == "" || r.Dev == dev) && (tr == "" || r.Transport == tr) {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s report for %q on %q, got %+v", kind, dev, tr, found)
	}
	return found[0]
}

// TestTransports boots one NVMe, one AHCI and one virtio-scsi disk and checks what devio's
// SG_IO and NVMe passthrough carry back from each: the serials are the ones set here, so the
// answers can only have come from the emulated drives.
func TestTransports(t *testing.T) {
	nvmeSerial, ahciSerial, scsiSerial := serial(t, "NV"), serial(t, "AH"), serial(t, "SC")
	res := Run(t, Config{
		Disks: []Disk{
			{Path: Image(t, "nvme.img", 64<<20), Bus: NVMe, Serial: nvmeSerial},
			{Path: Image(t, "ahci.img", 64<<20), Bus: AHCI, Serial: ahciSerial},
			{Path: Image(t, "scsi.img", 64<<20), Bus: VirtioSCSI, Serial: scsiSerial},
		},
		Programs: map[string]string{"/probe": "./probe"},
		Command:  []string{"/probe"},
	})
	reps := probeReports(t, res)

	for _, dev := range []string{"/dev/nvme0", "/dev/nvme0n1"} {
		r := find(t, reps, dev, "", "nvme-identify")
		if r.Error != "" || r.Model != "QEMU NVMe Ctrl" || r.Serial != nvmeSerial {
			t.Errorf("NVMe Identify Controller on %s = %+v, want model %q, serial %q", dev, r, "QEMU NVMe Ctrl", nvmeSerial)
		}
	}

	ata := find(t, reps, "", "ata", "ata-identify")
	if ata.Error != "" || ata.Model != "QEMU HARDDISK" || ata.Serial != ahciSerial {
		t.Errorf("ATA IDENTIFY on the AHCI disk = %+v, want model %q, serial %q", ata, "QEMU HARDDISK", ahciSerial)
	}
	if inq := find(t, reps, ata.Dev, "", "scsi-inquiry"); inq.Vendor != "ATA" || inq.Serial != ahciSerial {
		t.Errorf("INQUIRY on the AHCI disk (libata's SCSI translation) = %+v, want vendor ATA, serial %q", inq, ahciSerial)
	}

	inq := find(t, reps, "", "virtio", "scsi-inquiry")
	if inq.Error != "" || inq.Vendor != "QEMU" || inq.Model != "QEMU HARDDISK" || inq.Serial != scsiSerial {
		t.Errorf("INQUIRY + VPD 0x80 on the virtio-scsi disk = %+v, want QEMU, QEMU HARDDISK, serial %q", inq, scsiSerial)
	}
	// A SCSI disk does not know ATA PASS-THROUGH: CHECK CONDITION, ILLEGAL REQUEST, returned
	// as an answer rather than an error.
	if r := find(t, reps, inq.Dev, "", "ata-identify"); r.Error != "" || r.Status != 0x02 || r.SenseKey != 0x05 {
		t.Errorf("ATA PASS-THROUGH on the virtio-scsi disk = %+v, want CHECK CONDITION, ILLEGAL REQUEST", r)
	}

	// QEMU's NVMe controller has no Sanitize: Invalid Command Opcode, a status, not a failure
	// of the transport.
	san := find(t, reps, "/dev/nvme0", "", "nvme-sanitize")
	t.Logf("NVMe Sanitize on QEMU: status %#04x (%s)", san.Status, san.Error)
	if san.Status == 0 || san.Unsupported {
		t.Errorf("NVMe Sanitize = %+v, want an NVMe status", san)
	}
}

// TestMoreBuses boots the buses TestTransports leaves out: a disk on the PIIX IDE controller
// answers ATA IDENTIFY through libata like an AHCI one, and virtio-blk, which carries no SCSI,
// makes both transports say ErrUnsupported.
func TestMoreBuses(t *testing.T) {
	ideSerial, vdSerial := serial(t, "ID"), serial(t, "VD")
	res := Run(t, Config{
		Disks: []Disk{
			{Path: Image(t, "ide.img", 16<<20), Bus: IDE, Serial: ideSerial},
			{Path: Image(t, "vd.img", 16<<20), Bus: VirtioBlk, Serial: vdSerial},
		},
		Programs: map[string]string{"/probe": "./probe"},
		Command:  []string{"/probe"},
	})
	reps := probeReports(t, res)

	if r := find(t, reps, "", "ata", "ata-identify"); r.Error != "" || r.Model != "QEMU HARDDISK" || r.Serial != ideSerial {
		t.Errorf("ATA IDENTIFY on the IDE disk = %+v, want model %q, serial %q", r, "QEMU HARDDISK", ideSerial)
	}
	for _, kind := range []string{"sg-io", "nvme-identify"} {
		if r := find(t, reps, "/dev/vda", "", kind); !r.Unsupported {
			t.Errorf("%s on virtio-blk = %+v, want ErrUnsupported", kind, r)
		}
	}
}

// fatalTB stands in for a test whose Run fails: Fatal records the message and ends the
// goroutine, as testing's does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (f *fatalTB) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	runtime.Goexit()
}

// TestTimeout: a guest that does not finish in time fails the test, and QEMU is gone when Run
// returns.
func TestTimeout(t *testing.T) {
	Require(t)
	Kernel(t)
	ftb := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(ftb, Config{
			Programs: map[string]string{"/probe": "./probe"},
			Command:  []string{"/probe"},
			Timeout:  2 * time.Second, // not even the kernel boots in that
		})
	}()
	<-done
	if !strings.Contains(ftb.msg, "no end after 2s") {
		t.Errorf("Run with a 2s timeout failed with %q, want a timeout", ftb.msg)
	}
}
