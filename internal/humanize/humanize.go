// Package humanize renders sizes for people.
package humanize

import (
	"fmt"
	"strconv"
	"strings"
)

// Bytes renders b in binary units with one decimal: "931.5 GiB", "512 B".
func Bytes(b uint64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := uint64(unit), 0
	for n := b / unit; n >= unit && exp < 5; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGTPE"[exp])
}

// Decimal writes b in decimal units, as drive makers state capacities: "1.00 TB",
// "931 GB", "12.5 MB"; three significant digits.
func Decimal(b uint64) string {
	const units = "kMGTPE"
	if b < 1000 {
		return strconv.FormatUint(b, 10) + " B"
	}
	v, i := scale(b, 1000, len(units))
	prec := 2
	if v >= 100 {
		prec = 0
	} else if v >= 10 {
		prec = 1
	}
	return strconv.FormatFloat(v, 'f', prec, 64) + " " + string(units[i]) + "B"
}

// BinaryExact writes b in the largest binary unit, with as many decimals as it takes
// to be exact: "1 MiB", "1.5 KiB", "4 KiB"; for sizes chosen in binary units, such as
// block sizes.
func BinaryExact(b uint64) string {
	const units = "KMGTPE"
	if b < 1024 {
		return strconv.FormatUint(b, 10) + " B"
	}
	v, i := scale(b, 1024, len(units))
	return strconv.FormatFloat(v, 'f', -1, 64) + " " + string(units[i]) + "iB"
}

// scale divides b by base until it is below base or the largest of units is
// reached; it returns the value and the index of its unit (0: the first above bytes).
func scale(b uint64, base float64, units int) (float64, int) {
	v, i := float64(b)/base, 0
	for v >= base && i < units-1 {
		v /= base
		i++
	}
	return v, i
}

// Thousands writes n with comma separators: 1,000,204,886,016.
func Thousands(n uint64) string {
	s := strconv.FormatUint(n, 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
