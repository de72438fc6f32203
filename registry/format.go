package registry

import "strconv"

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }
