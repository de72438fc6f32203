//go:build linux

// Command probe runs inside a qemutest virtual machine and reports what decom's Linux
// transports (internal/devio) read from the emulated disks, one JSON object per line:
//
//   - NVMe Identify Controller on every controller (/dev/nvmeN) and namespace (/dev/nvmeNn1)
//   - NVMe Sanitize (action Exit Failure Mode, the one that changes no data) on every controller
//   - SCSI INQUIRY, its Unit Serial Number page (VPD 0x80), and ATA IDENTIFY DEVICE through
//     ATA PASS-THROUGH(16) on every /dev/sdX
//   - SG_IO and NVMe Identify on every /dev/vdX, both of which virtio-blk refuses
//
// The CDBs are spelled out byte by byte on purpose: the real builders and parsers live in
// internal/ata, internal/scsi and internal/nvme, and this probe tests the transport only.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/decom-project/decom/internal/devio"
)

// Report is one line of the probe's output.
type Report struct {
	Dev         string `json:"dev"`
	Transport   string `json:"transport,omitempty"` // from sysfs: nvme, ata, virtio, …
	Kind        string `json:"kind"`                // nvme-identify, nvme-sanitize, scsi-inquiry, ata-identify, sg-io
	Vendor      string `json:"vendor,omitempty"`
	Model       string `json:"model,omitempty"`
	Serial      string `json:"serial,omitempty"`
	Status      uint16 `json:"status,omitempty"` // NVMe status field, or SCSI status byte
	SenseKey    byte   `json:"sense_key,omitempty"`
	Unsupported bool   `json:"unsupported,omitempty"`
	Error       string `json:"error,omitempty"`
}

func main() {
	if err := run(os.Stdout, "/"); err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, root string) error {
	enc := json.NewEncoder(w)
	emit := func(r Report) error { return enc.Encode(r) }

	ctrls, _ := filepath.Glob(filepath.Join(root, "sys/class/nvme/nvme*"))
	blocks, _ := filepath.Glob(filepath.Join(root, "sys/block/*"))
	sort.Strings(ctrls)
	sort.Strings(blocks)
	for _, c := range ctrls {
		dev := "/dev/" + filepath.Base(c)
		if err := emit(nvmeIdentify(dev, "nvme")); err != nil {
			return err
		}
	}
	for _, b := range blocks {
		name := filepath.Base(b)
		dev := "/dev/" + name
		tr := transport(b)
		var reports []Report
		switch {
		case strings.HasPrefix(name, "nvme"):
			reports = []Report{nvmeIdentify(dev, tr)}
		case strings.HasPrefix(name, "sd"):
			reports = scsiProbe(dev, tr)
		case strings.HasPrefix(name, "vd"):
			reports = []Report{sgRefused(dev, tr), nvmeIdentify(dev, tr)}
		}
		for _, r := range reports {
			if err := emit(r); err != nil {
				return err
			}
		}
	}
	for _, c := range ctrls {
		if err := emit(nvmeSanitize("/dev/"+filepath.Base(c), "nvme")); err != nil {
			return err
		}
	}
	return nil
}

// transport names the bus a block device sits on, from its sysfs path.
func transport(sysBlock string) string {
	target, err := filepath.EvalSymlinks(sysBlock)
	if err != nil {
		return ""
	}
	for _, t := range []string{"nvme", "ata", "virtio"} {
		if strings.Contains(target, "/"+t) {
			return t
		}
	}
	return ""
}

func nvmeIdentify(dev, tr string) Report {
	r := Report{Dev: dev, Transport: tr, Kind: "nvme-identify"}
	d, err := devio.OpenNVMe(dev)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer d.Close()
	buf := make([]byte, 4096)
	_, err = d.Admin(&devio.NVMeAdminCommand{Opcode: 0x06, CDW10: 1, Dir: devio.DirFromDevice, Data: buf})
	if err != nil {
		return withErr(r, err)
	}
	r.Serial = strings.TrimSpace(string(buf[4:24]))
	r.Model = strings.TrimSpace(string(buf[24:64]))
	return r
}

func nvmeSanitize(dev, tr string) Report {
	r := Report{Dev: dev, Transport: tr, Kind: "nvme-sanitize"}
	d, err := devio.OpenNVMe(dev)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer d.Close()
	// SANACT 001b, Exit Failure Mode: leaves the data alone even where Sanitize is supported.
	_, err = d.Admin(&devio.NVMeAdminCommand{Opcode: 0x84, CDW10: 0x1, Dir: devio.DirNone, Timeout: 10 * time.Second})
	return withErr(r, err)
}

