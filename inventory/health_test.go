package inventory

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/decom-project/decom/internal/ata"
	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/internal/nvme"
	"github.com/decom-project/decom/internal/scsi"
)

var measured = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func TestNVMeHealthVerdict(t *testing.T) {
	fresh := nvme.SMARTLog{CompositeTemperature: 323, AvailableSpare: 100, AvailableSpareThreshold: 10,
		PowerOnHours: nvme.Uint128{Lo: 5}, PowerCycles: nvme.Uint128{Lo: 2}}
	h := nvmeHealth(fresh, measured)
	if h.Status != HealthOK || len(h.Reasons) != 0 || h.Summary() != "ok" || *h.PowerOnHours != 5 || *h.TemperatureCelsius != 50 {
		t.Errorf("fresh drive: %+v", h)
	}
	for _, c := range []struct {
		name   string
		edit   func(*nvme.SMARTLog)
		status string
		reason string
	}{
		{"read-only", func(s *nvme.SMARTLog) { s.CriticalWarning = nvme.WarnReadOnly }, HealthFailing, "critical warning: media read-only"},
		{"spare", func(s *nvme.SMARTLog) { s.CriticalWarning = nvme.WarnSpare }, HealthFailing, "critical warning: available spare below threshold"},
		{"media errors", func(s *nvme.SMARTLog) { s.MediaErrors = nvme.Uint128{Lo: 3} }, HealthWarning, "3 media and data integrity errors"},
		{"worn 90", func(s *nvme.SMARTLog) { s.PercentageUsed = 90 }, HealthWarning, "90% of rated life used"},
		{"worn 89", func(s *nvme.SMARTLog) { s.PercentageUsed = 89 }, HealthOK, ""},
	} {
		s := fresh
		c.edit(&s)
		h := nvmeHealth(s, measured)
		if h.Status != c.status || (c.reason != "" && !slices.Contains(h.Reasons, c.reason)) {
			t.Errorf("%s: %s %q; want %s with %q", c.name, h.Status, h.Reasons, c.status, c.reason)
		}
	}
	// 128-bit counters stay exact in the JSON; the common field saturates.
	s := fresh
	s.PowerOnHours = nvme.Uint128{Lo: 1, Hi: 1}
	h = nvmeHealth(s, measured)
	b, _ := json.Marshal(h)
	if !strings.Contains(string(b), `"power_on_hours":"18446744073709551617"`) || *h.PowerOnHours != ^uint64(0) {
		t.Errorf("2^64+1 hours: %s", b)
	}
}

func TestATAHealthVerdict(t *testing.T) {
	attrs := func(realloc, pending, uncorr uint64) ata.SMARTData {
		return ata.SMARTData{Attributes: []ata.Attribute{
			{ID: 5, Flags: 0x33, Value: 100, Worst: 100, Raw: realloc, Threshold: 36, HasThreshold: true},
			{ID: 9, Flags: 0x32, Value: 90, Worst: 90, Raw: 0x0025_0000_1000},
			{ID: 12, Value: 99, Raw: 77},
			{ID: 194, Value: 40, Raw: 0x2D_0012_0028},
			{ID: 197, Value: 100, Raw: pending},
			{ID: 198, Value: 100, Raw: uncorr},
		}}
	}
	h := ataHealth(attrs(0, 0, 0), false, nil, measured)
	if h.Status != HealthOK || h.ATA.SMARTStatus != "passed" || *h.PowerOnHours != 0x1000 || *h.PowerCycles != 77 || *h.TemperatureCelsius != 40 {
		t.Errorf("healthy: %+v %+v", h, h.ATA)
	}
	if h.ATA.Attributes[0].Threshold == nil || *h.ATA.Attributes[0].Threshold != 36 || h.ATA.Attributes[1].Threshold != nil {
		t.Errorf("thresholds: %+v", h.ATA.Attributes[:2])
	}
	h = ataHealth(attrs(3, 0, 0), false, nil, measured)
	if h.Summary() != "warning: 3 reallocated sectors" {
		t.Errorf("reallocated: %q", h.Summary())
	}
	h = ataHealth(attrs(1, 2, 1), false, nil, measured)
	if h.Status != HealthWarning || !slices.Equal(h.Reasons, []string{"1 reallocated sector", "2 pending sectors", "1 offline uncorrectable sector"}) ||
		h.Summary() != "warning: 1 reallocated sector (+2 more)" {
		t.Errorf("several: %q, %q", h.Reasons, h.Summary())
	}
	h = ataHealth(attrs(0, 0, 0), true, nil, measured)
	if h.Status != HealthFailing || h.Summary() != "FAILING: SMART overall status failing" || h.ATA.SMARTStatus != "failing" {
		t.Errorf("status exceeded: %q %+v", h.Summary(), h.ATA)
	}
	d := attrs(0, 0, 0)
	d.Attributes[0].Value = 36 // pre-failure attribute 5 at its threshold
	if h = ataHealth(d, false, nil, measured); h.Status != HealthFailing || !h.ATA.Attributes[0].Failing {
		t.Errorf("attribute at threshold: %s %q", h.Status, h.Reasons)
	}
	h = ataHealth(attrs(0, 0, 0), false, errors.New("no registers"), measured)
	if h.Status != HealthOK || h.ATA.SMARTStatus != "unknown" || len(h.Reasons) != 1 {
		t.Errorf("status unreadable: %s %q %s", h.Status, h.Reasons, h.ATA.SMARTStatus)
	}
}

