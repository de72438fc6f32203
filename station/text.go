package station

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/dustin/go-humanize"

	"github.com/decom-project/decom/inventory"
)

// Text returns an event listener that prints the station's events as lines on w, for
// the console and for logs: a drive's arrival, its progress every tenth, its end
// with the certificate, and when it may be pulled.
func Text(w io.Writer) func(Event) {
	last := map[string]int{}
	return func(ev Event) {
		switch ev := ev.(type) {
		case *Started:
			mode := "each drive is confirmed at the console"
			if ev.Auto {
				mode = "drives are wiped automatically"
			}
			fmt.Fprintf(w, "station: waiting for drives (method %s; %s; %d disks present at start are left alone)\n",
				ev.Method, mode, len(ev.Present))
			for _, n := range slices.Sorted(slices.Values(ev.Present)) {
				if d, ok := ev.Drives[n]; ok {
					fmt.Fprintf(w, "/dev/%s: present at start, left alone: %s\n", n, describe(d))
				}
			}
		case *Arrived:
			fmt.Fprintf(w, "%s: arrived: %s\n", ev.Device, describe(ev.Drive))
		case *Ignored:
			fmt.Fprintf(w, "%s: ignored: %s\n", ev.Device, ev.Reason)
		case *Refused:
			fmt.Fprintf(w, "%s: refused: %s\n", ev.Device, ev.Reason)
		case *Wiping:
			// Every tenth, and the first.
			if prev, ok := last[ev.Device]; ok && ev.Percent/10 == prev/10 {
				return
			}
			last[ev.Device] = ev.Percent
			what := fmt.Sprintf("pass %d/%d", ev.Pass, ev.Passes)
			if ev.Phase == "verify" {
				what = "reading back"
			}
			fmt.Fprintf(w, "%s: wiping %d%% (%s)\n", ev.Device, ev.Percent, what)
		case *Removed:
			fmt.Fprintf(w, "%s: removed\n", ev.Device)
		case *Finished:
			delete(last, ev.Device)
			r := ev.Result
			outcome := r.Outcome
			if outcome == "" {
				outcome = "not wiped"
			}
			line := fmt.Sprintf("%s: %s", ev.Device, outcome)
			if r.SanitizationOutcome != "" && r.SanitizationOutcome != outcome {
				line += ", " + r.SanitizationOutcome
			}
			if r.Error != "" {
				line += ": " + r.Error
			}
			if r.Certificate != "" {
				line += "; certificate " + r.Certificate
			}
			if r.RegistryReceipt != nil {
				line += " (uploaded)"
			} else if r.RegistryError != "" {
				line += " (upload waits: " + r.RegistryError + ")"
			}
			if ev.Err != nil && r.Outcome == "" {
				line += ": " + ev.Err.Error()
			}
			fmt.Fprintln(w, line)
		case *Failed:
			fmt.Fprintf(w, "%s: failed: %v\n", ev.Device, ev.Err)
		case *Pullable:
			fmt.Fprintf(w, "%s: can be pulled\n", ev.Device)
		case *Rescanned:
			for _, d := range ev.Added {
				fmt.Fprintf(w, "%s: found in /sys/block without its uevent (lost): taken as plugged in\n", d)
			}
			for _, d := range ev.Removed {
				fmt.Fprintf(w, "%s: gone from /sys/block without its uevent (lost): taken as removed\n", d)
			}
		case *Stopped:
			if ev.Err != nil {
				fmt.Fprintf(w, "station: stopped after %d drives: %v\n", ev.Handled, ev.Err)
			} else {
				fmt.Fprintf(w, "station: done after %d drives\n", ev.Handled)
			}
		}
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// describe is a drive as the line console names it: model, serial, size, transport.
func describe(d inventory.Device) string {
	return identity(d.Model, d.Serial, d.SizeBytes) + ", " + or(d.Transport, "unknown transport")
}

// identity is what the station says a drive is: "MODEL, serial S, SIZE".
func identity(model, serial string, size uint64) string {
	return fmt.Sprintf("%s, serial %s, %s", or(strings.TrimSpace(model), "unknown model"),
		or(serial, "none"), humanize.IBytes(size))
}
