package ata

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/decom-project/decom/internal/devio"
)

func seedFixtures(f *testing.F) {
	names, err := filepath.Glob(filepath.Join("testdata", "*.hex"))
	if err != nil || len(names) == 0 {
		f.Fatalf("no fixtures: %v", err)
	}
	for _, n := range names {
		f.Add(fixture(f, filepath.Base(n)))
	}
}

func FuzzParseIdentify(f *testing.F) {
	seedFixtures(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := ParseIdentify(b)
		if err != nil {
			return
		}
		if len(b) != 512 {
			t.Fatalf("accepted %d bytes", len(b))
		}
		if len(id.Model) > 40 || len(id.Serial) > 20 || len(id.Firmware) > 8 {
			t.Fatalf("strings longer than their fields: %q %q %q", id.Model, id.Serial, id.Firmware)
		}
		if id.Sectors >= 1<<48 || id.LogicalSectorSize < 512 || id.PhysicalSectorSize < id.LogicalSectorSize {
			t.Fatalf("impossible geometry: %d sectors of %d/%d bytes", id.Sectors, id.LogicalSectorSize, id.PhysicalSectorSize)
		}
		if id.WWN != "" && len(id.WWN) != 18 {
			t.Fatalf("WWN %q", id.WWN)
		}
		if !id.Sanitize.Supported && id.Sanitize != (Sanitize{}) {
			t.Fatalf("sanitize commands without the feature set: %+v", id.Sanitize)
		}
		for _, e := range []EraseTime{id.Security.EraseTime, id.Security.EnhancedEraseTime} {
			if e.Duration < 0 || e.Duration > 65532*60e9 || (e.Longer && e.Duration == 0) {
				t.Fatalf("erase time %+v", e)
			}
		}
	})
}

func FuzzParseDCOIdentify(f *testing.F) {
	seedFixtures(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDCOIdentify(b)
		if err != nil {
			return
		}
		if len(b) != 512 || d.MaxLBA >= 1<<48 || d.MultiwordDMA > 7 || d.UltraDMA > 0x7f {
			t.Fatalf("accepted %d bytes as %+v", len(b), d)
		}
	})
}

// FuzzExecSense feeds Exec arbitrary sense data and SCSI status, for a command that wants its
// registers back, and checks that the outcome is consistent.
func FuzzExecSense(f *testing.F) {
	for _, s := range []string{senseDescNativeMax, senseFixedNativeMax, senseFixedCheckPower, senseDescAbort,
		senseFixedAbort, senseDescInvalidOpcode, senseFixedInvalidField, senseUnitAttention} {
		f.Add(byte(devio.StatusCheckCondition), unhex(f, s))
	}
	f.Add(byte(devio.StatusGood), []byte(nil))
	f.Fuzz(func(t *testing.T, status byte, sense []byte) {
		dev := &fakeSCSI{res: devio.SCSIResult{Status: status, Sense: sense}}
		regs, err := Exec(dev, ReadNativeMaxAddressExt(), nil, devio.DirNone, 0)
		var ce *CommandError
		switch {
		case err == nil:
			if status != devio.StatusGood && status != devio.StatusCheckCondition {
				t.Fatalf("status %#x accepted", status)
			}
			if regs.Status&(statusERR|statusDF) != 0 {
				t.Fatalf("success with status register %#x", regs.Status)
			}
		case errors.As(err, &ce):
			if ce.Registers.Status&(statusERR|statusDF) == 0 {
				t.Fatalf("command error without ERR or DF: %+v", ce.Registers)
			}
			if errors.Is(err, devio.ErrUnsupported) {
				t.Fatal("command error matches ErrUnsupported")
			}
		default:
			if regs != (Registers{}) {
				t.Fatalf("registers %+v returned with %v", regs, err)
			}
		}
		_, _ = MaxAddress(regs)
		_, _ = ParseSanitizeStatus(regs)
	})
}

