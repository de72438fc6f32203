package scsi

import (
	"strings"
	"testing"
)

// The fuzzers check that no input makes a parser panic, and that what a parser accepts is
// consistent with the bytes it came from. Every fixture seeds every fuzzer.

func seed(f *testing.F) {
	for _, b := range allFixtures(f) {
		f.Add(b)
	}
}

func FuzzParseSense(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSense(b)
		if err != nil {
			return
		}
		if len(b) < 8 {
			t.Fatalf("accepted %d bytes", len(b))
		}
		if s.ResponseCode < 0x70 || s.ResponseCode > 0x73 {
			t.Fatalf("accepted response code %#x", s.ResponseCode)
		}
		if s.Key > 0xf {
			t.Fatalf("sense key %#x out of range", s.Key)
		}
		if p, ok := s.Progress(); ok && (p < 0 || p >= 1) {
			t.Fatalf("progress %v out of [0, 1)", p)
		}
		if r, ok := s.ATARegisters(); ok && r.LBA >= 1<<48 {
			t.Fatalf("LBA %#x wider than 48 bits", r.LBA)
		}
		_ = s.String()
	})
}

func FuzzParseInquiry(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		inq, err := ParseInquiry(b)
		if err != nil {
			return
		}
		if len(b) < 36 || inq.DeviceType > 0x1f || inq.PeripheralQualifier > 7 {
			t.Fatalf("accepted %d bytes as %+v", len(b), inq)
		}
		if len(inq.Vendor) > 8 || len(inq.Product) > 16 || len(inq.Revision) > 4 {
			t.Fatalf("strings longer than their fields: %+v", inq)
		}
	})
}

func FuzzParseSupportedPages(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		pages, err := ParseSupportedPages(b)
		if err == nil && len(pages) > len(b)-4 {
			t.Fatalf("%d pages from %d bytes", len(pages), len(b))
		}
	})
}

func FuzzParseUnitSerialNumber(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseUnitSerialNumber(b)
		if err == nil && (len(s) > len(b)-4 || strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ")) {
			t.Fatalf("serial %q from %d bytes", s, len(b))
		}
	})
}

func FuzzParseDeviceIdentification(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := ParseDeviceIdentification(b)
		if err != nil {
			return
		}
		total := 0
		for _, d := range id.Designators {
			total += 4 + len(d.Value)
			if d.Association > 3 || d.Type > 0xf || d.CodeSet > 0xf {
				t.Fatalf("designator fields out of range: %+v", d)
			}
		}
		if total > len(b)-4 {
			t.Fatalf("designators cover %d bytes of a %d-byte page", total, len(b))
		}
		if w := id.WWN(); w != "" && !strings.HasPrefix(w, "0x") {
			t.Fatalf("WWN %q", w)
		}
		_ = id.T10VendorID()
	})
}

func FuzzParseBlockCharacteristics(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseBlockCharacteristics(b)
		if err == nil && c.FormFactor > 0xf {
			t.Fatalf("form factor %#x", c.FormFactor)
		}
	})
}

func FuzzParseATAInformation(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := ParseATAInformation(b)
		if err == nil && len(info.Identify) != 512 {
			t.Fatalf("%d bytes of identify data", len(info.Identify))
		}
	})
}

func FuzzParseOneCommand(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseOneCommand(b)
		if err == nil && (c.Support > 7 || len(c.CDBUsage) > len(b)-4) {
			t.Fatalf("got %+v from %d bytes", c, len(b))
		}
	})
}

func FuzzParseAllCommands(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		cmds, err := ParseAllCommands(b)
		if err == nil && 8*len(cmds) > len(b)-4 {
			t.Fatalf("%d descriptors from %d bytes", len(cmds), len(b))
		}
	})
}

func FuzzParseReadCapacity16(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseReadCapacity16(b)
		if err == nil && (c.BlockSize == 0 || c.Blocks() == 0 || c.LowestAlignedLBA > 0x3fff) {
			t.Fatalf("accepted %+v", c)
		}
	})
}

func FuzzParseLogPages(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, page := range []byte{LogSupportedPages, LogWriteErrors, LogReadErrors, LogVerifyErrors, LogInformationalExceptions} {
			ps, err := ParseLogPage(b, page)
			if err != nil {
				continue
			}
			total := 0
			for _, p := range ps {
				total += 4 + len(p.Value)
			}
			if len(b) < 4 || b[0]&0x3F != page || total != int(b[2])<<8|int(b[3]) {
				t.Fatalf("page %#x: %d parameters, %d bytes, from % x", page, len(ps), total, b)
			}
		}
		if pages, err := ParseSupportedLogPages(b); err == nil {
			for _, p := range pages {
				if p > 0x3F {
					t.Fatalf("page code %#x", p)
				}
			}
		}
		if ie, err := ParseInformationalExceptions(b); err == nil {
			if ie.HasTemperature && (ie.Temperature < 0 || ie.Temperature > 254) {
				t.Fatalf("temperature %d", ie.Temperature)
			}
			if ie.FailurePredicted() && !ie.Exception() {
				t.Fatal("failure predicted without an exception")
			}
			_ = ie.Description()
		}
		for _, page := range []byte{LogWriteErrors, LogReadErrors, LogVerifyErrors} {
			if ec, err := ParseErrorCounters(b, page); err == nil && ec.Saturated &&
				ec.TotalCorrected != ^uint64(0) && ec.TotalUncorrected != ^uint64(0) {
				t.Fatalf("saturated without a saturated counter: %+v", ec)
			}
		}
	})
}
