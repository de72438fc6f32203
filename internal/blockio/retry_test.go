package blockio

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// fakeDevice fails requests that touch its bad ranges with EIO, and fails the first
// transient requests it gets whatever they touch; it counts its requests and keeps
// the ranges it did.
type fakeDevice struct {
	bad       []Range
	transient int
	vanishAt  int // the request (from 1) from which it answers ENODEV; 0 never
	calls     int
	done      []Range
	onCall    func(call int)
}

func (d *fakeDevice) op(off, n int64) error {
	d.calls++
	if d.onCall != nil {
		d.onCall(d.calls)
	}
	if d.vanishAt > 0 && d.calls >= d.vanishAt {
		return unix.ENODEV
	}
	if d.transient > 0 {
		d.transient--
		return unix.EIO
	}
	for _, b := range d.bad {
		if off < b.Offset+b.Length && b.Offset < off+n {
			return fmt.Errorf("write at %d: %w", off, unix.EIO)
		}
	}
	d.done = append(d.done, Range{off, n})
	return nil
}

func sum(rs []Range) (n int64) {
	for _, r := range rs {
		n += r.Length
	}
	return n
}

// Bad sectors at known offsets are found exactly, adjacent ones joined; everything
// around them is done, once.
func TestRetryFindsBadSectors(t *testing.T) {
	const length = 1 << 20
	bad := []Range{{0, 512}, {4096, 1024}, {600 << 10, 512}, {length - 512, 512}}
	d := &fakeDevice{bad: bad}
	var reported []Range
	narrowed := 0
	r := Retry{Op: "write", Sector: 512, Retries: 2,
		Narrowing: func(off, n int64, err error) {
			narrowed++
			if off != 0 || n != length || !errors.Is(err, unix.EIO) {
				t.Errorf("narrowing %d+%d after %v", off, n, err)
			}
		},
		Bad: func(r Range, err error) error {
			if !errors.Is(err, unix.EIO) {
				t.Errorf("bad sector %+v with %v", r, err)
			}
			reported = append(reported, r)
			return nil
		}}
	done, got, err := r.Do(context.Background(), 0, length, d.op)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, bad) {
		t.Errorf("bad ranges %+v, want %+v", got, bad)
	}
	if done != length-sum(bad) || sum(d.done) != done {
		t.Errorf("done %d, the device did %d, want %d", done, sum(d.done), length-sum(bad))
	}
	// Reported sector by sector, in order: the 1024 bytes at 4096 are two.
	want := []Range{{0, 512}, {4096, 512}, {4608, 512}, {600 << 10, 512}, {length - 512, 512}}
	if !slices.Equal(reported, want) || narrowed != 1 {
		t.Errorf("reported %+v, narrowed %d times; want %+v, once", reported, narrowed, want)
	}
	// Nothing done twice, nothing bad done.
	slices.SortFunc(d.done, func(a, b Range) int { return int(a.Offset - b.Offset) })
	for i := 1; i < len(d.done); i++ {
		if d.done[i-1].Offset+d.done[i-1].Length > d.done[i].Offset {
			t.Fatalf("done twice: %+v and %+v", d.done[i-1], d.done[i])
		}
	}
}

// A request at an offset that is not the device's start, with a length that is not a
// multiple of the sector (an image file's last bytes), narrows to the same grid.
func TestRetryNarrowsAnUnalignedTail(t *testing.T) {
	d := &fakeDevice{bad: []Range{{8<<20 + 1024, 1}}}
	done, bad, err := Retry{Sector: 512}.Do(context.Background(), 8<<20, 2048+100, d.op)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Range{{8<<20 + 1024, 512}}; !slices.Equal(bad, want) || done != 2048+100-512 {
		t.Errorf("bad %+v done %d, want %+v and %d", bad, done, want, 2048+100-512)
	}
	if last := d.done[len(d.done)-1]; last != (Range{8<<20 + 2048, 100}) {
		t.Errorf("the tail was done as %+v", last)
	}
}

// A request that fails fewer times than it is retried succeeds whole: nothing is
// narrowed, nothing is bad. One more failure and it is narrowed.
func TestRetryTransientFailures(t *testing.T) {
	for _, tc := range []struct {
		retries, transient int
		narrowed           bool
	}{{2, 0, false}, {2, 1, false}, {2, 2, false}, {2, 3, true}, {0, 1, true}} {
		d := &fakeDevice{transient: tc.transient}
		narrowed := false
		r := Retry{Retries: tc.retries, Narrowing: func(int64, int64, error) { narrowed = true }}
		done, bad, err := r.Do(context.Background(), 0, 64<<10, d.op)
		if err != nil || done != 64<<10 || len(bad) != 0 || narrowed != tc.narrowed {
			t.Errorf("%d retries, %d failures: done %d bad %+v narrowed %v err %v", tc.retries, tc.transient, done, bad, narrowed, err)
		}
		if want := min(tc.transient, tc.retries+1) + 1; !tc.narrowed && d.calls != want {
			t.Errorf("%d retries, %d failures: %d calls, want %d", tc.retries, tc.transient, d.calls, want)
		}
	}
}

