package faultfs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/decom-project/decom/internal/loopdev"
	"golang.org/x/sys/unix"
)

const (
	MiB = 1 << 20
	KiB = 1 << 10

	diskSize = 64 * MiB
	badWrite = 8 * MiB  // a write fault of 64 KiB starts here
	badRead  = 16 * MiB // a read fault of 4 KiB starts here
)

var faults = []Range{
	{Off: badWrite, Len: 64 * KiB, Ops: Write},
	{Off: badRead, Len: 4 * KiB, Ops: Read},
}

// TestLoop checks the faults through a loop device in its default mode (direct I/O
// off: the loop driver reads and writes the FUSE file through the page cache, which
// the FUSE file's FOPEN_DIRECT_IO bypasses).
func TestLoop(t *testing.T) {
	d, l, reqs := setup(t)
	checkFaults(t, d, l, reqs)
}

// TestLoopDirectIO checks the same with the loop device switched to direct I/O
// (losetup --direct-io=on).
func TestLoopDirectIO(t *testing.T) {
	d, l, reqs := setup(t)
	if out, err := exec.Command("losetup", "--direct-io=on", l.Path).CombinedOutput(); err != nil {
		t.Fatalf("losetup --direct-io=on %s: %v: %s", l.Path, err, out)
	}
	if dio := sysfs(t, l, "loop/dio"); dio != "1" {
		t.Fatalf("%s: dio is %q after losetup --direct-io=on", l.Path, dio)
	}
	checkFaults(t, d, l, reqs)
}

// TestBufferedWrite shows where the error surfaces when the caller writes to the loop
// device through its page cache: at fsync, not at the write.
func TestBufferedWrite(t *testing.T) {
	d, l, _ := setup(t)
	f, err := os.OpenFile(l.Path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := pattern(make([]byte, MiB), badWrite-512*KiB, 1)
	if _, err := f.WriteAt(buf, badWrite-512*KiB); err != nil {
		t.Logf("buffered write over the bad range failed at the write: %v", err)
	}
	err = f.Sync()
	if !errors.Is(err, unix.EIO) {
		t.Fatalf("fsync after a buffered write over the bad range: got %v, want EIO", err)
	}
	t.Logf("buffered write: fsync failed with %v; failed requests: %v", err, d.Hits())
}

func TestSetFaultsValidates(t *testing.T) {
	d := &Disk{}
	for _, r := range []Range{{Off: 0, Len: 0, Ops: Write}, {Off: -1, Len: 1, Ops: Read}, {Off: 0, Len: 1}, {Off: 0, Len: 1, Ops: 4}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("SetFaults(%v) did not panic", r)
				}
			}()
			d.SetFaults(r)
		}()
	}
	d.SetFaults(Range{Off: 0, Len: 1, Ops: ReadWrite})
	if !d.fail(Read, 0, 512) || !d.fail(Write, 0, 512) || d.fail(Write, 1, 512) {
		t.Errorf("ReadWrite fault at [0, 1) not applied as expected; hits %v", d.Hits())
	}
}

// requests collects every request the disk receives.
type requests struct {
	mu   sync.Mutex
	list []Range
}

func (r *requests) add(x Range) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, x)
}

// take returns the requests received since the last call.
func (r *requests) take() []Range {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.list
	r.list = nil
	return l
}

// setup mounts a faulty disk and attaches a loop device over it, detached when the
// test ends (before the disk is unmounted: cleanups run last-in first-out).
func setup(t *testing.T) (*Disk, *loopdev.Loop, *requests) {
	loopdev.Require(t)
	d := Mount(t, diskSize, faults...)
	reqs := &requests{}
	d.mu.Lock()
	d.observe = reqs.add
	d.mu.Unlock()
	l, err := loopdev.Attach(d.Path(), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Detach(); err != nil {
			t.Errorf("detach %s: %v", l.Path, err)
		}
	})
	t.Logf("%s over %s: dio=%s max_sectors_kb=%s max_segments=%s max_segment_size=%s logical_block_size=%s", l.Path, d.Path(),
		sysfs(t, l, "loop/dio"), sysfs(t, l, "queue/max_sectors_kb"), sysfs(t, l, "queue/max_segments"),
		sysfs(t, l, "queue/max_segment_size"), sysfs(t, l, "queue/logical_block_size"))
	return d, l, reqs
}

