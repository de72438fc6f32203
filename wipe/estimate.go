package wipe

import (
	"time"

	"github.com/decom-project/decom/inventory"
)

// assumedRate is a conservative sequential write rate per medium, in bytes per
// second, for plans made before anything is measured.
var assumedRate = map[string]float64{
	inventory.MediaHDD:     150e6,
	inventory.MediaSSD:     400e6,
	inventory.MediaFlash:   20e6,
	inventory.MediaVirtual: 1000e6,
}

// Estimate is how long passes over t should take at the assumed rate of its medium
// (NVMe drives are assumed faster than other SSDs).
func Estimate(t Target, passes int) time.Duration {
	rate, ok := assumedRate[t.Drive.Media]
	switch {
	case t.Kind == KindFile:
		rate = assumedRate[inventory.MediaVirtual]
	case t.Drive.Transport == inventory.TransportNVMe:
		rate = 1500e6
	case !ok:
		rate = 100e6
	}
	return time.Duration(float64(t.Size()) * float64(passes) / rate * float64(time.Second))
}
