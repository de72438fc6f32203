package wipe

import (
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/decom-project/decom/internal/ata"
	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/internal/nvme"
	"github.com/decom-project/decom/internal/scsi"
	"github.com/decom-project/decom/inventory"
)

// How the gate confirmed, through the descriptor it opened for writing, that the
// target is the one planned (Identity.ConfirmedBy).
const (
	// ConfirmedByNVMe: NVMe Identify Controller and Namespace answered with the
	// planned serial and WWN.
	ConfirmedByNVMe = "nvme-identify"
	// ConfirmedByATA: ATA IDENTIFY DEVICE (through SCSI/ATA translation) answered with
	// the planned serial and WWN.
	ConfirmedByATA = "ata-identify"
	// ConfirmedBySCSI: INQUIRY, Unit Serial Number and Device Identification VPD
	// pages answered with the planned serial and WWN.
	ConfirmedBySCSI = "scsi-vpd"
	// ConfirmedByLoop: LOOP_GET_STATUS64 named the planned backing file (device and
	// inode).
	ConfirmedByLoop = "loop-status"
	// ConfirmedByFstat: the descriptor's device number (or a file's device and inode)
	// and size were all there was to compare: the device answers no identify command.
	ConfirmedByFstat = "fstat"
)

// identifyTimeout bounds each identify command the gate sends.
const identifyTimeout = 10 * time.Second

// answeredIdentity is what a device says about itself when asked through the descriptor
// the gate opened.
type answeredIdentity struct {
	// How names what answered: one of the ConfirmedBy values.
	How string
	// Serials are the serial numbers the device reported (ATA IDENTIFY and the Unit
	// Serial Number page may both answer).
	Serials []string
	// WWNs are the device's names in every spelling the inventory may have recorded
	// one: udev's "0x…" and the kernel's wwid ("eui.…", "uuid.…", "t10.…", "nvme.…").
	WWNs []string
	// Backing is set for a loop device: what it sits on, as the loop driver says.
	Backing *inventory.Backing
}

// identityReader asks an opened device who it is, through that very descriptor. It
// sends only commands that change nothing (ATA IDENTIFY DEVICE, INQUIRY, NVMe
// Identify, LOOP_GET_STATUS64). An error means the device answered none of them: the
// gate then relies on the device number and the size alone.
type identityReader interface {
	readIdentity(d *Handle) (answeredIdentity, error)
}

// identityDiffs compares the plan with what the device said through the opened
// descriptor. It returns what differs, and the names of what could be compared; an
// identifier the device does not report (or not in the form the plan holds) is not
// compared.
func identityDiffs(plan Identity, got answeredIdentity) (diffs, compared []string) {
	if plan.Serial != "" && len(got.Serials) > 0 {
		compared = append(compared, "serial")
		if !slices.ContainsFunc(got.Serials, func(s string) bool { return sameSerial(plan.Serial, s) }) {
			diffs = append(diffs, fmt.Sprintf("serial %q, now %q", plan.Serial, got.Serials[0]))
		}
	}
	if plan.WWN != "" {
		form := wwnForm(plan.WWN)
		var same []string
		for _, w := range got.WWNs {
			if wwnForm(w) == form {
				same = append(same, w)
			}
		}
		if len(same) > 0 {
			compared = append(compared, "WWN")
			if !slices.ContainsFunc(same, func(w string) bool { return normalWWN(w) == normalWWN(plan.WWN) }) {
				diffs = append(diffs, fmt.Sprintf("WWN %q, now %q", plan.WWN, same[0]))
			}
		}
	}
	if got.Backing != nil && plan.Backing != nil {
		compared = append(compared, "backing object")
		if !sameBacking(plan.Backing, got.Backing) {
			diffs = append(diffs, fmt.Sprintf("backing object %s, now %s", describeBacking(plan.Backing), describeBacking(got.Backing)))
		}
	}
	return diffs, compared
}

// sameBacking reports whether two loop devices show the same part of the same object.
func sameBacking(a, b *inventory.Backing) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.DevNo == b.DevNo && a.FSDevNo == b.FSDevNo && a.Inode == b.Inode && a.Offset == b.Offset && a.SizeLimit == b.SizeLimit
}

// describeBacking names a loop device's backing object for a refusal.
func describeBacking(b *inventory.Backing) string {
	var s string
	switch {
	case b == nil:
		return "unknown"
	case b.DevNo != "":
		s = "block device " + b.DevNo
	default:
		s = fmt.Sprintf("file %d on device %s", b.Inode, b.FSDevNo)
	}
	if b.Offset != 0 || b.SizeLimit != 0 {
		s += fmt.Sprintf(" (offset %d, size limit %d)", b.Offset, b.SizeLimit)
	}
	return s
}