func scsiProbe(dev, tr string) []Report {
	d, err := devio.OpenSCSI(dev)
	if err != nil {
		return []Report{withErr(Report{Dev: dev, Transport: tr, Kind: "scsi-inquiry"}, err)}
	}
	defer d.Close()

	inq := Report{Dev: dev, Transport: tr, Kind: "scsi-inquiry"}
	std := make([]byte, 96)
	res, err := d.Exec(&devio.SCSICommand{CDB: []byte{0x12, 0, 0, 0, 96, 0}, Dir: devio.DirFromDevice, Data: std})
	switch {
	case err != nil:
		inq = withErr(inq, err)
	case res.Status != devio.StatusGood:
		inq.Status, inq.SenseKey = uint16(res.Status), senseKey(res.Sense)
	default:
		inq.Vendor = strings.TrimSpace(string(std[8:16]))
		inq.Model = strings.TrimSpace(string(std[16:32]))
		vpd := make([]byte, 252)
		res, err = d.Exec(&devio.SCSICommand{CDB: []byte{0x12, 0x01, 0x80, 0, 252, 0}, Dir: devio.DirFromDevice, Data: vpd})
		switch {
		case err != nil:
			inq = withErr(inq, err)
		case res.Status != devio.StatusGood:
			inq.Status, inq.SenseKey = uint16(res.Status), senseKey(res.Sense)
		case vpd[1] != 0x80:
			inq.Error = fmt.Sprintf("VPD page %#x instead of 0x80", vpd[1])
		default:
			n := min(int(vpd[2])<<8|int(vpd[3]), len(vpd)-4)
			inq.Serial = strings.TrimSpace(strings.TrimRight(string(vpd[4:4+n]), "\x00"))
		}
	}

	ata := Report{Dev: dev, Transport: tr, Kind: "ata-identify"}
	id := make([]byte, 512)
	cdb := []byte{
		0x85,   // ATA PASS-THROUGH(16)
		4 << 1, // protocol: PIO data-in
		0x0e,   // T_DIR (from device), BYT_BLOK (blocks), T_LENGTH in the COUNT field
		0, 0,   // features
		0, 1, // count: one block
		0, 0, 0, 0, 0, 0, // LBA
		0,    // device
		0xec, // IDENTIFY DEVICE
		0,    // control
	}
	res, err = d.Exec(&devio.SCSICommand{CDB: cdb, Dir: devio.DirFromDevice, Data: id})
	switch {
	case err != nil:
		ata = withErr(ata, err)
	case res.Status != devio.StatusGood:
		ata.Status, ata.SenseKey = uint16(res.Status), senseKey(res.Sense)
	default:
		ata.Serial = ataString(id[20:40]) // words 10-19
		ata.Model = ataString(id[54:94])  // words 27-46
	}
	return []Report{inq, ata}
}

func sgRefused(dev, tr string) Report {
	r := Report{Dev: dev, Transport: tr, Kind: "sg-io"}
	d, err := devio.OpenSCSI(dev)
	if err != nil {
		return withErr(r, err)
	}
	d.Close()
	r.Error = "SG_IO accepted"
	return r
}

// ataString decodes an ATA IDENTIFY string: each 16-bit word holds two characters, the first in
// its high byte.
func ataString(b []byte) string {
	s := make([]byte, len(b))
	for i := 0; i+1 < len(b); i += 2 {
		s[i], s[i+1] = b[i+1], b[i]
	}
	return strings.TrimSpace(string(s))
}

// senseKey reads the sense key from fixed (0x70/0x71) or descriptor (0x72/0x73) sense data.
func senseKey(sense []byte) byte {
	if len(sense) < 3 {
		return 0
	}
	switch sense[0] & 0x7f {
	case 0x70, 0x71:
		return sense[2] & 0x0f
	case 0x72, 0x73:
		return sense[1] & 0x0f
	}
	return 0
}

func withErr(r Report, err error) Report {
	if err == nil {
		return r
	}
	var st *devio.NVMeStatusError
	if errors.As(err, &st) {
		r.Status = st.Status
	}
	r.Unsupported = errors.Is(err, devio.ErrUnsupported)
	r.Error = err.Error()
	return r
}