// A range bad throughout is one bad range; Bad stopping it ends it at once.
func TestRetryWholeRangeBad(t *testing.T) {
	const length = 64 << 10
	d := &fakeDevice{bad: []Range{{0, length}}}
	done, bad, err := Retry{Retries: 1}.Do(context.Background(), 0, length, d.op)
	if err != nil || done != 0 || !slices.Equal(bad, []Range{{0, length}}) {
		t.Errorf("done %d bad %+v err %v", done, bad, err)
	}

	tooMany := errors.New("too many bad sectors")
	d = &fakeDevice{bad: []Range{{0, length}}}
	n := 0
	r := Retry{Bad: func(Range, error) error {
		if n++; n > 3 {
			return tooMany
		}
		return nil
	}}
	_, bad, err = r.Do(context.Background(), 0, length, d.op)
	if !errors.Is(err, tooMany) || !slices.Equal(bad, []Range{{0, 4 * 512}}) {
		t.Errorf("stopped by Bad: bad %+v err %v", bad, err)
	}
}

// A vanished device ends at once, whether in the retries or in the narrowing, with
// the offset that failed; Final errors are returned as they are.
func TestRetryStopsWhenTheDeviceIsGone(t *testing.T) {
	d := &fakeDevice{vanishAt: 1}
	_, _, err := Retry{Op: "read", Retries: 5}.Do(context.Background(), 4096, 8192, d.op)
	if !errors.Is(err, unix.ENODEV) || !strings.Contains(err.Error(), "the device is gone (read at offset 4096: ") || d.calls != 1 {
		t.Errorf("after %d calls: %v", d.calls, err)
	}

	// Bad from 0; gone in the narrowing, which asks sector by sector, at the sixth
	// request (after 3 tries of the whole, 0+512 and 512+512): the one at 1024.
	d = &fakeDevice{bad: []Range{{0, 8192}}, vanishAt: 6}
	_, _, err = Retry{Op: "write", Retries: 2}.Do(context.Background(), 0, 8192, d.op)
	if !errors.Is(err, unix.ENODEV) || !strings.Contains(err.Error(), "write at offset 1024:") || d.calls != 6 {
		t.Errorf("after %d calls: %v", d.calls, err)
	}

	stop := errors.New("nobody waits for this any more")
	calls := 0
	_, _, err = Retry{Retries: 3, Final: func(err error) bool { return err == stop }}.Do(context.Background(), 0, 4096,
		func(int64, int64) error { calls++; return stop })
	if err != stop || calls != 1 {
		t.Errorf("final: %v after %d calls", err, calls)
	}
}

// A cancelled context ends the retries and the narrowing at the next request, with
// what was done and found until then.
func TestRetryCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	d := &fakeDevice{transient: 100, onCall: func(int) { cancel() }}
	_, _, err := Retry{Retries: 5}.Do(ctx, 0, 4096, d.op)
	if !errors.Is(err, context.Canceled) || d.calls != 1 {
		t.Errorf("cancelled in the retries: %v after %d calls", err, d.calls)
	}

	ctx, cancel = context.WithCancel(context.Background())
	const length = 64 << 10
	// Bad sector at 0; cancelled during the narrowing's fourth request (it asks
	// sector by sector, after the 3 tries of the whole: 0 bad, 512, 1024, 1536),
	// which completes.
	d = &fakeDevice{bad: []Range{{0, 512}}}
	d.onCall = func(call int) {
		if call == 3+4 {
			cancel()
		}
	}
	done, bad, err := Retry{Retries: 2}.Do(ctx, 0, length, d.op)
	if !errors.Is(err, context.Canceled) || d.calls != 7 {
		t.Fatalf("cancelled in the narrowing: %v after %d calls", err, d.calls)
	}
	if !slices.Equal(bad, []Range{{0, 512}}) || done != 3*512 || sum(d.done) != done {
		t.Errorf("bad %+v, done %d (the device did %d), want 1536", bad, done, sum(d.done))
	}
}

// The write and read loops call Do for every block: one that succeeds allocates
// nothing.
func TestRetryAllocatesNothingOnSuccess(t *testing.T) {
	r := Retry{Op: "write", Sector: 512, Retries: 2, Final: func(err error) bool { return false },
		Bad: func(Range, error) error { return nil }}
	buf := make([]byte, 1<<20)
	var total int64
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() {
		done, _, _ := r.Do(ctx, 1<<20, int64(len(buf)), func(off, n int64) error {
			total += int64(len(buf[:n])) + off
			return nil
		})
		total += done
	}); n != 0 {
		t.Errorf("%v allocations per successful request", n)
	}
}
