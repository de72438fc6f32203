package nvme_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/decom-project/decom/internal/nvme"
)

// The expected values below are worked out from the specification's field layouts and the
// values the fixture builders write, not from the parsers.

func TestParseControllerQEMU(t *testing.T) {
	got, err := nvme.ParseController(load(t, "id-ctrl-qemu"))
	if err != nil {
		t.Fatal(err)
	}
	want := nvme.Controller{
		VendorID:          0x1b36,
		SubsystemVendorID: 0x1af4,
		Serial:            "deadbeef",
		Model:             "QEMU NVMe Ctrl",
		Firmware:          "10.1.0",
		ControllerID:      0,
		Version:           0x00010400,
		// 0x012b = bits 0, 1, 3, 5, 8.
		OACS:                0x012b,
		SecuritySendReceive: true,
		FormatNVM:           true,
		NamespaceManagement: true,
		FNA:                 0,
		Format:              nvme.FormatAttributes{},
		SANICAP:             0,
		Sanitize:            nvme.SanitizeCapabilities{},
		NumNamespaces:       256,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseController(qemu) =\n%+v\nwant\n%+v", got, want)
	}
	if got.Version.String() != "1.4.0" {
		t.Errorf("Version = %v, want 1.4.0", got.Version)
	}
	if got.Sanitize.Supported() {
		t.Error("QEMU controller reports sanitize support")
	}
}

func TestParseControllerDatacenter(t *testing.T) {
	got, err := nvme.ParseController(load(t, "id-ctrl-datacenter"))
	if err != nil {
		t.Fatal(err)
	}
	want := nvme.Controller{
		VendorID:          0x144d,
		SubsystemVendorID: 0x144d,
		Serial:            "S64HNE0R700123",
		Model:             "SAMSUNG MZQL23T8HCLS-00A07",
		Firmware:          "GDC5902Q",
		ControllerID:      6,
		Version:           0x00010400,
		// 0x5f = 0101_1111b: bits 0-4 and 6.
		OACS:                0x005f,
		SecuritySendReceive: true,
		FormatNVM:           true,
		NamespaceManagement: true,
		FNA:                 0x04,
		Format:              nvme.FormatAttributes{CryptoErase: true},
		// 0x40000003: bits 0 and 1, and 01b in bits 31:30.
		SANICAP: 0x40000003,
		Sanitize: nvme.SanitizeCapabilities{
			CryptoErase:          true,
			BlockErase:           true,
			NoDeallocateMediaMod: 1,
		},
		NumNamespaces: 32,
		TotalCapacity: 3840755982336,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseController(datacenter) =\n%+v\nwant\n%+v", got, want)
	}
	if !got.Sanitize.Supported() {
		t.Error("datacenter controller reports no sanitize support")
	}
}

func TestParseControllerBits(t *testing.T) {
	d := make(data, 4096)
	d.raw(4, []byte("  AB\x01C\x00\x00")...) // leading spaces, a control byte, NUL padding
	d.ascii(24, 40, "Model \xffX")
	d.u8(524, 0x07)
	d.u32(328, 0xE0000007) // every defined SANICAP bit: 0-2, 29, and 11b in 31:30
	d.u64(280, 5)
	d.u64(288, 1) // TNVMCAP = 2^64 + 5
	got, err := nvme.ParseController(d)
	if err != nil {
		t.Fatal(err)
	}
	if got.Serial != "AB?C" {
		t.Errorf("Serial = %q, want %q", got.Serial, "AB?C")
	}
	if got.Model != "Model ?X" {
		t.Errorf("Model = %q, want %q", got.Model, "Model ?X")
	}
	if want := (nvme.FormatAttributes{AllNamespaces: true, SecureEraseAllNamespaces: true, CryptoErase: true}); got.Format != want {
		t.Errorf("Format = %+v, want %+v", got.Format, want)
	}
	wantSan := nvme.SanitizeCapabilities{CryptoErase: true, BlockErase: true, Overwrite: true, NoDeallocateInhibited: true, NoDeallocateMediaMod: 3}
	if got.Sanitize != wantSan {
		t.Errorf("Sanitize = %+v, want %+v", got.Sanitize, wantSan)
	}
	if got.TotalCapacity != 5 || !got.TotalCapacityOverflow {
		t.Errorf("TotalCapacity = %d overflow %v, want 5 and overflow", got.TotalCapacity, got.TotalCapacityOverflow)
	}
	if got.FormatNVM || got.SecuritySendReceive || got.NamespaceManagement {
		t.Errorf("OACS 0 decoded as %+v", got)
	}
}