// sameSerial compares serial numbers the way they reach the inventory: udev turns
// inner whitespace into underscores, sysfs keeps it.
func sameSerial(a, b string) bool {
	norm := func(s string) string { return strings.Join(strings.Fields(strings.ReplaceAll(s, "_", " ")), "_") }
	return norm(a) == norm(b)
}

// normalWWN spells a WWN one way: lower case, single spaces, NAA names as udev does.
func normalWWN(w string) string {
	w = strings.ToLower(strings.Join(strings.Fields(w), " "))
	if rest, ok := strings.CutPrefix(w, "naa."); ok {
		return "0x" + rest
	}
	return w
}

// wwnForm is the kind of name a WWN is: "0x" (NAA, as udev writes it) or the
// prefix of a kernel wwid ("eui.", "uuid.", "t10.", "nvme.", …).
func wwnForm(w string) string {
	w = normalWWN(w)
	if strings.HasPrefix(w, "0x") {
		return "0x"
	}
	if i := strings.IndexByte(w, '.'); i > 0 {
		return w[:i+1]
	}
	return w
}

// identifySCSI asks a SCSI device (a SATA drive through the kernel's SCSI/ATA
// translation, a SAS or SCSI disk) for its serial and names: ATA IDENTIFY DEVICE when
// it is an ATA drive, and the Unit Serial Number and Device Identification VPD pages,
// which the inventory's sysfs attributes come from.
func identifySCSI(dev devio.SCSI) (answeredIdentity, error) {
	var id answeredIdentity
	buf := make([]byte, 512)
	_, ataErr := ata.Exec(dev, ata.IdentifyDevice(), buf, devio.DirFromDevice, identifyTimeout)
	if ataErr == nil {
		a, err := ata.ParseIdentify(buf)
		if err != nil {
			return answeredIdentity{}, fmt.Errorf("IDENTIFY DEVICE: %w", err)
		}
		id.How = ConfirmedByATA
		id.Serials = appendSome(id.Serials, a.Serial)
		id.WWNs = appendSome(id.WWNs, a.WWN)
	} else {
		// A SCSI device that is no ATA drive refuses the pass-through with a SCSI
		// status; anything else means no SCSI commands reach the device at all.
		var se *scsi.StatusError
		if !errors.As(ataErr, &se) {
			return answeredIdentity{}, ataErr
		}
	}
	vpd := false
	if b, err := inquiryVPD(dev, scsi.PageUnitSerialNumber); err == nil {
		if s, err := scsi.ParseUnitSerialNumber(b); err == nil {
			id.Serials, vpd = appendSome(id.Serials, s), true
		}
	}
	if b, err := inquiryVPD(dev, scsi.PageDeviceIdentification); err == nil {
		if di, err := scsi.ParseDeviceIdentification(b); err == nil {
			id.WWNs, vpd = append(id.WWNs, designatorNames(di)...), true
		}
	}
	if id.How == "" {
		if !vpd {
			return answeredIdentity{}, fmt.Errorf("the device answered neither IDENTIFY DEVICE nor the serial number and identification VPD pages: %w", ataErr)
		}
		id.How = ConfirmedBySCSI
	}
	return id, nil
}

func inquiryVPD(dev devio.SCSI, page byte) ([]byte, error) {
	buf := make([]byte, 1024)
	res, err := dev.Exec(&devio.SCSICommand{CDB: scsi.InquiryVPD(page, uint16(len(buf))), Dir: devio.DirFromDevice,
		Data: buf, Timeout: identifyTimeout})
	if err != nil {
		return nil, err
	}
	if err := scsi.Check(res); err != nil {
		return nil, err
	}
	if res.Resid < 0 || res.Resid > len(buf) {
		return nil, fmt.Errorf("INQUIRY: residual %d of %d bytes", res.Resid, len(buf))
	}
	return buf[:len(buf)-res.Resid], nil
}

