package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/decom-project/decom/internal/humanize"
	"github.com/decom-project/decom/internal/logging"
	"github.com/decom-project/decom/inventory"
)

type inventoryOptions struct {
	WipeableOnly bool
	NoFirmware   bool
}

func (o *inventoryOptions) AddFlags(f *pflag.FlagSet) {
	f.BoolVar(&o.WipeableOnly, "wipeable", false, "list only the drives decom would agree to wipe")
	f.BoolVar(&o.NoFirmware, "no-firmware", false, "do not ask the drives' firmware for its sanitize capabilities (identify commands)")
}

func newInventoryCommand(g *globalOptions) *cobra.Command {
	var opts inventoryOptions
	cmd := &cobra.Command{
		Use:   "inventory [DEVICE]",
		Short: "List the machine's drives, or show everything known about one",
		Long: `Lists every block device with its identity, geometry, transport, media, partitions,
filesystems and whatever keeps it busy. Drives holding the running system, mounted
filesystems, active swap, or anything stacked on them (dm, md) are not wipeable, and the
reason is shown. With DEVICE (a /dev path, a /dev/disk/by-* link or a partition), shows the
whole drive in detail. Nothing is ever written.

Each drive's firmware is asked, with identify commands that change nothing, what it can
do to sanitize itself (ATA security erase and sanitize, NVMe format and sanitize, SCSI
sanitize), its security state (frozen, locked), its hidden areas (HPA, DCO) and its
health (NVMe SMART / health log, ATA SMART, SCSI informational exceptions and error
counters); --no-firmware skips that.

Health is "failing" when the drive predicts its own failure (ATA SMART status failing or
an attribute at its threshold, an NVMe critical warning, a SCSI failure prediction),
"warning" when it has reallocated, pending or uncorrectable sectors, media or
uncorrected errors, or has used 90% or more of its rated life (NVMe), "ok" otherwise,
and "unavailable" with the reason when the drive could not be asked.

With --output json the list is {"devices": [...]} and a single device is one object;
field names are stable.

` + exitCodeHelp,
		Args: argsUsage(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInventory(cmd.Context(), opts, g, args)
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

func runInventory(ctx context.Context, opts inventoryOptions, g *globalOptions, args []string) error {
	scanOpts := inventory.Options{Root: g.SysRoot, Logger: logging.Slog(g.log), ProbeFirmware: !opts.NoFirmware}
	if len(args) == 1 {
		if opts.WipeableOnly {
			return usageErrorf("--wipeable lists drives; it does not combine with a DEVICE")
		}
		d, err := inventory.Lookup(ctx, scanOpts, args[0])
		if err != nil {
			return err
		}
		if g.Output == outputJSON {
			return writeJSON(g.stdout, d)
		}
		return writeDeviceDetail(g.stdout, d)
	}
	devs, err := inventory.Scan(ctx, scanOpts)
	if err != nil {
		return err
	}
	if opts.WipeableOnly {
		kept := devs[:0]
		for _, d := range devs {
			if d.Wipeable {
				kept = append(kept, d)
			}
		}
		devs = kept
	}
	if g.Output == outputJSON {
		return writeJSON(g.stdout, struct {
			Devices []inventory.Device `json:"devices"`
		}{devs})
	}
	return writeDeviceTable(g.stdout, devs)
}

func writeDeviceTable(w io.Writer, devs []inventory.Device) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DEVICE\tSIZE\tTRANSPORT\tMEDIA\tMODEL\tSERIAL\tHEALTH\tCONTENT\tSTATUS")
	for _, d := range devs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Path, humanSize(d.SizeBytes), d.Transport, d.Media,
			dash(d.Model), dash(d.Serial), dash(d.Health.Summary()), dash(content(d)), status(d))
	}
	return tw.Flush()
}

