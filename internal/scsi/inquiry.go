package scsi

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
)

// InquiryData is the standard INQUIRY data (SPC-4).
type InquiryData struct {
	// PeripheralQualifier (byte 0 bits 7:5) is 0 when a device is connected to the logical
	// unit, 1 when one could be, 3 when the logical unit is not supported.
	PeripheralQualifier byte
	// DeviceType (byte 0 bits 4:0): 00h direct access block device (disks, SSDs), 05h CD/DVD,
	// 0Eh simplified direct access, 1Fh unknown.
	DeviceType byte
	// Removable is the RMB bit (byte 1 bit 7).
	Removable bool
	// Version (byte 2) is the claimed standard: 05h SPC-3, 06h SPC-4, 07h SPC-5.
	Version byte
	// Vendor (bytes 8-15), Product (16-31) and Revision (32-35) are ASCII, with the space
	// padding removed. Behind a SAT layer such as Linux libata, Vendor is "ATA".
	Vendor, Product, Revision string
}

// ParseInquiry decodes standard INQUIRY data. It needs the first 36 bytes, which every
// device returns when asked for at least that many.
func ParseInquiry(b []byte) (InquiryData, error) {
	if len(b) < 36 {
		return InquiryData{}, fmt.Errorf("scsi: inquiry data too short: %d bytes, need 36", len(b))
	}
	if n := 5 + int(b[4]); n < 36 {
		return InquiryData{}, fmt.Errorf("scsi: inquiry data claims %d bytes, need 36", n)
	}
	return InquiryData{
		PeripheralQualifier: b[0] >> 5,
		DeviceType:          b[0] & 0x1f,
		Removable:           b[1]&0x80 != 0,
		Version:             b[2],
		Vendor:              trimASCII(b[8:16]),
		Product:             trimASCII(b[16:32]),
		Revision:            trimASCII(b[32:36]),
	}, nil
}

// trimASCII strips the space and NUL padding devices put around ASCII fields.
func trimASCII(b []byte) string {
	return strings.Trim(string(b), " \x00")
}

// vpdPayload checks the header of a VPD page (byte 1 page code, bytes 2-3 PAGE LENGTH) and
// returns the bytes after it. A page shorter than its header claims is an error: the
// allocation length was too small and the caller should ask again with a bigger one.
func vpdPayload(b []byte, page byte) ([]byte, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("scsi: vpd page %#02x: %d bytes, too short for the header", page, len(b))
	}
	if b[1] != page {
		return nil, fmt.Errorf("scsi: vpd page %#02x: got page %#02x instead", page, b[1])
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if len(b) < 4+n {
		return nil, fmt.Errorf("scsi: vpd page %#02x truncated: %d of %d bytes", page, len(b), 4+n)
	}
	return b[4 : 4+n], nil
}

// ParseSupportedPages decodes the Supported VPD Pages page (00h, SPC-4 §7.8): the list of
// page codes the device implements.
func ParseSupportedPages(b []byte) ([]byte, error) {
	p, err := vpdPayload(b, PageSupportedVPD)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), p...), nil
}

// ParseUnitSerialNumber decodes the Unit Serial Number page (80h, SPC-4 §7.8): an ASCII
// serial number, returned without its space padding.
func ParseUnitSerialNumber(b []byte) (string, error) {
	p, err := vpdPayload(b, PageUnitSerialNumber)
	if err != nil {
		return "", err
	}
	return trimASCII(p), nil
}

// Designator types, code sets and associations of the Device Identification page (SPC-4
// §7.8.6).
const (
	DesignatorVendorSpecific = 0x0
	DesignatorT10VendorID    = 0x1
	DesignatorEUI64          = 0x2
	DesignatorNAA            = 0x3
	DesignatorRelativePort   = 0x4

	CodeSetBinary = 0x1
	CodeSetASCII  = 0x2
	CodeSetUTF8   = 0x3

	AssocLogicalUnit  = 0x0
	AssocTargetPort   = 0x1
	AssocTargetDevice = 0x2
)

// Designator is one designation descriptor of the Device Identification page.
type Designator struct {
	ProtocolID  byte // byte 0 bits 7:4, meaningful when PIV is set
	CodeSet     byte // byte 0 bits 3:0
	PIV         bool // byte 1 bit 7
	Association byte // byte 1 bits 5:4: what is designated (logical unit, port, device)
	Type        byte // byte 1 bits 3:0
	Value       []byte
}

// DeviceIdentification is the Device Identification VPD page (83h).
type DeviceIdentification struct {
	Designators []Designator
}

// ParseDeviceIdentification decodes the Device Identification page (83h, SPC-4 §7.8.6): a list
// of designation descriptors, each a 4-byte header (byte 3 DESIGNATOR LENGTH) and the
// designator.
func ParseDeviceIdentification(b []byte) (DeviceIdentification, error) {
	p, err := vpdPayload(b, PageDeviceIdentification)
	if err != nil {
		return DeviceIdentification{}, err
	}
	var id DeviceIdentification
	for len(p) > 0 {
		if len(p) < 4 {
			return DeviceIdentification{}, fmt.Errorf("scsi: device identification page: %d stray bytes at the end", len(p))
		}
		n := 4 + int(p[3])
		if n > len(p) {
			return DeviceIdentification{}, fmt.Errorf("scsi: device identification page: designator of %d bytes overruns the page", n)
		}
		id.Designators = append(id.Designators, Designator{
			ProtocolID:  p[0] >> 4,
			CodeSet:     p[0] & 0x0f,
			PIV:         p[1]&0x80 != 0,
			Association: (p[1] >> 4) & 0x3,
			Type:        p[1] & 0x0f,
			Value:       append([]byte(nil), p[4:n]...),
		})
		p = p[n:]
	}
	return id, nil
}

