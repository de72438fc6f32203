package nvme_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/decom-project/decom/internal/nvme"
)

// The fuzz targets check that the parsers never panic and that what they return is
// consistent with the bytes they were given.
//
// The Identify targets fuzz the start of the structure, where the fields are, and pad it to
// IdentifySize: the fuzzer minimizes every input that finds new coverage, and with 4 KiB inputs
// that stalls it for longer than a short -fuzztime. The unpadded input is parsed too, for the
// length checks.

// padded returns b zero-extended to n bytes (or cut to n).
func padded(b []byte, n int) []byte {
	p := make([]byte, n)
	copy(p, b)
	return p
}

func FuzzParseController(f *testing.F) {
	f.Add(load(f, "id-ctrl-qemu")[:528])
	f.Add(load(f, "id-ctrl-datacenter")[:528])
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := nvme.ParseController(b); (err == nil) != (len(b) >= nvme.IdentifySize) {
			t.Fatalf("%d bytes: err = %v", len(b), err)
		}
		c, err := nvme.ParseController(padded(b, nvme.IdentifySize))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{c.Serial, c.Model, c.Firmware} {
			if strings.Trim(s, " ") != s {
				t.Errorf("%q is not trimmed", s)
			}
			for _, r := range s {
				if r < 0x20 || r > 0x7E {
					t.Errorf("%q holds %U", s, r)
				}
			}
		}
		if c.FormatNVM != (c.OACS&2 != 0) || c.Format.CryptoErase != (c.FNA&4 != 0) ||
			c.Sanitize.CryptoErase != (c.SANICAP&1 != 0) || uint32(c.Sanitize.NoDeallocateMediaMod) != c.SANICAP>>30 {
			t.Errorf("decoded flags disagree with raw fields: %+v", c)
		}
	})
}

func FuzzParseNamespace(f *testing.F) {
	f.Add(load(f, "id-ns-qemu-512")[:384])
	f.Add(load(f, "id-ns-4k")[:384])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := nvme.ParseNamespace(b); err == nil && len(b) < nvme.IdentifySize {
			t.Fatalf("%d bytes accepted", len(b))
		}
		b = padded(b, nvme.IdentifySize)
		n, err := nvme.ParseNamespace(b)
		if err != nil {
			if b[25] < 64 && int(b[26]&0x0F|b[26]>>5&3<<4) <= int(b[25]) {
				t.Fatalf("valid-looking data rejected: %v", err)
			}
			return
		}
		if len(n.Formats) != int(b[25])+1 || n.FormatIndex >= len(n.Formats) {
			t.Fatalf("%d formats, index %d, NLBAF %d", len(n.Formats), n.FormatIndex, b[25])
		}
		if n.BlockSize != n.Formats[n.FormatIndex].DataSize() {
			t.Errorf("BlockSize %d, format in use says %d", n.BlockSize, n.Formats[n.FormatIndex].DataSize())
		}
		for _, f := range n.Formats {
			if f.RelativePerformance > 3 {
				t.Errorf("RP %d", f.RelativePerformance)
			}
		}
		if (len(n.NGUID) != 0 && len(n.NGUID) != 32) || (len(n.EUI64) != 0 && len(n.EUI64) != 16) {
			t.Errorf("NGUID %q, EUI64 %q", n.NGUID, n.EUI64)
		}
	})
}

func FuzzParseNamespaceList(f *testing.F) {
	list := make(data, 4096)
	for i, id := range []uint32{1, 2, 7, 0xFFFFFFF0} {
		list.u32(4*i, id)
	}
	f.Add([]byte(list[:32]))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := nvme.ParseNamespaceList(b); err == nil && len(b) < nvme.IdentifySize {
			t.Fatalf("%d bytes accepted", len(b))
		}
		ids, err := nvme.ParseNamespaceList(padded(b, nvme.IdentifySize))
		if err != nil {
			return
		}
		if len(ids) > 1024 {
			t.Fatalf("%d IDs", len(ids))
		}
		for i, id := range ids {
			if id == 0 || (i > 0 && id <= ids[i-1]) {
				t.Fatalf("IDs %v not increasing and non-zero", ids)
			}
		}
	})
}

func FuzzParseSanitizeStatus(f *testing.F) {
	for _, name := range []string{"sanitize-in-progress", "sanitize-completed", "sanitize-failed"} {
		f.Add(load(f, name))
	}
	f.Add(make([]byte, 31))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := nvme.ParseSanitizeStatus(b)
		if (err == nil) != (len(b) >= 32) {
			t.Fatalf("%d bytes: err = %v", len(b), err)
		}
		if err != nil {
			return
		}
		if s.State > 7 || s.OverwritePasses > 31 {
			t.Errorf("state %d, passes %d", s.State, s.OverwritePasses)
		}
		if p := s.Progress(); p < 0 || p >= 1.0000001 {
			t.Errorf("progress %v", p)
		}
	})
}

func FuzzParseSMARTLog(f *testing.F) {
	f.Add(load(f, "smart-new")[:256])
	f.Add(load(f, "smart-worn")[:256])
	f.Add(make([]byte, 191))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := nvme.ParseSMARTLog(b)
		if (err == nil) != (len(b) >= 192) {
			t.Fatalf("%d bytes: err = %v", len(b), err)
		}
		if err != nil {
			return
		}
		if uint8(s.CriticalWarning) != b[0] || len(s.CriticalWarning.Names()) != bitsSet(b[0]) {
			t.Errorf("critical warning %#x from byte %#x: %q", s.CriticalWarning, b[0], s.CriticalWarning.Names())
		}
		for _, c := range []nvme.Uint128{s.DataUnitsRead, s.DataUnitsWritten, s.PowerCycles, s.PowerOnHours,
			s.UnsafeShutdowns, s.MediaErrors, s.ErrorLogEntries} {
			v, ok := c.Uint64()
			if ok != (c.Hi == 0) || (ok && fmt.Sprint(v) != c.String()) || len(c.String()) > 39 {
				t.Errorf("counter %+v: %d %v %s", c, v, ok, c)
			}
		}
		if c, ok := s.TemperatureCelsius(); ok != (s.CompositeTemperature != 0) || c < -273 || c > 65535-273 {
			t.Errorf("temperature %d, %v", c, ok)
		}
	})
}

func bitsSet(b byte) int {
	n := 0
	for ; b != 0; b &= b - 1 {
		n++
	}
	return n
}