func writeDeviceDetail(w io.Writer, d inventory.Device) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, dash(v)) }
	row("Device:", d.Path)
	row("Status:", status(d))
	row("Model:", d.Model)
	row("Vendor:", d.Vendor)
	row("Serial:", d.Serial)
	row("WWN:", d.WWN)
	row("Firmware:", d.Firmware)
	row("Size:", fmt.Sprintf("%s (%d bytes)", humanSize(d.SizeBytes), d.SizeBytes))
	row("Sectors:", fmt.Sprintf("%d logical, %d physical", d.LogicalSectorSize, d.PhysicalSectorSize))
	row("Transport:", d.Transport)
	row("Media:", d.Media)
	row("Flags:", flags(d))
	row("Kernel device:", d.DevNo+" "+d.SysPath)
	if d.BackingFile != "" {
		row("Backing file:", d.BackingFile)
	}
	if c := d.Capabilities; c != nil {
		row("Firmware sanitize:", firmwareSummary(c))
	}
	if st := d.SecurityState; st != nil && st.Supported {
		row("ATA security:", securitySummary(st))
	}
	if d.Capabilities != nil {
		row("Hidden areas:", d.HiddenAreas())
	}
	if h := d.Health; h != nil {
		row("Health:", h.Summary())
		if r := healthReadings(h); r != "" {
			row("", r)
		}
	}
	row("Partition table:", d.PartitionTable)
	if d.Filesystem != "" {
		row("Filesystem:", d.Filesystem)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(d.Partitions) > 0 {
		fmt.Fprintln(w, "\nPartitions:")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  #\tDEVICE\tSTART\tSIZE\tTYPE\tLABEL\tFILESYSTEM")
		for _, p := range d.Partitions {
			fmt.Fprintf(tw, "  %d\t%s\t%d\t%s\t%s\t%s\t%s\n", p.Number, p.Path, p.Start, humanSize(p.Size),
				dash(p.Type), dash(p.Label), dash(p.Filesystem))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(d.Mounts) > 0 {
		fmt.Fprintln(w, "\nMounted:")
		for _, m := range d.Mounts {
			fmt.Fprintf(w, "  %s on %s (%s)\n", m.Device, m.MountPoint, m.FSType)
		}
	}
	if len(d.Holders) > 0 {
		fmt.Fprintf(w, "\nHolders: %s\n", strings.Join(d.Holders, ", "))
	}
	if len(d.Refusals) > 0 {
		fmt.Fprintln(w, "\nNot wipeable because:")
		for _, r := range d.Refusals {
			fmt.Fprintf(w, "  - %s\n", r)
		}
	}
	return nil
}

// status is the one-word verdict plus the first reason.
func status(d inventory.Device) string {
	switch {
	case d.Wipeable:
		return "wipeable"
	case len(d.Refusals) > 1:
		return fmt.Sprintf("refused: %s (+%d more)", d.Refusals[0], len(d.Refusals)-1)
	case len(d.Refusals) == 1:
		return "refused: " + d.Refusals[0]
	}
	return "refused"
}

// content summarises what is on the drive.
func content(d inventory.Device) string {
	switch {
	case len(d.Partitions) > 0:
		var fss []string
		for _, p := range d.Partitions {
			if p.Filesystem != "" {
				fss = append(fss, p.Filesystem)
			}
		}
		s := fmt.Sprintf("%s, %d part.", d.PartitionTable, len(d.Partitions))
		if len(fss) > 0 {
			s += " (" + strings.Join(fss, ",") + ")"
		}
		return strings.TrimPrefix(s, ", ")
	case d.Filesystem != "":
		return d.Filesystem
	case d.PartitionTable != "" && d.PartitionTable != inventory.TableNone:
		return d.PartitionTable + ", empty"
	}
	return ""
}

func flags(d inventory.Device) string {
	var f []string
	if d.Rotational {
		f = append(f, "rotational")
	}
	if d.Removable {
		f = append(f, "removable")
	}
	if d.ReadOnly {
		f = append(f, "read-only")
	}
	return strings.Join(f, ", ")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// humanSize renders bytes in binary units with one decimal ("931.5 GiB").
func humanSize(b uint64) string { return humanize.Bytes(b) }

// firmwareSummary lists what the drive's firmware offers to sanitize it.
func firmwareSummary(c *inventory.Capabilities) string {
	if !c.Probed {
		return "unknown: " + c.ProbeError
	}
	var out []string
	modes := func(prefix string, m *inventory.SanitizeModes) {
		if m == nil {
			return
		}
		var ms []string
		for _, x := range []struct {
			on   bool
			name string
		}{{m.CryptoErase, "crypto"}, {m.BlockErase, "block"}, {m.Overwrite, "overwrite"}} {
			if x.on {
				ms = append(ms, x.name)
			}
		}
		out = append(out, prefix+" ("+strings.Join(ms, ", ")+")")
	}
	if e := c.ATASecurityErase; e != nil {
		s := "ATA security erase"
		if e.Enhanced {
			s += " (normal, enhanced"
		} else {
			s += " (normal"
		}
		if e.EnhancedMinutes > 0 {
			s += fmt.Sprintf(", ~%d min", e.EnhancedMinutes)
		} else if e.NormalMinutes > 0 {
			s += fmt.Sprintf(", ~%d min", e.NormalMinutes)
		}
		out = append(out, s+")")
	}
	modes("ATA sanitize", c.ATASanitize)
	if f := c.NVMeFormat; f != nil {
		s := "NVMe format (user-data erase"
		if f.CryptoErase {
			s += ", crypto erase"
		}
		out = append(out, s+")")
	}
	modes("NVMe sanitize", c.NVMeSanitize)
	modes("SCSI sanitize", c.SCSISanitize)
	if c.SecureDiscard {
		out = append(out, "secure discard")
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, "; ")
}

// healthReadings is the health's main readings on one line.
func healthReadings(h *inventory.Health) string {
	var r []string
	if h.PowerOnHours != nil {
		r = append(r, fmt.Sprintf("%d power-on hours", *h.PowerOnHours))
	}
	if h.PowerCycles != nil {
		r = append(r, fmt.Sprintf("%d power cycles", *h.PowerCycles))
	}
	if h.TemperatureCelsius != nil {
		r = append(r, fmt.Sprintf("%d °C", *h.TemperatureCelsius))
	}
	if n := h.NVMe; n != nil {
		r = append(r, fmt.Sprintf("%d%% used, spare %d%% (threshold %d%%), %s media errors, %s unsafe shutdowns",
			n.PercentageUsed, n.AvailableSpare, n.AvailableSpareThreshold, n.MediaErrors, n.UnsafeShutdowns))
	}
	if a := h.ATA; a != nil {
		r = append(r, "SMART "+a.SMARTStatus)
	}
	return strings.Join(r, ", ")
}

func securitySummary(st *inventory.SecurityState) string {
	var f []string
	for _, x := range []struct {
		on   bool
		name string
	}{{st.Enabled, "enabled"}, {st.Locked, "locked"}, {st.Frozen, "frozen"}, {st.CountExpired, "attempts exhausted"}} {
		if x.on {
			f = append(f, x.name)
		}
	}
	if len(f) == 0 {
		return "not enabled, not frozen"
	}
	return strings.Join(f, ", ")
}