func TestVersionString(t *testing.T) {
	for v, want := range map[nvme.Version]string{
		0:          "unreported",
		0x00010201: "1.2.1",
		0x00010400: "1.4.0",
		0x00020000: "2.0.0",
	} {
		if got := v.String(); got != want {
			t.Errorf("Version(%#x).String() = %q, want %q", uint32(v), got, want)
		}
	}
}

func TestParseNamespaceQEMU512(t *testing.T) {
	got, err := nvme.ParseNamespace(load(t, "id-ns-qemu-512"))
	if err != nil {
		t.Fatal(err)
	}
	want := nvme.Namespace{
		Size:        2097152,
		Capacity:    2097152,
		Utilization: 2097152,
		Formats: []nvme.LBAFormat{
			{MetadataSize: 0, DataShift: 9},
			{MetadataSize: 8, DataShift: 9},
			{MetadataSize: 16, DataShift: 9},
			{MetadataSize: 64, DataShift: 9},
			{MetadataSize: 0, DataShift: 12},
			{MetadataSize: 8, DataShift: 12},
			{MetadataSize: 16, DataShift: 12},
			{MetadataSize: 64, DataShift: 12},
		},
		FormatIndex: 0,
		BlockSize:   512,
		NGUID:       "",
		EUI64:       "5254000000000001",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseNamespace(qemu) =\n%+v\nwant\n%+v", got, want)
	}
	if n, ok := got.Bytes(); n != 1<<30 || !ok {
		t.Errorf("Bytes() = %d, %v, want 1 GiB", n, ok)
	}
}

func TestParseNamespace4K(t *testing.T) {
	got, err := nvme.ParseNamespace(load(t, "id-ns-4k"))
	if err != nil {
		t.Fatal(err)
	}
	want := nvme.Namespace{
		Size:        937684566,
		Capacity:    937684566,
		Utilization: 12345678,
		Formats: []nvme.LBAFormat{
			{MetadataSize: 0, DataShift: 9, RelativePerformance: 2},
			{MetadataSize: 0, DataShift: 12, RelativePerformance: 0},
		},
		FormatIndex: 1,
		BlockSize:   4096,
		NGUID:       "36344830527001230025384e00000001",
		EUI64:       "0025384e01234567",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseNamespace(4k) =\n%+v\nwant\n%+v", got, want)
	}
	if n, ok := got.Bytes(); n != 3840755982336 || !ok {
		t.Errorf("Bytes() = %d, %v, want 3840755982336", n, ok)
	}
}

func TestParseNamespaceUpperFormatIndex(t *testing.T) {
	d := make(data, 4096)
	d.u8(25, 19) // 20 formats
	// FLBAS: index 17 = 01_0001b: low bits 0001b in 3:0, high bits 01b in 6:5; bit 4 set.
	d.u8(26, 0x01|1<<4|0x1<<5)
	for i := 0; i < 20; i++ {
		d.lbaf(i, 0, 9, 3)
	}
	d.lbaf(17, 8, 12, 1)
	d.raw(128+4*17+3, 0xFD) // reserved bits 31:26 set around RP 01b
	got, err := nvme.ParseNamespace(d)
	if err != nil {
		t.Fatal(err)
	}
	if got.FormatIndex != 17 || !got.ExtendedLBA || got.BlockSize != 4096 || len(got.Formats) != 20 {
		t.Errorf("got index %d, extended %v, block size %d, %d formats; want 17, true, 4096, 20",
			got.FormatIndex, got.ExtendedLBA, got.BlockSize, len(got.Formats))
	}
	if want := (nvme.LBAFormat{MetadataSize: 8, DataShift: 12, RelativePerformance: 1}); got.Formats[17] != want {
		t.Errorf("Formats[17] = %+v, want %+v", got.Formats[17], want)
	}
}