// designatorNames spells the logical unit's designators the ways the inventory may
// have recorded them: udev's ID_WWN ("0x" and the NAA name, with and without a NAA 6
// name's extension) and the kernel's wwid ("eui.", "t10.", a SCSI name string).
func designatorNames(di scsi.DeviceIdentification) []string {
	var out []string
	for _, d := range di.Designators {
		if d.Association != scsi.AssocLogicalUnit {
			continue
		}
		h := hex.EncodeToString(d.Value)
		switch {
		case d.Type == scsi.DesignatorNAA && d.CodeSet == scsi.CodeSetBinary && (len(d.Value) == 8 || len(d.Value) == 16):
			out = append(out, "0x"+h)
			if len(d.Value) == 16 {
				out = append(out, "0x"+h[:16])
			}
		case d.Type == scsi.DesignatorEUI64 && d.CodeSet == scsi.CodeSetBinary && len(d.Value) > 0:
			out = append(out, "eui."+h, "0x"+h)
		case d.Type == scsi.DesignatorT10VendorID && len(d.Value) > 0:
			out = append(out, "t10."+strings.TrimRight(string(d.Value), " \x00"))
		case d.Type == designatorSCSIName && len(d.Value) > 0:
			out = appendSome(out, strings.TrimRight(string(d.Value), "\x00"))
		}
	}
	return out
}

// designatorSCSIName is the SCSI name string designator type (SPC-4 §7.8.6.11).
const designatorSCSIName = 0x8

// cnsNamespaceIDs is Identify CNS 03h: the Namespace Identification Descriptor list.
const cnsNamespaceIDs nvme.CNS = 0x03

// identifyNVMe asks an NVMe namespace's controller for its serial (Identify
// Controller) and the namespace for its names (Identify Namespace, and the Namespace
// Identification Descriptor list), spelt as the kernel's wwid attribute spells them.
func identifyNVMe(dev devio.NVMe, nsid uint32) (answeredIdentity, error) {
	cmd := nvme.Identify(nvme.CNSController, 0)
	if _, err := nvme.Exec(dev, cmd); err != nil {
		return answeredIdentity{}, err
	}
	ctrl, err := nvme.ParseController(cmd.Data)
	if err != nil {
		return answeredIdentity{}, err
	}
	id := answeredIdentity{How: ConfirmedByNVMe}
	id.Serials = appendSome(id.Serials, ctrl.Serial)
	// The kernel's fallback wwid, for a namespace without identifiers: vendor, serial
	// and model (as hex, trailing padding cut) and the namespace ID.
	padding := func(b []byte) []byte { return []byte(strings.TrimRight(string(b), " \x00")) }
	id.WWNs = append(id.WWNs, fmt.Sprintf("nvme.%04x-%x-%x-%08x", ctrl.VendorID, padding(cmd.Data[4:24]), padding(cmd.Data[24:64]), nsid))
	if ns, err := nvme.IdentifyNamespace(dev, nsid); err == nil {
		for _, v := range []string{ns.NGUID, ns.EUI64} {
			if v != "" {
				id.WWNs = append(id.WWNs, "eui."+v)
			}
		}
	}
	desc := nvme.Identify(cnsNamespaceIDs, nsid)
	if _, err := nvme.Exec(dev, desc); err == nil {
		id.WWNs = append(id.WWNs, namespaceIDNames(parseNamespaceIDs(desc.Data))...)
	}
	return id, nil
}

// namespaceID is one Namespace Identification Descriptor (NVMe Base 2.0 §5.17.2.3).
type namespaceID struct {
	Type  byte // NIDT: 1 IEEE EUI-64, 2 NGUID, 3 UUID, 4 command set identifier
	Value []byte
}

// parseNamespaceIDs decodes a Namespace Identification Descriptor list: each
// descriptor is a type (NIDT), a length (NIDL), two reserved bytes and the value; a
// type of zero ends the list. A descriptor that does not fit ends it too.
func parseNamespaceIDs(b []byte) []namespaceID {
	var out []namespaceID
	for len(b) >= 4 && b[0] != 0 {
		n := int(b[1])
		if 4+n > len(b) {
			break
		}
		out = append(out, namespaceID{Type: b[0], Value: slices.Clone(b[4 : 4+n])})
		b = b[4+n:]
	}
	return out
}

// namespaceIDNames spells the namespace's identifiers as the kernel's wwid does.
func namespaceIDNames(ids []namespaceID) []string {
	var out []string
	for _, d := range ids {
		if allZeros(d.Value) {
			continue
		}
		switch {
		case d.Type == 1 && len(d.Value) == 8, d.Type == 2 && len(d.Value) == 16:
			out = append(out, "eui."+hex.EncodeToString(d.Value))
		case d.Type == 3 && len(d.Value) == 16:
			h := hex.EncodeToString(d.Value)
			out = append(out, "uuid."+h[0:8]+"-"+h[8:12]+"-"+h[12:16]+"-"+h[16:20]+"-"+h[20:32])
		}
	}
	return out
}

func allZeros(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func appendSome(list []string, s string) []string {
	if s = strings.TrimSpace(s); s != "" {
		return append(list, s)
	}
	return list
}
