package humanize

import "testing"

func TestBytes(t *testing.T) {
	for in, want := range map[uint64]string{
		0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 64 << 20: "64.0 MiB",
		1000204886016: "931.5 GiB", 1 << 60: "1.0 EiB", 1<<64 - 1: "16.0 EiB",
	} {
		if got := Bytes(in); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestDecimal(t *testing.T) {
	for in, want := range map[uint64]string{
		0: "0 B", 999: "999 B", 1000: "1.00 kB", 12_500_000: "12.5 MB", 931_000_000_000: "931 GB",
		1000204886016: "1.00 TB", 8_001_563_222_016: "8.00 TB",
	} {
		if got := Decimal(in); got != want {
			t.Errorf("Decimal(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestBinaryExact(t *testing.T) {
	for in, want := range map[uint64]string{
		512: "512 B", 1024: "1 KiB", 1536: "1.5 KiB", 1 << 20: "1 MiB", 3584: "3.5 KiB",
	} {
		if got := BinaryExact(in); got != want {
			t.Errorf("BinaryExact(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestThousands(t *testing.T) {
	for in, want := range map[uint64]string{0: "0", 999: "999", 1000: "1,000", 1000204886016: "1,000,204,886,016"} {
		if got := Thousands(in); got != want {
			t.Errorf("Thousands(%d) = %q, want %q", in, got, want)
		}
	}
}
