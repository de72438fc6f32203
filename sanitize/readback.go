package sanitize

import (
	"context"
	"fmt"

	"github.com/decom-project/decom/verify"
	"github.com/decom-project/decom/wipe"
)

// VerifyNone is the verification mode that reads nothing back.
const VerifyNone = "none"

// verifyDevice reads back what a pass left on an opened wipe target, through a
// read-only descriptor of the same device.
func verifyDevice(ctx context.Context, dev *wipe.Handle, pr wipe.PassRecord, opts verify.Options) verify.Result {
	failed := func(err error) verify.Result {
		return verify.Result{Mode: opts.Mode, Pass: pr.Number, Outcome: verify.OutcomeFailed, Error: err.Error(),
			Mismatches: []verify.Mismatch{}, ReadErrors: []wipe.Range{}}
	}
	exp, err := verify.ExpectPass(pr.Pattern, pr.Keys)
	if err != nil {
		return failed(err)
	}
	rd, err := verify.Open(dev.ReadPath())
	if err != nil {
		return failed(fmt.Errorf("open for reading back: %w", err))
	}
	id := dev.Target.Identity
	if rd.DevNo != id.DevNo || (dev.Target.Kind == wipe.KindFile && rd.Inode != uint64(id.Inode)) {
		rd.Close()
		return failed(fmt.Errorf("reading back: the device read is not the device written"))
	}
	// What the wipe could not write is its recorded exception, not a verification failure.
	opts.Exclude = pr.BadRanges
	opts.StallDevice, opts.StallPass = dev.Target.Path, pr.Number
	res := verify.Run(ctx, rd.Target(), exp, opts)
	res.Pass = pr.Number
	if len(res.PendingIO) == 0 {
		rd.Close() // else a read the kernel never returned still uses it: left open
	}
	return res
}