func checkFaults(t *testing.T, d *Disk, l *loopdev.Loop, reqs *requests) {
	w, err := os.OpenFile(l.Path, os.O_WRONLY|unix.O_DIRECT, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r, err := os.OpenFile(l.Path, os.O_RDONLY|unix.O_DIRECT, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	buf := aligned(MiB)
	reqs.take() // whatever losetup or the kernel read while attaching

	// Good writes land in the backing file.
	for _, off := range []int64{0, 32 * MiB, diskSize - MiB} {
		pattern(buf, off, 1)
		if _, err := w.WriteAt(buf, off); err != nil {
			t.Fatalf("write 1 MiB at %d: %v", off, err)
		}
		wantBacking(t, d, off, buf)
	}
	t.Logf("a good 1 MiB O_DIRECT write reached the disk as %v", sizes(reqs.take()))

	// A write over the bad range fails with EIO.
	off := int64(badWrite - 512*KiB)
	pattern(buf, off, 2)
	_, err = w.WriteAt(buf, off)
	if !errors.Is(err, unix.EIO) {
		t.Fatalf("write 1 MiB at %d over the bad range: got %v, want EIO", off, err)
	}
	hits := d.Hits()
	if len(hits) == 0 {
		t.Fatal("the failed write left no hit")
	}
	for _, h := range hits {
		if h.Ops != Write || h.Off >= badWrite+64*KiB || h.Off+h.Len <= badWrite {
			t.Errorf("hit %v does not overlap the write fault", h)
		}
	}
	t.Logf("a 1 MiB O_DIRECT write over the bad range failed with %v; requests %v; failed %v; %s",
		err, sizes(reqs.take()), hits, landed(t, d, off, buf))

	// Smaller writes: around the bad range they succeed, on it they fail.
	small := buf[:64*KiB]
	for _, c := range []struct {
		off  int64
		fail bool
	}{
		{badWrite - 64*KiB, false},
		{badWrite, true},
		{badWrite + 60*KiB, true},
		{badWrite + 64*KiB, false},
	} {
		pattern(small, c.off, 3)
		_, err := w.WriteAt(small, c.off)
		if c.fail != (err != nil) || (c.fail && !errors.Is(err, unix.EIO)) {
			t.Errorf("write 64 KiB at %d: got %v, want failure %v (EIO)", c.off, err, c.fail)
		}
		if !c.fail {
			wantBacking(t, d, c.off, small)
		}
	}

	// A read of the bad read range fails with EIO; reads elsewhere succeed and return
	// what was written.
	page := buf[:4*KiB]
	if _, err := r.ReadAt(page, badRead); !errors.Is(err, unix.EIO) {
		t.Errorf("read 4 KiB at %d: got %v, want EIO", badRead, err)
	}
	if _, err := r.ReadAt(buf, badRead-512*KiB); !errors.Is(err, unix.EIO) {
		t.Errorf("read 1 MiB at %d over the bad range: got %v, want EIO", badRead-512*KiB, err)
	}
	reqs.take()
	for _, off := range []int64{0, 32 * MiB, diskSize - MiB} {
		if _, err := r.ReadAt(buf, off); err != nil {
			t.Fatalf("read 1 MiB at %d: %v", off, err)
		}
		if want := pattern(make([]byte, MiB), off, 1); !bytes.Equal(buf, want) {
			t.Errorf("read 1 MiB at %d: data differs from what was written", off)
		}
	}
	t.Logf("a good 1 MiB O_DIRECT read reached the disk as %v", sizes(reqs.take()))
	if _, err := r.ReadAt(page, badRead+4*KiB); err != nil {
		t.Errorf("read 4 KiB after the bad range: %v", err)
	}
	if _, err := r.ReadAt(page, badRead-4*KiB); err != nil {
		t.Errorf("read 4 KiB before the bad range: %v", err)
	}
	// The read fault does not fail writes.
	pattern(page, badRead, 4)
	if _, err := w.WriteAt(page, badRead); err != nil {
		t.Errorf("write 4 KiB over the read fault: %v", err)
	}
	wantBacking(t, d, badRead, page)

	// Without faults the bad ranges work.
	d.SetFaults()
	pattern(buf, off, 5)
	if _, err := w.WriteAt(buf, off); err != nil {
		t.Fatalf("write 1 MiB at %d after SetFaults(): %v", off, err)
	}
	wantBacking(t, d, off, buf)
	if _, err := r.ReadAt(buf, badRead-512*KiB); err != nil {
		t.Errorf("read 1 MiB at %d after SetFaults(): %v", badRead-512*KiB, err)
	}
	if _, err := r.ReadAt(page, badRead); err != nil || !bytes.Equal(page, pattern(make([]byte, 4*KiB), badRead, 4)) {
		t.Errorf("read 4 KiB at %d after SetFaults(): %v or wrong data", badRead, err)
	}
	t.Logf("all failed requests: %v", d.Hits())
}

// aligned returns n zero bytes at a 4096-aligned address, as O_DIRECT needs.
func aligned(n int) []byte {
	b := make([]byte, n+4096)
	skip := int(-uintptr(unsafe.Pointer(&b[0])) & 4095)
	return b[skip : skip+n : skip+n]
}

// pattern fills b with bytes that depend on their disk offset and on seed, and
// returns it.
func pattern(b []byte, off int64, seed byte) []byte {
	for i := range b {
		p := off + int64(i)
		b[i] = byte(p>>12) ^ byte(p>>20)*7 ^ seed*31 ^ byte(p)
	}
	return b
}

// wantBacking checks that the backing file holds want at off.
func wantBacking(t *testing.T, d *Disk, off int64, want []byte) {
	t.Helper()
	got := backing(t, d, off, len(want))
	if !bytes.Equal(got, want) {
		t.Errorf("backing file at %d: %d bytes differ from what was written", off, diff(got, want))
	}
}

func backing(t *testing.T, d *Disk, off int64, n int) []byte {
	t.Helper()
	f, err := os.Open(d.Backing())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := make([]byte, n)
	if _, err := f.ReadAt(got, off); err != nil {
		t.Fatal(err)
	}
	return got
}

// landed describes which 4 KiB blocks of a failed write reached the backing file.
func landed(t *testing.T, d *Disk, off int64, buf []byte) string {
	got := backing(t, d, off, len(buf))
	var spans []string
	start := -1
	for i := 0; i <= len(buf); i += 4096 {
		ok := i < len(buf) && bytes.Equal(got[i:i+4096], buf[i:i+4096])
		switch {
		case ok && start < 0:
			start = i
		case !ok && start >= 0:
			spans = append(spans, fmt.Sprintf("[%d, %d)", off+int64(start), off+int64(i)))
			start = -1
		}
	}
	if len(spans) == 0 {
		return "no byte of it reached the backing file"
	}
	return "these parts reached the backing file: " + strings.Join(spans, " ")
}

func diff(a, b []byte) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

// sizes summarises requests as "N× op size".
func sizes(rs []Range) string {
	var out []string
	count := map[string]int{}
	for _, r := range rs {
		k := fmt.Sprintf("%v %d KiB", r.Ops, r.Len/KiB)
		if count[k] == 0 {
			out = append(out, k)
		}
		count[k]++
	}
	for i, k := range out {
		out[i] = fmt.Sprintf("%d× %s", count[k], k)
	}
	return strings.Join(out, ", ")
}

func sysfs(t *testing.T, l *loopdev.Loop, name string) string {
	b, err := os.ReadFile(filepath.Join("/sys/block", l.Name(), name))
	if err != nil {
		return err.Error()
	}
	return strings.TrimSpace(string(b))
}

// A hung range: a write there waits in the kernel, unanswered, while writes below it
// go through; Release lets it finish, and what it wrote lands.
func TestHangUntilRelease(t *testing.T) {
	loopdev.Require(t)
	d := Mount(t, 16*MiB)
	d.Hang(Range{Off: 8 * MiB, Len: 8 * MiB, Ops: Write})
	l := d.Attach(t)
	w, err := os.OpenFile(l.Path, os.O_WRONLY|unix.O_DIRECT, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	below := pattern(aligned(MiB), 7*MiB, 1)
	if _, err := w.WriteAt(below, 7*MiB); err != nil {
		t.Fatalf("write below the hung range: %v", err)
	}
	wantBacking(t, d, 7*MiB, below)

	hung := pattern(aligned(MiB), 8*MiB, 2)
	done := make(chan error, 1)
	go func() {
		_, err := w.WriteAt(hung, 8*MiB)
		done <- err
	}()
	deadline := time.Now().Add(30 * time.Second)
	for d.Waiting() == 0 {
		if time.Now().After(deadline) {
			d.Release()
			t.Fatal("the write into the hung range never reached the disk")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("the write into the hung range returned (%v) before Release", err)
	case <-time.After(200 * time.Millisecond):
	}
	d.Release()
	if err := <-done; err != nil {
		t.Fatalf("the write after Release: %v", err)
	}
	wantBacking(t, d, 8*MiB, hung)
	if n := d.Waiting(); n != 0 {
		t.Errorf("%d requests still waiting after Release", n)
	}
}
