package nvme_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/internal/nvme"
)

func TestParseSMARTLog(t *testing.T) {
	fresh, err := nvme.ParseSMARTLog(load(t, "smart-new"))
	if err != nil {
		t.Fatal(err)
	}
	want := nvme.SMARTLog{CompositeTemperature: 323, AvailableSpare: 100, AvailableSpareThreshold: 10,
		DataUnitsRead: nvme.Uint128{Lo: 12}, DataUnitsWritten: nvme.Uint128{Lo: 3}, PowerCycles: nvme.Uint128{Lo: 1}}
	if fresh != want {
		t.Errorf("new drive: got\n%+v\nwant\n%+v", fresh, want)
	}
	if c, ok := fresh.TemperatureCelsius(); c != 50 || !ok {
		t.Errorf("temperature %d °C, %v; want 50", c, ok)
	}
	if names := fresh.CriticalWarning.Names(); len(names) != 0 {
		t.Errorf("no warning bit set, names %v", names)
	}

	worn, err := nvme.ParseSMARTLog(load(t, "smart-worn"))
	if err != nil {
		t.Fatal(err)
	}
	want = nvme.SMARTLog{
		CriticalWarning: nvme.WarnSpare | nvme.WarnReadOnly, CompositeTemperature: 341,
		AvailableSpare: 4, AvailableSpareThreshold: 5, PercentageUsed: 104,
		DataUnitsRead:    nvme.Uint128{Lo: 0x0123456789ABCDEF},
		DataUnitsWritten: nvme.Uint128{Lo: ^uint64(0), Hi: 1},
		PowerCycles:      nvme.Uint128{Lo: 1234}, PowerOnHours: nvme.Uint128{Lo: 43800},
		UnsafeShutdowns: nvme.Uint128{Lo: 17}, MediaErrors: nvme.Uint128{Lo: 3}, ErrorLogEntries: nvme.Uint128{Lo: 250},
	}
	if worn != want {
		t.Errorf("worn drive: got\n%+v\nwant\n%+v", worn, want)
	}
	if got := worn.CriticalWarning.Names(); !slices.Equal(got, []string{"available spare below threshold", "media read-only"}) {
		t.Errorf("warning names %q", got)
	}
	if s := worn.DataUnitsWritten.String(); s != "36893488147419103231" { // 2^65 - 1
		t.Errorf("data units written %s, want 2^65-1 = 36893488147419103231", s)
	}
	if v, ok := worn.DataUnitsWritten.Uint64(); ok || v != ^uint64(0) {
		t.Errorf("Uint64() of 2^65-1 = %d, %v; want saturated and false", v, ok)
	}
	if s := worn.DataUnitsRead.String(); s != "81985529216486895" {
		t.Errorf("data units read %s", s)
	}
}

func TestCriticalWarningNames(t *testing.T) {
	got := nvme.CriticalWarning(0xFF).Names()
	want := []string{"available spare below threshold", "temperature outside its thresholds", "reliability degraded",
		"media read-only", "volatile memory backup failed", "persistent memory region read-only", "reserved bit 6", "reserved bit 7"}
	if !slices.Equal(got, want) {
		t.Errorf("FFh: %q", got)
	}
	for bit, w := range []nvme.CriticalWarning{nvme.WarnSpare, nvme.WarnTemperature, nvme.WarnReliability, nvme.WarnReadOnly, nvme.WarnVolatileBackup} {
		if w != 1<<bit {
			t.Errorf("warning %d is %#x", bit, w)
		}
	}
}

func TestParseSMARTLogShort(t *testing.T) {
	if _, err := nvme.ParseSMARTLog(make([]byte, 191)); err == nil {
		t.Error("191 bytes accepted")
	}
	if _, err := nvme.ParseSMARTLog(make([]byte, 192)); err != nil {
		t.Errorf("192 bytes: %v", err)
	}
}

func TestReadSMARTLog(t *testing.T) {
	dev := &fakeNVMe{answer: answerWith(load(t, "smart-worn"))}
	s, err := nvme.ReadSMARTLog(dev)
	if err != nil {
		t.Fatal(err)
	}
	if s.PercentageUsed != 104 || s.MediaErrors.Lo != 3 {
		t.Errorf("got %+v", s)
	}
	// Log page 02h, 512 bytes (NUMD 127), controller-wide (NSID FFFFFFFFh), from offset 0.
	want := []dwords{{Opcode: 0x02, NSID: 0xFFFFFFFF, CDW10: 0x007F0002, Dir: devio.DirFromDevice, DataLen: 512}}
	if fmt.Sprint(dev.sent) != fmt.Sprint(want) {
		t.Errorf("sent %+v, want %+v", dev.sent, want)
	}

	// A controller without the page: Invalid Log Page (SCT 1, SC 09h).
	dev = &fakeNVMe{answer: answerStatus(1<<8 | 0x09)}
	if _, err := nvme.ReadSMARTLog(dev); !errors.Is(err, nvme.ErrInvalidLogPage) {
		t.Errorf("error %v is not ErrInvalidLogPage", err)
	}
}
