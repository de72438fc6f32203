// Package faultfs gives tests a disk that fails reads and writes at chosen byte ranges.
//
// Mount serves, from inside the test process, a tiny FUSE filesystem holding one file.
// I/O on that file is passed through to a sparse backing file in a temporary directory,
// except that a request touching a configured Range fails with EIO. Attaching a loop
// device over the file turns it into a block device with bad sectors, which is how
// decom's tests prove that the wipe engine records the ranges it could not write
// (ExampleMount; it only compiles):
//
//	d := faultfs.Mount(t, 64<<20, faultfs.Range{Off: 8 << 20, Len: 64 << 10, Ops: faultfs.Write})
//	l, err := loopdev.Attach(d.Path(), false)
//	if err != nil {
//		t.Fatal(err)
//	}
//	t.Cleanup(func() { l.Detach() })
//	// write to l.Path, then read d.Backing() to see what reached the "disk"
//
// The loop device must be detached before the disk is unmounted. t.Cleanup runs its
// functions last-in first-out, so attaching after Mount, with the Detach registered in
// t.Cleanup, orders them correctly.
//
// The file is opened with FOPEN_DIRECT_IO and the filesystem does not ask for the
// kernel's writeback cache, so every read and write of the file reaches this package as
// a request and a failed write fails in the write call itself, not at a later fsync.
// A request that overlaps a bad range fails whole: no byte of it reaches the backing
// file. The kernel may split or merge the caller's I/O before it arrives here (the
// loop driver and FUSE both cap request sizes); Hits reports the requests as received.
//
// Mount needs root and /dev/fuse, but not the fusermount program: it calls mount(2)
// itself. Without them the test is skipped, or fails when the environment has CI=true.
// A disk can also stop answering: Hang makes the requests that touch a range wait,
// unanswered, until Release (a drive that hangs, as far as the loop device and the
// program writing to it can tell; ExampleDisk_Hang):
//
//	d := faultfs.Mount(t, 64<<20)
//	d.Hang(faultfs.Range{Off: 8 << 20, Len: 56 << 20, Ops: faultfs.Write})
//	l := d.Attach(t)
//	t.Logf("writes to %s past 8 MiB block in the kernel until d.Release()", l.Path)
//
// A process whose write waits on a hung request sleeps uninterruptibly in the kernel:
// even SIGKILL does not end it before Release. Attach's cleanup and Mount's release
// every hung request before they detach or unmount, so a test cannot hang in its
// cleanup; a test that waits for such a process must call Release before it waits.
//
// The filesystem is served by the test process: if that process dies without running
// its cleanups (a -timeout panic, SIGKILL), the mount is left behind with no server and
// I/O on it fails with ENOTCONN until it is unmounted (umount -l DIR).
package faultfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/decom-project/decom/internal/loopdev"
	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// Op says which kind of I/O a Range fails. The values are bit flags.
type Op int

const (
	Read      Op             = 1 << iota // reads fail
	Write                                // writes (and fallocate, which the loop driver uses for discard) fail
	ReadWrite = Read | Write             // both fail
)

