package scsi

import (
	"errors"
	"strings"
	"testing"

	"github.com/decom-project/decom/internal/devio"
)

func TestParseSenseFixtures(t *testing.T) {
	type want struct {
		descriptor, deferred bool
		key                  SenseKey
		asc, ascq            byte
		info                 uint64
		infoValid            bool
		cmdSpecific          uint64
		sks                  [3]byte
		progress             float64
		hasProgress          bool
		unsupported          bool
		ata                  *ATARegisters
	}
	tests := []struct {
		file string
		want want
	}{
		{"sense-fixed-ata-ckcond.hex", want{
			key: RecoveredError, asc: 0x00, ascq: 0x1d,
			info: 0x005000ff, infoValid: true,
			ata: &ATARegisters{Status: 0x50, Count: 0xff, Partial: true},
		}},
		{"sense-desc-sas-invalid-opcode.hex", want{
			descriptor: true, key: IllegalRequest, asc: 0x20,
			sks: [3]byte{0xcf, 0x00, 0x00}, unsupported: true,
		}},
		{"sense-fixed-invalid-opcode.hex", want{
			key: IllegalRequest, asc: 0x20, sks: [3]byte{0xcf, 0x00, 0x00}, unsupported: true,
		}},
		{"sense-desc-ata-read-native-max.hex", want{
			descriptor: true, key: RecoveredError, asc: 0x00, ascq: 0x1d,
			ata: &ATARegisters{Status: 0x50, Device: 0x40, LBA: 7814037167, Extend: true},
		}},
		{"sense-desc-ata-abort.hex", want{
			descriptor: true, key: AbortedCommand,
			ata: &ATARegisters{Error: 0x04, Status: 0x51, Device: 0x40},
		}},
		{"sense-fixed-ata-abort.hex", want{
			key: AbortedCommand, info: 0x04514000, infoValid: true, cmdSpecific: 0x80000000,
			ata: &ATARegisters{Error: 0x04, Status: 0x51, Device: 0x40, Extend: true, Partial: true},
		}},
		{"sense-desc-sanitize-progress.hex", want{
			descriptor: true, key: NotReady, asc: 0x04, ascq: 0x1b,
			sks: [3]byte{0x80, 0x40, 0x00}, progress: 0.25, hasProgress: true,
		}},
		{"sense-fixed-format-progress.hex", want{
			key: NotReady, asc: 0x04, ascq: 0x04,
			sks: [3]byte{0x80, 0x80, 0x00}, progress: 0.5, hasProgress: true,
		}},
		{"sense-fixed-deferred.hex", want{deferred: true, key: MediumError, asc: 0x0c}},
		{"sense-desc-information.hex", want{
			descriptor: true, key: MediumError, asc: 0x11,
			info: 0x1d1c0be00, infoValid: true,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			s, err := ParseSense(fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			w := tt.want
			if s.Descriptor() != w.descriptor || s.Deferred() != w.deferred {
				t.Errorf("descriptor, deferred = %v, %v; want %v, %v", s.Descriptor(), s.Deferred(), w.descriptor, w.deferred)
			}
			if s.Key != w.key || s.ASC != w.asc || s.ASCQ != w.ascq {
				t.Errorf("key/asc/ascq = %v/%#x/%#x, want %v/%#x/%#x", s.Key, s.ASC, s.ASCQ, w.key, w.asc, w.ascq)
			}
			if s.Information != w.info || s.InformationValid != w.infoValid {
				t.Errorf("information = %#x valid %v, want %#x valid %v", s.Information, s.InformationValid, w.info, w.infoValid)
			}
			if s.CommandSpecific != w.cmdSpecific {
				t.Errorf("command-specific = %#x, want %#x", s.CommandSpecific, w.cmdSpecific)
			}
			if s.SenseKeySpecific != w.sks {
				t.Errorf("sense-key specific = % x, want % x", s.SenseKeySpecific, w.sks)
			}
			if p, ok := s.Progress(); ok != w.hasProgress || p != w.progress {
				t.Errorf("progress = %v, %v; want %v, %v", p, ok, w.progress, w.hasProgress)
			}
			if s.Unsupported() != w.unsupported {
				t.Errorf("unsupported = %v, want %v", s.Unsupported(), w.unsupported)
			}
			r, ok := s.ATARegisters()
			switch {
			case w.ata == nil && ok:
				t.Errorf("ATA registers %+v, want none", r)
			case w.ata != nil && !ok:
				t.Errorf("no ATA registers, want %+v", *w.ata)
			case w.ata != nil && r != *w.ata:
				t.Errorf("ATA registers\n got %+v\nwant %+v", r, *w.ata)
			}
		})
	}
}

func TestParseSenseFixedATARegisters(t *testing.T) {
	// Every field of the SAT fixed-format encoding set to a distinct value: error 11h,
	// status 22h, device 33h, count 44h; EXTEND, COUNT UPPER NONZERO and LBA UPPER NONZERO
	// set, LOG INDEX 5; LBA(7:0) 66h, LBA(15:8) 77h, LBA(23:16) 88h.
	b := []byte{0x70, 0, 0x01, 0x11, 0x22, 0x33, 0x44, 0x0a, 0xe5, 0x66, 0x77, 0x88, 0x00, 0x1d, 0, 0, 0, 0}
	s, err := ParseSense(b)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := s.ATARegisters()
	want := ATARegisters{
		Error: 0x11, Status: 0x22, Device: 0x33, Count: 0x44, LBA: 0x887766,
		Extend: true, Partial: true, CountUpperNonZero: true, LBAUpperNonZero: true,
	}
	if !ok || got != want {
		t.Errorf("got %+v, %v\nwant %+v", got, ok, want)
	}
}

func TestParseSenseDescriptorATAStatusReturnByteOrder(t *testing.T) {
	// Each LBA byte distinct, so a swapped pair shows: LBA(47:40)=A6, (39:32)=A5,
	// (31:24)=A4, (23:16)=A3, (15:8)=A2, (7:0)=A1; COUNT 1234h.
	b := []byte{0x72, 0x01, 0x00, 0x1d, 0, 0, 0, 0x0e,
		0x09, 0x0c, 0x01, 0x00, 0x12, 0x34, 0xa4, 0xa1, 0xa5, 0xa2, 0xa6, 0xa3, 0xe0, 0x50}
	s, err := ParseSense(b)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := s.ATARegisters()
	want := ATARegisters{Count: 0x1234, LBA: 0xa6a5a4a3a2a1, Device: 0xe0, Status: 0x50, Extend: true}
	if !ok || got != want {
		t.Errorf("got %+v, %v\nwant %+v", got, ok, want)
	}
}

func TestParseSenseRespectsAdditionalLength(t *testing.T) {
	// Additional sense length 4 ends the sense data after byte 11: ASC/ASCQ at bytes 12-13
	// must read as zero even though the buffer holds non-zero bytes there.
	b := []byte{0x70, 0, 0x06, 0, 0, 0, 0, 0x04, 0, 0, 0, 0, 0x24, 0x01, 0, 0, 0, 0}
	s, err := ParseSense(b)
	if err != nil {
		t.Fatal(err)
	}
	if s.Key != UnitAttention || s.ASC != 0 || s.ASCQ != 0 {
		t.Errorf("got key %v asc %#x ascq %#x, want UNIT ATTENTION 0 0", s.Key, s.ASC, s.ASCQ)
	}
	// Descriptor format: the ATA descriptor lies beyond the additional length.
	d := fixture(t, "sense-desc-ata-read-native-max.hex")
	d[7] = 0
	s, err = ParseSense(d)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.ATARegisters(); ok {
		t.Error("ATA descriptor outside the additional sense length was decoded")
	}
}

func TestParseSenseErrors(t *testing.T) {
	for _, b := range [][]byte{
		nil,
		{},
		{0x70},
		{0x70, 0, 0x05, 0, 0, 0, 0}, // 7 bytes of fixed format
		{0x72, 0x05, 0x20},          // 3 bytes of descriptor format
		{0x00, 0, 0x05, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0}, // response code 0
		{0x7f, 0, 0x05, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0}, // vendor specific format
		make([]byte, 32), // all zero buffer
	} {
		if s, err := ParseSense(b); err == nil {
			t.Errorf("ParseSense(% x) = %+v, want an error", b, s)
		}
	}
}

func TestProgressOnlyForNoSenseAndNotReady(t *testing.T) {
	s := Sense{ResponseCode: 0x70, Key: NoSense, SenseKeySpecific: [3]byte{0x80, 0xff, 0xff}}
	if p, ok := s.Progress(); !ok || p != 65535.0/65536 {
		t.Errorf("NO SENSE: progress = %v, %v; want %v, true", p, ok, 65535.0/65536)
	}
	s.Key = IllegalRequest // the field is a field pointer, not progress
	if _, ok := s.Progress(); ok {
		t.Error("ILLEGAL REQUEST sense-key specific field read as progress")
	}
	s = Sense{ResponseCode: 0x70, Key: NotReady, SenseKeySpecific: [3]byte{0x00, 0x40, 0x00}}
	if _, ok := s.Progress(); ok {
		t.Error("progress reported without SKSV")
	}
}

func TestSenseString(t *testing.T) {
	s, err := ParseSense(fixture(t, "sense-desc-sanitize-progress.hex"))
	if err != nil {
		t.Fatal(err)
	}
	want := "NOT READY, asc 0x04 ascq 0x1b (logical unit not ready, sanitize in progress), progress 25.0%"
	if got := s.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	s, err = ParseSense(fixture(t, "sense-fixed-deferred.hex"))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.String(); !strings.HasPrefix(got, "deferred error: MEDIUM ERROR") {
		t.Errorf("String() = %q, want a deferred MEDIUM ERROR", got)
	}
}

func TestCheck(t *testing.T) {
	if err := Check(devio.SCSIResult{Status: devio.StatusGood}); err != nil {
		t.Errorf("GOOD: %v", err)
	}
	if err := Check(devio.SCSIResult{Status: devio.StatusCheckCondition, Sense: fixture(t, "sense-fixed-ata-ckcond.hex")}); err != nil {
		t.Errorf("RECOVERED ERROR: %v", err)
	}

	err := Check(devio.SCSIResult{Status: devio.StatusCheckCondition, Sense: fixture(t, "sense-desc-sas-invalid-opcode.hex")})
	var se *StatusError
	if !errors.As(err, &se) || !se.HasSense || se.Sense.ASC != 0x20 {
		t.Fatalf("invalid opcode: got %v, want a *StatusError with the sense data", err)
	}
	if !errors.Is(err, devio.ErrUnsupported) {
		t.Errorf("invalid opcode: %v does not match devio.ErrUnsupported", err)
	}

	err = Check(devio.SCSIResult{Status: devio.StatusCheckCondition, Sense: fixture(t, "sense-desc-sanitize-progress.hex")})
	if err == nil || errors.Is(err, devio.ErrUnsupported) {
		t.Errorf("NOT READY: got %v, want an error that is not ErrUnsupported", err)
	}
	if !strings.Contains(err.Error(), "sanitize in progress") {
		t.Errorf("NOT READY: %q does not name the condition", err)
	}

	err = Check(devio.SCSIResult{Status: devio.StatusCheckCondition, Sense: fixture(t, "sense-fixed-deferred.hex")})
	if err == nil {
		t.Error("deferred error: got nil")
	}

	for _, r := range []devio.SCSIResult{
		{Status: devio.StatusCheckCondition},                         // no sense
		{Status: devio.StatusCheckCondition, Sense: make([]byte, 8)}, // unparsable sense
		{Status: devio.StatusBusy},
		{Status: 0x18}, // RESERVATION CONFLICT
	} {
		err := Check(r)
		if !errors.As(err, &se) || se.Status != r.Status || se.HasSense {
			t.Errorf("status %#x: got %v, want a *StatusError without sense", r.Status, err)
		}
		if errors.Is(err, devio.ErrUnsupported) {
			t.Errorf("status %#x: matches ErrUnsupported", r.Status)
		}
	}
}