// WWN returns the world wide name of the logical unit as lower-case hex with a 0x prefix
// ("0x5000c500a1b2c3d4"): the first NAA designator associated with the logical unit, or
// failing that its first EUI-64 designator. It returns "" when there is neither. Designators of
// target ports (a SAS drive reports one per port) are not the drive's name and are ignored.
func (id DeviceIdentification) WWN() string {
	for _, want := range []byte{DesignatorNAA, DesignatorEUI64} {
		for _, d := range id.Designators {
			if d.Association != AssocLogicalUnit || d.Type != want || d.CodeSet != CodeSetBinary {
				continue
			}
			if !validNameLength(d) {
				continue
			}
			return "0x" + hex.EncodeToString(d.Value)
		}
	}
	return ""
}

// validNameLength checks the designator lengths SPC-4 allows: NAA 8 bytes (NAA 2, 3, 5) or 16
// (NAA 6); EUI-64 8, 12 or 16 bytes.
func validNameLength(d Designator) bool {
	switch d.Type {
	case DesignatorNAA:
		if len(d.Value) == 0 {
			return false
		}
		switch d.Value[0] >> 4 {
		case 2, 3, 5:
			return len(d.Value) == 8
		case 6:
			return len(d.Value) == 16
		}
		return false
	case DesignatorEUI64:
		return len(d.Value) == 8 || len(d.Value) == 12 || len(d.Value) == 16
	}
	return false
}

// T10VendorID returns the first T10 vendor ID designator of the logical unit: an 8-byte vendor
// name followed by vendor-specific text (Linux libata puts "ATA", the model and the serial
// number there). Trailing padding is removed; "" means there is none.
func (id DeviceIdentification) T10VendorID() string {
	for _, d := range id.Designators {
		if d.Association == AssocLogicalUnit && d.Type == DesignatorT10VendorID {
			return strings.TrimRight(string(d.Value), " \x00")
		}
	}
	return ""
}

// BlockCharacteristics is the Block Device Characteristics VPD page (B1h, SBC-4).
type BlockCharacteristics struct {
	// RotationRate is MEDIUM ROTATION RATE (bytes 4-5): 0 not reported, 1 non-rotating medium
	// (solid state), 0401h-FFFEh the nominal speed in revolutions per minute.
	RotationRate uint16
	// FormFactor is NOMINAL FORM FACTOR (byte 7 bits 3:0): 0 not reported, 1 5.25", 2 3.5",
	// 3 2.5", 4 1.8", 5 less than 1.8".
	FormFactor byte
}

// NonRotating reports a solid-state medium.
func (c BlockCharacteristics) NonRotating() bool { return c.RotationRate == 1 }

// ParseBlockCharacteristics decodes the Block Device Characteristics page.
func ParseBlockCharacteristics(b []byte) (BlockCharacteristics, error) {
	p, err := vpdPayload(b, PageBlockCharacteristics)
	if err != nil {
		return BlockCharacteristics{}, err
	}
	if len(p) < 4 {
		return BlockCharacteristics{}, fmt.Errorf("scsi: block device characteristics page: %d bytes of data, need 4", len(p))
	}
	return BlockCharacteristics{
		RotationRate: binary.BigEndian.Uint16(p[0:2]),
		FormFactor:   p[3] & 0x0f,
	}, nil
}

// ATAInformation is the ATA Information VPD page (89h, SAT-3) that a SCSI-ATA
// translation layer (SATL) reports for the ATA device behind it.
type ATAInformation struct {
	// SATVendor (bytes 8-15), SATProduct (16-31) and SATRevision (32-35) name the
	// translation layer, e.g. "linux", "libata".
	SATVendor, SATProduct, SATRevision string
	// CommandCode (byte 56) is the command whose data follows: ECh IDENTIFY DEVICE or A1h
	// IDENTIFY PACKET DEVICE.
	CommandCode byte
	// Identify is the 512 bytes of IDENTIFY (PACKET) DEVICE data at bytes 60-571, as the device
	// sent them (little-endian words); ata.ParseIdentify decodes them.
	Identify []byte
}

// ParseATAInformation decodes the ATA Information page. It needs the whole page: 572 bytes.
func ParseATAInformation(b []byte) (ATAInformation, error) {
	p, err := vpdPayload(b, PageATAInformation)
	if err != nil {
		return ATAInformation{}, err
	}
	// Offsets below are relative to the page start; p starts at byte 4.
	if len(p) < 572-4 {
		return ATAInformation{}, fmt.Errorf("scsi: ata information page: %d bytes, need 572", 4+len(p))
	}
	return ATAInformation{
		SATVendor:   trimASCII(b[8:16]),
		SATProduct:  trimASCII(b[16:32]),
		SATRevision: trimASCII(b[32:36]),
		CommandCode: b[56],
		Identify:    append([]byte(nil), b[60:572]...),
	}, nil
}
