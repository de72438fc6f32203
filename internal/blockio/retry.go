package blockio

import (
	"context"
	"fmt"
)

// Range is a span of a device, in bytes.
type Range struct {
	Offset, Length int64
}

// Retry says how the writer and the verifier treat a request that fails: it is
// tried again, whole, Retries times; if it still fails it is narrowed down by
// halves to the sectors that fail, each of which is tried once more, alone. The
// good sectors around a bad one are thereby done, and the bad ones listed.
type Retry struct {
	// Op names the request, "read" or "write", in the error of a vanished device.
	Op string
	// Sector is the size narrowing stops at, the device's logical sector size
	// (512 when 0).
	Sector int64
	// Retries is how often a failed request is tried again before it is narrowed
	// down.
	Retries int
	// Final, when not nil, reports an error to return as it is, at once, neither
	// retried nor narrowed (a request nobody waits for any more, say).
	Final func(error) bool
	// Narrowing, when not nil, is called once a request has failed Retries+1 times,
	// before it is narrowed down, with its last error.
	Narrowing func(off, length int64, err error)
	// Bad, when not nil, is called with each bad sector as it is found, in order of
	// offset, and the error it failed with. An error it returns ends the narrowing
	// with that error (too many bad sectors: the device is failing).
	Bad func(r Range, err error) error
}

// Do runs op over [off, off+length), retrying and narrowing as r says. op does the
// request for one range: all of it, or an error. Do returns the bytes op did, and
// the bad sectors, adjacent ones joined, in order. It ends early with an error when
// ctx is done (before a retry or a narrowed request; ctx's error), the device is gone
// (an error that Vanished reports, wrapped: "the device is gone (write at offset
// …)"), Final says so (that error), or Bad returns one; what was done and found until
// then is returned with it.
//
// A request that succeeds at once costs one call of op and no allocation.
func (r Retry) Do(ctx context.Context, off, length int64, op func(off, length int64) error) (done int64, bad []Range, err error) {
	var failed error
	for range r.Retries + 1 {
		if failed = op(off, length); failed == nil {
			return length, nil, nil
		}
		if err := r.final(off, failed); err != nil {
			return 0, nil, err
		}
		if err := ctx.Err(); err != nil {
			return 0, nil, err
		}
	}
	if r.Narrowing != nil {
		r.Narrowing(off, length, failed)
	}
	return r.narrow(ctx, off, length, op, nil)
}

// final returns the error a failure ends with at once, or nil to go on.
func (r Retry) final(off int64, err error) error {
	switch {
	case r.Final != nil && r.Final(err):
		return err
	case Vanished(err):
		return fmt.Errorf("the device is gone (%s at offset %d: %w)", r.Op, off, err)
	}
	return nil
}

// narrow does [off, off+length) in halves, down to single sectors, and appends
// what fails to bad.
func (r Retry) narrow(ctx context.Context, off, length int64, op func(off, length int64) error, bad []Range) (int64, []Range, error) {
	if err := ctx.Err(); err != nil {
		return 0, bad, err
	}
	sector := r.Sector
	if sector <= 0 {
		sector = 512
	}
	if length <= sector {
		err := op(off, length)
		if err == nil {
			return length, bad, nil
		}
		if err := r.final(off, err); err != nil {
			return 0, bad, err
		}
		if n := len(bad); n > 0 && bad[n-1].Offset+bad[n-1].Length == off {
			bad[n-1].Length += length
		} else {
			bad = append(bad, Range{off, length})
		}
		if r.Bad != nil {
			return 0, bad, r.Bad(Range{off, length}, err)
		}
		return 0, bad, nil
	}
	half := max(length/2/sector*sector, sector)
	a, bad, err := r.narrow(ctx, off, half, op, bad)
	if err != nil {
		return a, bad, err
	}
	b, bad, err := r.narrow(ctx, off+half, length-half, op, bad)
	return a + b, bad, err
}
