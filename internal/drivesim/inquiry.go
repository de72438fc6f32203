package drivesim

import (
	"encoding/binary"
	"slices"

	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/internal/scsi"
)

// standardInquiry is standard INQUIRY data (SPC-4 §6.6.2) of a direct-access block device.
func standardInquiry(vendor, product, revision string) []byte {
	b := make([]byte, 36)
	b[0] = 0x00 // peripheral qualifier 0, direct access block device
	b[2] = 0x06 // SPC-4
	b[3] = 0x02 // response data format 2
	b[4] = byte(len(b) - 5)
	copy(b[8:16], space(vendor, 8))
	copy(b[16:32], space(product, 16))
	copy(b[32:36], space(revision, 4))
	return b
}

// vpdPage frames a VPD page: page code, length, payload.
func vpdPage(code byte, payload []byte) []byte {
	b := make([]byte, 4, 4+len(payload))
	b[1] = code
	binary.BigEndian.PutUint16(b[2:4], uint16(len(payload)))
	return append(b, payload...)
}

// serialPage is the Unit Serial Number page (80h).
func serialPage(serial string) []byte { return vpdPage(scsi.PageUnitSerialNumber, []byte(serial)) }

// characteristicsPage is the Block Device Characteristics page (B1h) with a rotation rate.
func characteristicsPage(rate uint16) []byte {
	p := make([]byte, 60)
	binary.BigEndian.PutUint16(p[0:2], rate)
	return vpdPage(scsi.PageBlockCharacteristics, p)
}

// inquiry answers an INQUIRY CDB with std or one of pages; the Supported VPD Pages page
// is made from the pages given.
func inquiry(cmd *devio.SCSICommand, std []byte, pages map[byte][]byte, f SenseFormat) devio.SCSIResult {
	cdb := cmd.CDB
	if len(cdb) < 6 || cmd.Dir != devio.DirFromDevice {
		return checkCondition(senseInvalidField, f)
	}
	alloc := int(binary.BigEndian.Uint16(cdb[3:5]))
	var b []byte
	switch {
	case cdb[1]&0x01 == 0 && cdb[2] == 0:
		b = std
	case cdb[1]&0x01 == 0:
		return checkCondition(senseInvalidField, f)
	case cdb[2] == scsi.PageSupportedVPD:
		codes := []byte{scsi.PageSupportedVPD}
		for c := range pages {
			codes = append(codes, c)
		}
		slices.Sort(codes)
		b = vpdPage(scsi.PageSupportedVPD, codes)
	default:
		p, ok := pages[cdb[2]]
		if !ok {
			return checkCondition(senseInvalidField, f)
		}
		b = p
	}
	return copyData(cmd, b[:min(len(b), alloc)])
}