func TestParseNamespaceInactive(t *testing.T) {
	got, err := nvme.ParseNamespace(make([]byte, 4096))
	if err != nil {
		t.Fatal(err)
	}
	if got.Size != 0 || got.BlockSize != 0 || len(got.Formats) != 1 {
		t.Errorf("all-zero namespace = %+v, want size 0, block size 0, one format", got)
	}
	if _, ok := got.Bytes(); ok {
		t.Error("Bytes() of an inactive namespace reports a size")
	}
}

func TestParseNamespaceBytesOverflow(t *testing.T) {
	d := make(data, 4096)
	d.u64(0, 1<<60)
	d.lbaf(0, 0, 12, 0)
	got, err := nvme.ParseNamespace(d)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got.Bytes(); ok {
		t.Error("Bytes() of 2^60 blocks of 4 KiB did not report overflow")
	}
}

func TestLBAFormatDataSize(t *testing.T) {
	for shift, want := range map[uint8]uint32{0: 0, 8: 0, 9: 512, 12: 4096, 16: 65536, 31: 1 << 31, 32: 0, 255: 0} {
		if got := (nvme.LBAFormat{DataShift: shift}).DataSize(); got != want {
			t.Errorf("DataSize with LBADS %d = %d, want %d", shift, got, want)
		}
	}
}