// FuzzCDB checks that every Command the CDB builder accepts round-trips through the 16 bytes.
func FuzzCDB(f *testing.F) {
	f.Add(uint8(0xEC), uint16(0), uint16(1), uint64(0), uint8(0), uint8(PIODataIn), false, false, uint8(devio.DirFromDevice))
	f.Add(uint8(0xB4), uint16(0x14), uint16(0x83), uint64(0x4F57_11223344), uint8(0x40), uint8(NonData), true, false, uint8(devio.DirNone))
	f.Add(uint8(0xC8), uint16(0), uint16(1), uint64(0x0ABCDEF1), uint8(0x40), uint8(DMA), false, true, uint8(devio.DirFromDevice))
	f.Fuzz(func(t *testing.T, cmd uint8, features, count uint16, lba uint64, device, proto uint8, ext, ck bool, dir uint8) {
		c := Command{Command: cmd, Features: features, Count: count, LBA: lba, Device: device,
			Protocol: Protocol(proto), Ext: ext, CheckCondition: ck}
		cdb, err := c.CDB(devio.Direction(dir))
		if err != nil {
			return
		}
		if len(cdb) != 16 || cdb[0] != 0x85 || cdb[14] != cmd || cdb[15] != 0 {
			t.Fatalf("cdb % x", cdb)
		}
		if got := Protocol(cdb[1] >> 1 & 0x0f); got != c.Protocol {
			t.Fatalf("protocol %d, want %d", got, c.Protocol)
		}
		if (cdb[1]&1 != 0) != ext || (cdb[2]&0x20 != 0) != ck {
			t.Fatalf("EXTEND/CK_COND bits wrong in % x", cdb)
		}
		gotFeatures := uint16(cdb[3])<<8 | uint16(cdb[4])
		gotCount := uint16(cdb[5])<<8 | uint16(cdb[6])
		gotLBA := uint64(cdb[8]) | uint64(cdb[10])<<8 | uint64(cdb[12])<<16 |
			uint64(cdb[7])<<24 | uint64(cdb[9])<<32 | uint64(cdb[11])<<40
		wantLBA, wantDevice := lba, device
		if !ext {
			// A 28-bit command's DEVICE bits 3:0 are LBA(27:24), whichever field gave them.
			gotLBA |= uint64(cdb[13]&0x0f) << 24
			wantLBA |= uint64(device&0x0f) << 24
			wantDevice |= byte(lba>>24) & 0x0f
		}
		if gotFeatures != features || gotCount != count || gotLBA != wantLBA || cdb[13] != wantDevice {
			t.Fatalf("round trip: features %#x count %#x lba %#x device %#x from % x", gotFeatures, gotCount, gotLBA, cdb[13], cdb)
		}
	})
}

func FuzzParseSMARTData(f *testing.F) {
	seedFixtures(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseSMARTData(b)
		th, thErr := ParseSMARTThresholds(b)
		if (err == nil) != (len(b) == 512) || (thErr == nil) != (len(b) == 512) {
			t.Fatalf("%d bytes: %v, %v", len(b), err, thErr)
		}
		if err != nil {
			return
		}
		if len(d.Attributes) > 30 || len(th) > 30 {
			t.Fatalf("%d attributes, %d thresholds", len(d.Attributes), len(th))
		}
		d.ApplyThresholds(th)
		for _, a := range d.Attributes {
			if a.ID == 0 || a.Raw >= 1<<48 {
				t.Fatalf("attribute %+v", a)
			}
			if _, ok := th[a.ID]; ok != a.HasThreshold {
				t.Fatalf("attribute %d: threshold %v, in table %v", a.ID, a.HasThreshold, ok)
			}
			_ = a.Failing()
		}
		if h, ok := d.PowerOnHours(); ok && h > 0xFFFFFFFF {
			t.Fatalf("power-on hours %d", h)
		}
		if c, ok := d.TemperatureCelsius(); ok && (c < 0 || c > 255) {
			t.Fatalf("temperature %d", c)
		}
	})
}

func FuzzParseSMARTStatus(f *testing.F) {
	f.Add(uint64(0xC24F00), false, false)
	f.Add(uint64(0x2CF400), true, true)
	f.Fuzz(func(t *testing.T, lba uint64, partial, upper bool) {
		r := Registers{LBA: lba & (1<<48 - 1), Partial: partial, LBAUpperNonZero: upper}
		exceeded, err := ParseSMARTStatus(r)
		mid := r.LBA >> 8 & 0xFFFF
		switch {
		case mid == 0xC24F && (err != nil || exceeded):
			t.Fatalf("passed signature read as %v, %v", exceeded, err)
		case mid == 0x2CF4 && (err != nil || !exceeded):
			t.Fatalf("exceeded signature read as %v, %v", exceeded, err)
		case mid != 0xC24F && mid != 0x2CF4 && err == nil:
			t.Fatalf("LBA %#x accepted", r.LBA)
		}
	})
}