func (o Op) String() string {
	switch o {
	case Read:
		return "read"
	case Write:
		return "write"
	case ReadWrite:
		return "read+write"
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// Range is a span of bytes of the disk, [Off, Off+Len), and the kind of I/O that
// fails there. In Disk.Hits it is a failed request: its offset, length and kind.
type Range struct {
	Off, Len int64
	Ops      Op
}

func (r Range) String() string {
	return fmt.Sprintf("%v [%d, %d)", r.Ops, r.Off, r.Off+r.Len)
}

func (r Range) valid() error {
	if r.Off < 0 || r.Len <= 0 {
		return fmt.Errorf("faultfs: range %v is empty or negative", r)
	}
	if r.Ops&^ReadWrite != 0 || r.Ops == 0 {
		return fmt.Errorf("faultfs: range %v has no valid Ops (want Read, Write or ReadWrite)", r)
	}
	return nil
}

// maxRequest is the largest read or write the kernel sends in one FUSE request: asking
// for the kernel's limit (fs.fuse.max_pages_limit, 256 pages by default) keeps FUSE
// from splitting what the loop driver sends.
const maxRequest = 1 << 20

// fileName is the name of the one file in the filesystem.
const fileName = "disk"

// Disk is a mounted faultfs filesystem. Its methods are safe for concurrent use.
type Disk struct {
	size    int64
	mnt     string
	backing string
	file    *os.File // the backing file, open for the lifetime of the mount

	mu      sync.Mutex
	faults  []Range
	hits    []Range
	observe func(Range) // when set (by this package's tests), sees every request

	// hangs are the ranges whose requests wait until release is closed; waiting
	// counts the requests waiting now.
	hangs   []Range
	release chan struct{}
	waiting int
}

// Mount serves a new faultfs filesystem holding one file of size bytes whose requests
// overlapping faults fail with EIO. The backing file is a sparse file in t.TempDir().
// The filesystem is unmounted when the test and its subtests end, whether they
// passed or not; a loop device over Path must be detached by then (see the package
// documentation), otherwise the mount is detached lazily and the test fails.
func Mount(t testing.TB, size int64, faults ...Range) *Disk {
	t.Helper()
	require(t)
	if size <= 0 {
		t.Fatalf("faultfs: size %d is not positive", size)
	}
	for _, r := range faults {
		if err := r.valid(); err != nil {
			t.Fatal(err)
		}
	}
	d := &Disk{
		size:    size,
		mnt:     t.TempDir(),
		backing: filepath.Join(t.TempDir(), "backing.img"),
		faults:  slices.Clone(faults),
	}
	f, err := os.OpenFile(d.backing, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		t.Fatal(err)
	}
	d.file = f

	root := &fs.Inode{}
	node := &diskNode{d: d}
	opts := &fs.Options{
		MountOptions: fuse.MountOptions{
			FsName:            "faultfs",
			Name:              "faultfs",
			DirectMountStrict: true, // mount(2) as root; never fusermount
			MaxWrite:          maxRequest,
			DisableXAttrs:     true,
			DisableSplice:     true, // a 1 MiB read does not fit a pipe; go-fuse would log each fallback
		},
		OnAdd: func(ctx context.Context) {
			ch := root.NewPersistentInode(ctx, node, fs.StableAttr{Mode: syscall.S_IFREG, Ino: 2})
			root.AddChild(fileName, ch, false)
		},
	}
	srv, err := fs.Mount(d.mnt, root, opts)
	if err != nil {
		f.Close()
		stop(t)("faultfs: mount FUSE filesystem on %s: %v", d.mnt, err)
		return nil
	}
	t.Cleanup(func() {
		d.Release() // a loop device cannot let go of a request that never ends
		if err := unmount(srv, d.mnt); err != nil {
			t.Errorf("faultfs: %v", err)
			return // the lazily detached filesystem may still be serving a loop device
		}
		if err := f.Close(); err != nil {
			t.Errorf("faultfs: close backing file: %v", err)
		}
	})
	return d
}

// unmount unmounts the filesystem, retrying for a while: after a loop device is
// detached the kernel may hold the FUSE file for a moment. If the mount is still busy
// after that, it is detached lazily (so no mount outlives the test) and an error says
// why.
func unmount(srv *fuse.Server, mnt string) error {
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err = srv.Unmount(); err == nil {
			return nil
		}
	}
	if lerr := unix.Unmount(mnt, unix.MNT_DETACH); lerr != nil {
		return fmt.Errorf("unmount %s: %v; lazy unmount: %v", mnt, err, lerr)
	}
	return fmt.Errorf("unmount %s: %v (is a loop device still attached over it? detach it first); detached lazily", mnt, err)
}

// require stops the test unless it can mount a FUSE filesystem itself.
func require(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		stop(t)("faultfs: needs root to mount a FUSE filesystem (run make test as root)")
		return
	}
	f, err := os.OpenFile("/dev/fuse", os.O_RDWR, 0)
	if err != nil {
		stop(t)("faultfs: needs /dev/fuse (modprobe fuse): %v", err)
		return
	}
	f.Close()
}

// stop is t.Fatalf under CI (CI=true), where a missing prerequisite must not turn into
// a silent skip, and t.Skipf elsewhere.
func stop(t testing.TB) func(format string, args ...any) {
	if os.Getenv("CI") == "true" {
		return t.Fatalf
	}
	return t.Skipf
}

// Path is the FUSE file, the image to attach a loop device to.
func (d *Disk) Path() string { return filepath.Join(d.mnt, fileName) }

// Backing is the real file behind Path. Reading it shows what was written, bypassing
// the faults.
func (d *Disk) Backing() string { return d.backing }

// Size is the size of the disk in bytes.
func (d *Disk) Size() int64 { return d.size }