func TestParseNamespaceRejects(t *testing.T) {
	tooMany := make(data, 4096)
	tooMany.u8(25, 64) // 65 formats
	pastEnd := make(data, 4096)
	pastEnd.u8(25, 1)
	pastEnd.u8(26, 0x02) // format 2 in use, but only formats 0 and 1 listed
	for name, b := range map[string][]byte{
		"short":              make([]byte, 4095),
		"too many formats":   tooMany,
		"index past the end": pastEnd,
	} {
		if _, err := nvme.ParseNamespace(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestParseShortInput(t *testing.T) {
	if _, err := nvme.ParseController(make([]byte, 4095)); err == nil || !strings.Contains(err.Error(), "4095 bytes") {
		t.Errorf("ParseController(4095 bytes) error = %v", err)
	}
	if _, err := nvme.ParseNamespaceList(make([]byte, 100)); err == nil {
		t.Error("ParseNamespaceList(100 bytes): no error")
	}
	if _, err := nvme.ParseSanitizeStatus(make([]byte, 31)); err == nil {
		t.Error("ParseSanitizeStatus(31 bytes): no error")
	}
	if _, err := nvme.ParseSanitizeStatus(make([]byte, 32)); err != nil {
		t.Errorf("ParseSanitizeStatus(32 bytes): %v", err)
	}
}

func TestParseNamespaceList(t *testing.T) {
	d := make(data, 4096)
	d.u32(0, 1)
	d.u32(4, 2)
	d.u32(8, 5)
	d.u32(16, 9) // after the terminating zero: ignored
	got, err := nvme.ParseNamespaceList(d)
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint32{1, 2, 5}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}

	full := make(data, 4096)
	for i := 0; i < 1024; i++ {
		full.u32(4*i, uint32(i+1))
	}
	if got, err := nvme.ParseNamespaceList(full); err != nil || len(got) != 1024 || got[1023] != 1024 {
		t.Errorf("full list: %d IDs, err %v", len(got), err)
	}

	unordered := make(data, 4096)
	unordered.u32(0, 3)
	unordered.u32(4, 3)
	if _, err := nvme.ParseNamespaceList(unordered); err == nil {
		t.Error("repeated ID: no error")
	}
}

func TestParseSanitizeStatus(t *testing.T) {
	hours := func(h int) time.Duration { return time.Duration(h) * time.Hour }
	for _, tc := range []struct {
		fixture  string
		want     nvme.SanitizeStatus
		progress float64
	}{{
		fixture: "sanitize-in-progress",
		want: nvme.SanitizeStatus{
			SPROG:           26214,
			State:           nvme.SanitizeInProgress,
			OverwritePasses: 1,
			// 0x133: SANACT 011b, OWPASS 3 in bits 7:4, OIPBP bit 8.
			CDW10:                        0x133,
			OverwriteEstimate:            10800,
			BlockEraseEstimate:           600,
			CryptoEraseEstimate:          2,
			OverwriteNoDeallocEstimate:   nvme.NoEstimate,
			BlockEraseNoDeallocEstimate:  nvme.NoEstimate,
			CryptoEraseNoDeallocEstimate: nvme.NoEstimate,
		},
		progress: 26214.0 / 65536, // 0.399993896484375
	}, {
		fixture: "sanitize-completed",
		want: nvme.SanitizeStatus{
			SPROG:                        0xFFFF,
			State:                        nvme.SanitizeCompleted,
			GlobalDataErased:             true,
			CDW10:                        4,
			OverwriteEstimate:            nvme.NoEstimate,
			BlockEraseEstimate:           600,
			CryptoEraseEstimate:          2,
			OverwriteNoDeallocEstimate:   nvme.NoEstimate,
			BlockEraseNoDeallocEstimate:  600,
			CryptoEraseNoDeallocEstimate: 0,
		},
		progress: 1,
	}, {
		fixture: "sanitize-failed",
		want: nvme.SanitizeStatus{
			SPROG:                        0xFFFF,
			State:                        nvme.SanitizeFailed,
			CDW10:                        0x0A, // block erase with AUSE
			OverwriteEstimate:            nvme.NoEstimate,
			BlockEraseEstimate:           600,
			CryptoEraseEstimate:          2,
			OverwriteNoDeallocEstimate:   nvme.NoEstimate,
			BlockEraseNoDeallocEstimate:  nvme.NoEstimate,
			CryptoEraseNoDeallocEstimate: nvme.NoEstimate,
		},
		progress: 0,
	}} {
		got, err := nvme.ParseSanitizeStatus(load(t, tc.fixture))
		if err != nil {
			t.Fatalf("%s: %v", tc.fixture, err)
		}
		if got != tc.want {
			t.Errorf("%s: got\n%+v\nwant\n%+v", tc.fixture, got, tc.want)
		}
		if p := got.Progress(); p != tc.progress {
			t.Errorf("%s: Progress() = %v, want %v", tc.fixture, p, tc.progress)
		}
	}

	st, _ := nvme.ParseSanitizeStatus(load(t, "sanitize-in-progress"))
	if d, ok := st.OverwriteEstimate.Duration(); d != hours(3) || !ok {
		t.Errorf("overwrite estimate = %v, %v, want 3h", d, ok)
	}
	if _, ok := st.OverwriteNoDeallocEstimate.Duration(); ok {
		t.Error("FFFFFFFFh estimate reported as known")
	}
	done, _ := nvme.ParseSanitizeStatus(load(t, "sanitize-completed"))
	if d, ok := done.CryptoEraseNoDeallocEstimate.Duration(); d != 0 || !ok {
		t.Errorf("zero estimate = %v, %v, want 0 and known", d, ok)
	}
}

func TestSanitizeStateBits(t *testing.T) {
	d := make(data, 32)
	d.u16(2, 0xFFFF) // every SSTAT bit, reserved ones included
	got, err := nvme.ParseSanitizeStatus(d)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != 7 || got.OverwritePasses != 31 || !got.GlobalDataErased {
		t.Errorf("SSTAT FFFFh = state %d, passes %d, GDE %v; want 7, 31, true", got.State, got.OverwritePasses, got.GlobalDataErased)
	}
	if got.State.String() != "reserved sanitize status 7" || got.State.Succeeded() {
		t.Errorf("state 7: %q, succeeded %v", got.State, got.State.Succeeded())
	}
	if !nvme.SanitizeCompletedDeallocated.Succeeded() || nvme.SanitizeFailed.Succeeded() {
		t.Error("Succeeded() wrong for states 4 or 3")
	}
}