func TestSCSIHealthVerdict(t *testing.T) {
	zero, two := &scsi.ErrorCounters{HasTotalUncorrected: true}, &scsi.ErrorCounters{HasTotalUncorrected: true, TotalUncorrected: 2}
	h := scsiHealth(scsiLogs{pages: []byte{0x2F, 0x03}, ie: &scsi.InformationalExceptions{Temperature: 40, HasTemperature: true}, read: zero}, measured)
	if h.Status != HealthOK || *h.TemperatureCelsius != 40 || *h.SCSI.UncorrectedReadErrors != 0 || h.SCSI.Exception != "no exception" ||
		!slices.Equal(h.SCSI.PagesRead, []string{"2f", "03"}) {
		t.Errorf("healthy: %+v %+v", h, h.SCSI)
	}
	h = scsiHealth(scsiLogs{ie: &scsi.InformationalExceptions{ASC: 0x5D, ASCQ: 0x10}, write: two}, measured)
	if h.Status != HealthFailing || !h.SCSI.FailurePredicted || !slices.Contains(h.Reasons, "2 uncorrected write errors") {
		t.Errorf("failure prediction: %s %q", h.Status, h.Reasons)
	}
	h = scsiHealth(scsiLogs{verify: two}, measured)
	if h.Summary() != "warning: 2 uncorrected verify errors" || h.SCSI.Exception != "" {
		t.Errorf("verify errors: %q", h.Summary())
	}
	h = scsiHealth(scsiLogs{ie: &scsi.InformationalExceptions{ASC: 0x0B, ASCQ: 0x01}}, measured)
	if h.Status != HealthWarning {
		t.Errorf("temperature warning: %s %q", h.Status, h.Reasons)
	}
}

func TestHealthSummaryUnavailable(t *testing.T) {
	h := healthUnavailable("the drive does not support SMART", measured)
	if h.Summary() != "unavailable: the drive does not support SMART" {
		t.Errorf("%q", h.Summary())
	}
	if (*Health)(nil).Summary() != "" {
		t.Error("nil health has a summary")
	}
}

// fakeNVMe answers Get Log Page 02h with log, every other command with status.
type fakeNVMe struct {
	log    []byte
	status uint16
	sent   []devio.NVMeAdminCommand
}

func (f *fakeNVMe) Admin(cmd *devio.NVMeAdminCommand) (uint32, error) {
	f.sent = append(f.sent, *cmd)
	if f.status != 0 {
		return 0, &devio.NVMeStatusError{Status: f.status}
	}
	copy(cmd.Data, f.log)
	return 0, nil
}

func TestReadNVMeHealth(t *testing.T) {
	log := make([]byte, 512)
	log[0] = 0x04                                   // reliability degraded
	binary.LittleEndian.PutUint16(log[1:], 300)     // 27 °C
	binary.LittleEndian.PutUint64(log[128:], 12345) // power-on hours
	dev := &fakeNVMe{log: log}
	h := readNVMeHealth(dev, measured)
	if h.Status != HealthFailing || *h.PowerOnHours != 12345 || h.NVMe.CriticalWarning != 4 || h.Source != SourceNVMeSMART {
		t.Errorf("got %+v", h)
	}
	if len(dev.sent) != 1 || dev.sent[0].Opcode != nvme.OpGetLogPage || dev.sent[0].NSID != nvme.NSIDAll || dev.sent[0].CDW10&0xFF != 0x02 {
		t.Errorf("sent %+v", dev.sent)
	}
	// A controller refusing the page: unavailable, with the reason.
	h = readNVMeHealth(&fakeNVMe{status: 1<<8 | 0x09}, measured)
	if h.Status != HealthUnavailable || !strings.Contains(h.Reasons[0], "invalid log page") {
		t.Errorf("refused: %+v", h)
	}
}

// fakeSCSI answers LOG SENSE from pages (ILLEGAL REQUEST for the others) and ATA PASS-THROUGH
// from ata (nil: the pass-through is rejected as an invalid opcode).
type fakeSCSI struct {
	pages map[byte][]byte
	ata   func(cmd *devio.SCSICommand) devio.SCSIResult
	sent  [][]byte
}

var invalidOpcode = []byte{0x70, 0, 0x05, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x20, 0, 0, 0, 0, 0}