// SetFaults replaces the list of bad ranges. It panics on a range with Len <= 0 or
// without Ops: that is a bug in the test.
func (d *Disk) SetFaults(faults ...Range) {
	for _, r := range faults {
		if err := r.valid(); err != nil {
			panic(err)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults = slices.Clone(faults)
}

// Hits returns the requests that failed because of a fault, in the order they failed,
// with the offset and length the kernel sent.
func (d *Disk) Hits() []Range {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.hits)
}

// Hang makes every request of the kinds r.Ops names that overlaps r wait, with no
// answer, until Release. Requests already answered are not affected. It panics on a
// range with Len <= 0 or without Ops: that is a bug in the test.
func (d *Disk) Hang(r Range) {
	if err := r.valid(); err != nil {
		panic(err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.release == nil {
		d.release = make(chan struct{})
	}
	d.hangs = append(d.hangs, r)
}

// Release ends every hang: the requests waiting go on (and may then meet a fault),
// and later ones are not held. It may be called more than once.
func (d *Disk) Release() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.release != nil {
		close(d.release)
		d.release = nil
	}
	d.hangs = nil
}

// Waiting reports how many requests are waiting on a hang now: a test waits for it to
// be more than zero to know that the disk has stopped answering someone.
func (d *Disk) Waiting() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.waiting
}

// hang holds a request of kind op over [off, off+n) while it overlaps a hung range,
// until Release or until the kernel gives up on the request (ctx).
func (d *Disk) hang(ctx context.Context, op Op, off, n int64) {
	d.mu.Lock()
	release := d.release
	held := false
	for _, r := range d.hangs {
		if r.Ops&op != 0 && off < r.Off+r.Len && r.Off < off+n {
			held = true
			break
		}
	}
	if !held {
		d.mu.Unlock()
		return
	}
	d.waiting++
	d.mu.Unlock()
	select {
	case <-release:
	case <-ctx.Done():
	}
	d.mu.Lock()
	d.waiting--
	d.mu.Unlock()
}

// fail reports whether a request of kind op over [off, off+n) overlaps a fault, and
// records it as a hit if so.
func (d *Disk) fail(op Op, off, n int64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.observe != nil {
		d.observe(Range{Off: off, Len: n, Ops: op})
	}
	for _, r := range d.faults {
		if r.Ops&op != 0 && off < r.Off+r.Len && r.Off < off+n {
			d.hits = append(d.hits, Range{Off: off, Len: n, Ops: op})
			return true
		}
	}
	return false
}

// diskNode is the one file. It has no file handles: every request goes to the node.
type diskNode struct {
	fs.Inode
	d *Disk
}

var (
	_ fs.NodeOpener    = (*diskNode)(nil)
	_ fs.NodeGetattrer = (*diskNode)(nil)
	_ fs.NodeReader    = (*diskNode)(nil)
	_ fs.NodeWriter    = (*diskNode)(nil)
	_ fs.NodeFsyncer   = (*diskNode)(nil)
	_ fs.NodeAllocater = (*diskNode)(nil)
)

// Open asks for direct I/O, so that the kernel's page cache neither serves reads nor
// absorbs writes: each one reaches Read or Write.
func (n *diskNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if flags&syscall.O_TRUNC != 0 {
		return nil, 0, syscall.EPERM
	}
	return nil, fuse.FOPEN_DIRECT_IO | fuse.FOPEN_PARALLEL_DIRECT_WRITES, 0
}

func (n *diskNode) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = syscall.S_IFREG | 0o600
	out.Size = uint64(n.d.size)
	out.Blocks = (uint64(n.d.size) + 511) / 512
	out.Blksize = 4096
	return 0
}

func (n *diskNode) Read(ctx context.Context, fh fs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n.d.hang(ctx, Read, off, int64(len(dest)))
	if n.d.fail(Read, off, int64(len(dest))) {
		return nil, syscall.EIO
	}
	if off >= n.d.size {
		return fuse.ReadResultData(nil), 0
	}
	dest = dest[:min(int64(len(dest)), n.d.size-off)]
	got, err := n.d.file.ReadAt(dest, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fs.ToErrno(err)
	}
	return fuse.ReadResultData(dest[:got]), 0
}

// Write fails a write that reaches past the end of the disk with ENOSPC, as a block
// device does, but writes the part that fits.
func (n *diskNode) Write(ctx context.Context, fh fs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	n.d.hang(ctx, Write, off, int64(len(data)))
	if n.d.fail(Write, off, int64(len(data))) {
		return 0, syscall.EIO
	}
	if off >= n.d.size {
		return 0, syscall.ENOSPC
	}
	data = data[:min(int64(len(data)), n.d.size-off)]
	wrote, err := n.d.file.WriteAt(data, off)
	if err != nil {
		return uint32(wrote), fs.ToErrno(err)
	}
	return uint32(wrote), 0
}

func (n *diskNode) Fsync(ctx context.Context, fh fs.FileHandle, flags uint32) syscall.Errno {
	return fs.ToErrno(n.d.file.Sync())
}

// Allocate passes fallocate through to the backing file; the loop driver calls it to
// discard (punch holes) and to write zeroes. Write faults apply to it.
func (n *diskNode) Allocate(ctx context.Context, fh fs.FileHandle, off, size uint64, mode uint32) syscall.Errno {
	n.d.hang(ctx, Write, int64(off), int64(size))
	if n.d.fail(Write, int64(off), int64(size)) {
		return syscall.EIO
	}
	if mode&unix.FALLOC_FL_KEEP_SIZE == 0 && int64(off+size) > n.d.size {
		return syscall.ENOSPC
	}
	return fs.ToErrno(unix.Fallocate(int(n.d.file.Fd()), mode, int64(off), int64(size)))
}

// Attach puts a loop device over the disk, so that it is a block device with bad
// sectors, and detaches it when the test ends (before the disk is unmounted), after
// releasing any hang.
func (d *Disk) Attach(t testing.TB) *loopdev.Loop {
	t.Helper()
	l, err := loopdev.Attach(d.Path(), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.Release()
		if err := l.Detach(); err != nil {
			t.Errorf("detach %s: %v", l.Path, err)
		}
	})
	return l
}
