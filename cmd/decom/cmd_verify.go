package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/decom-project/decom/internal/jsonint"
	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/verify"
	"github.com/decom-project/decom/wipe"
)

type verifyOptions struct {
	Expect     string
	Record     string
	Coverage   string
	Seed       string
	BlockSize  string
	QueueDepth int
	Mismatches int
}

func (o *verifyOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.Expect, "expect", "", "what the device should hold: zero, one, 0xNN (1 to 8 bytes, repeated) or a pattern file")
	f.StringVar(&o.Record, "record", "", "a wipe record (decom wipe --output json) whose last pass the device should hold; verifies random passes")
	f.StringVar(&o.Coverage, "coverage", "10%", "share of the device to sample, or full")
	f.StringVar(&o.Seed, "seed", "", "sampling seed, to read the same blocks as a recorded verification")
	f.StringVar(&o.BlockSize, "block-size", "1MiB", "read size (and the largest sampled block)")
	f.IntVar(&o.QueueDepth, "queue-depth", 8, "reads in flight")
	f.IntVar(&o.Mismatches, "mismatches", 16, "how many mismatches to describe")
}

func newVerifyCommand(g *globalOptions) *cobra.Command {
	var opts verifyOptions
	cmd := &cobra.Command{
		Use:   "verify DEVICE",
		Short: "Read a drive or image back and check what it holds",
		Long: `Reads a drive, partition or image file and checks that it holds what is expected: a
fixed pattern (--expect), or the last pass of a wipe record (--record), random passes
included: their keystream is regenerated from the record's key.

By default a NIST-style sample is read: the device is split into at least 1,000 equal
subsections, at least two pseudo-random blocks are read in each, plus the first and the
last blocks, --coverage of the device in all. The seed is printed; --seed repeats the
same sample exactly (with the same --coverage and --block-size). --coverage full reads
every byte.

The device is opened read-only and nothing is written, so no confirmation is asked and
mounted devices are not refused. Any mismatch or unreadable block fails (exit code 6).

` + exitCodeHelp,
		Args: argsUsage(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVerify(cmd.Context(), opts, g, args[0])
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

// verifyReport is decom verify's JSON output.
type verifyReport struct {
	Device string `json:"device"`
	verify.Result
}

func runVerify(ctx context.Context, opts verifyOptions, g *globalOptions, path string) error {
	exp, err := opts.expectation()
	if err != nil {
		return err
	}
	vo, err := opts.options()
	if err != nil {
		return err
	}
	dev, err := verify.Open(path)
	if err != nil {
		return err
	}
	defer dev.Close()
	g.log.Info().Str("device", path).Str("mode", vo.Mode).Str("expected", exp.Description).Msg("verification started")
	res := verify.Run(ctx, dev.Target(), exp, vo)
	if g.Output == outputJSON {
		if err := writeJSON(g.stdout, verifyReport{Device: path, Result: res}); err != nil {
			return err
		}
	} else if err := writeVerifyReport(g, path, res); err != nil {
		return err
	}
	switch res.Outcome {
	case verify.OutcomePassed:
		return nil
	case verify.OutcomeAborted:
		return fmt.Errorf("verification %w", context.Canceled)
	}
	return fmt.Errorf("%w: %s: %s", sanitize.ErrVerifyFailed, path, res.Error)
}

func (o verifyOptions) expectation() (verify.Expectation, error) {
	switch {
	case o.Expect != "" && o.Record != "":
		return verify.Expectation{}, usageErrorf("--expect and --record do not combine")
	case o.Record != "":
		pr, err := lastPass(o.Record)
		if err != nil {
			return verify.Expectation{}, err
		}
		return verify.ExpectPass(pr.Pattern, pr.Keys)
	case o.Expect != "":
		exp, err := verify.ParseExpect(o.Expect)
		if err != nil {
			return verify.Expectation{}, usageErrorf("--expect: %v", err)
		}
		return exp, nil
	}
	return verify.Expectation{}, usageErrorf("say what the device should hold: --expect or --record")
}

func (o verifyOptions) options() (verify.Options, error) {
	mode, share, err := parseCoverage(o.Coverage)
	if err != nil {
		return verify.Options{}, err
	}
	bs, err := parseSize(o.BlockSize)
	if err != nil {
		return verify.Options{}, usageErrorf("--block-size: %v", err)
	}
	vo := verify.Options{Mode: mode, Coverage: share, BlockSize: int(bs), QueueDepth: o.QueueDepth,
		MaxMismatches: o.Mismatches, ProgressInterval: time.Second}
	if o.Seed != "" {
		if mode == verify.ModeFull {
			return vo, usageErrorf("--seed selects a sample; it does not combine with --coverage full")
		}
		// A seed copied from decom's JSON may keep its quotes: seeds are JSON strings.
		seed, err := jsonint.Parse(strings.Trim(o.Seed, `"`))
		if err != nil || seed == 0 {
			return vo, usageErrorf("--seed %q: want a positive whole number", o.Seed)
		}
		vo.Seed = seed
	}
	if o.Mismatches < 1 {
		return vo, usageErrorf("--mismatches must be at least 1")
	}
	if err := vo.Validate(); err != nil {
		return vo, usageErrorf("%v", err)
	}
	return vo, nil
}

// lastPass reads a wipe record — decom wipe's JSON lines, or one record object — and
// returns the last pass that completed: what the device should hold now.
func lastPass(path string) (wipe.PassRecord, error) {
	f, err := os.Open(path)
	if err != nil {
		return wipe.PassRecord{}, usageErrorf("--record: %v", err)
	}
	defer f.Close()
	var rec *wipe.Record
	dec := json.NewDecoder(bufio.NewReader(f))
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			break
		}
		var head struct {
			Type string `json:"type"`
		}
		if err == nil {
			err = json.Unmarshal(raw, &head)
		}
		if err != nil {
			return wipe.PassRecord{}, usageErrorf("--record %s: not a decom wipe record: %v", path, err)
		}
		if head.Type != "record" && head.Type != "" {
			continue // plan and progress lines
		}
		var r wipe.Record
		if err := json.Unmarshal(raw, &r); err != nil {
			return wipe.PassRecord{}, usageErrorf("--record %s: not a decom wipe record: %v", path, err)
		}
		rec = &r
	}
	if rec == nil {
		return wipe.PassRecord{}, usageErrorf("--record %s: holds no wipe record", path)
	}
	for i := len(rec.Passes) - 1; i >= 0; i-- {
		if rec.Passes[i].Completed {
			return rec.Passes[i], nil
		}
	}
	return wipe.PassRecord{}, usageErrorf("--record %s: no pass of the wipe of %s completed", path, rec.Device)
}

func writeVerifyReport(g *globalOptions, path string, r verify.Result) error {
	tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("Device:", path)
	row("Expected:", r.Expected)
	if r.Mode == verify.ModeSample {
		row("Mode:", fmt.Sprintf("sample, %d subsections, blocks of %s", r.Subsections, humanSize(uint64(r.SampleBlockSize))))
		row("Seed:", r.Seed.String())
		row("Locations:", "sha256 "+r.LocationsDigest)
	} else {
		row("Mode:", "full")
	}
	row("Read:", fmt.Sprintf("%s in %d blocks (%.2f%% of %s)", humanSize(uint64(r.BytesRead)), r.BlocksRead,
		100*r.Coverage, humanSize(uint64(r.SizeBytes))))
	row("Mismatches:", fmt.Sprintf("%d bytes in %d blocks", r.MismatchedBytes, r.MismatchedBlocks))
	row("Read errors:", fmt.Sprintf("%d ranges", len(r.ReadErrors)))
	result := "PASSED: the device holds what was expected at every location read"
	if !r.Verified {
		result = "FAILED: " + r.Error
	}
	row("Result:", result)
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, m := range r.Mismatches {
		fmt.Fprintf(g.stdout, "  at %d: expected %s, found %s\n", m.Offset, m.Expected, m.Found)
	}
	for _, e := range r.ReadErrors {
		fmt.Fprintf(g.stdout, "  unreadable: %d bytes at %d\n", e.Length, e.Offset)
	}
	return nil
}