func (f *fakeSCSI) Exec(cmd *devio.SCSICommand) (devio.SCSIResult, error) {
	f.sent = append(f.sent, slices.Clone(cmd.CDB))
	switch cmd.CDB[0] {
	case scsi.OpLogSense:
		if cmd.CDB[1]&1 != 0 || cmd.CDB[2]>>6 != 1 {
			return devio.SCSIResult{}, errors.New("LOG SENSE with SP set or other than cumulative values")
		}
		p, ok := f.pages[cmd.CDB[2]&0x3F]
		if !ok {
			return devio.SCSIResult{Status: devio.StatusCheckCondition, Sense: invalidField}, nil
		}
		n := copy(cmd.Data, p)
		return devio.SCSIResult{Resid: len(cmd.Data) - n}, nil
	case scsi.OpATAPassThrough16:
		if f.ata != nil {
			return f.ata(cmd), nil
		}
	}
	return devio.SCSIResult{Status: devio.StatusCheckCondition, Sense: invalidOpcode}, nil
}

var invalidField = []byte{0x70, 0, 0x05, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x24, 0, 0, 0, 0, 0}

func TestReadSCSIHealth(t *testing.T) {
	dev := &fakeSCSI{pages: map[byte][]byte{
		0x00: {0x00, 0, 0, 3, 0x00, 0x03, 0x2F},
		0x2F: {0x2F, 0, 0, 8, 0, 0, 3, 4, 0x5D, 0x10, 0x2E, 0},
		0x03: {0x03, 0, 0, 8, 0, 6, 2, 4, 0, 0, 0, 2},
		0x02: {0x02, 0, 0, 8, 0, 6, 2, 4, 0, 0, 0, 9}, // not listed in page 00h: never asked
	}}
	h := readSCSIOrATAHealth(dev, measured)
	if h.Status != HealthFailing || *h.TemperatureCelsius != 46 || *h.SCSI.UncorrectedReadErrors != 2 || h.SCSI.UncorrectedWriteErrors != nil {
		t.Errorf("got %+v %+v", h, h.SCSI)
	}
	for _, cdb := range dev.sent {
		if cdb[0] == scsi.OpLogSense && cdb[2]&0x3F == 0x02 {
			t.Error("page 02h read though the drive does not list it")
		}
	}
	// A device without LOG SENSE (QEMU's SCSI disk): unavailable, with the reason.
	h = readSCSIOrATAHealth(&fakeSCSI{}, measured)
	if h.Status != HealthUnavailable || !strings.Contains(h.Reasons[0], "LOG SENSE page 00h") {
		t.Errorf("no LOG SENSE: %+v", h)
	}
	// A device listing none of the pages.
	h = readSCSIOrATAHealth(&fakeSCSI{pages: map[byte][]byte{0x00: {0, 0, 0, 2, 0x00, 0x0D}}}, measured)
	if h.Status != HealthUnavailable || !strings.Contains(h.Reasons[0], "none of the log pages") {
		t.Errorf("no pages: %+v", h)
	}
}

func TestReadATAHealth(t *testing.T) {
	smartData := make([]byte, 512)
	copy(smartData[2:], []byte{5, 0x33, 0, 100, 100, 3, 0, 0, 0, 0, 0, 0}) // 3 reallocated
	copy(smartData[14:], []byte{9, 0x32, 0, 99, 99, 0x10, 0x27, 0, 0, 0, 0, 0})
	// Descriptor sense of a successful SMART RETURN STATUS with CK_COND: LBA mid 4Fh, high C2h.
	passed := []byte{0x72, 0x01, 0x00, 0x1d, 0, 0, 0, 0x0e, 0x09, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0x4f, 0, 0xc2, 0, 0x50}
	var features []byte
	dev := &fakeSCSI{ata: func(cmd *devio.SCSICommand) devio.SCSIResult {
		features = append(features, cmd.CDB[4])
		if cmd.CDB[14] != 0xB0 {
			return devio.SCSIResult{Status: devio.StatusCheckCondition, Sense: invalidOpcode}
		}
		switch cmd.CDB[4] {
		case 0xDA:
			return devio.SCSIResult{Status: devio.StatusCheckCondition, Sense: passed}
		case 0xD0:
			copy(cmd.Data, smartData)
			return devio.SCSIResult{}
		}
		return devio.SCSIResult{Status: devio.StatusCheckCondition, Sense: invalidField} // thresholds refused
	}}
	id := ata.Identify{SMARTSupported: true, SMARTEnabled: true}
	h := readATAHealth(dev, id, measured)
	if h.Status != HealthWarning || h.Summary() != "warning: 3 reallocated sectors" || h.ATA.SMARTStatus != "passed" || *h.PowerOnHours != 10000 {
		t.Errorf("got %q %+v", h.Summary(), h.ATA)
	}
	if !slices.Equal(features, []byte{0xDA, 0xD0, 0xD1}) {
		t.Errorf("SMART features sent % x", features)
	}

	features = nil
	for _, c := range []struct {
		id   ata.Identify
		want string
	}{{ata.Identify{}, "unavailable: the drive does not support SMART"}, {ata.Identify{SMARTSupported: true}, "unavailable: SMART is disabled on the drive"}} {
		if got := readATAHealth(dev, c.id, measured).Summary(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.id, got, c.want)
		}
	}
	if len(features) != 0 {
		t.Errorf("SMART commands sent to a drive without SMART enabled: % x", features)
	}
}
