package blockio

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/decom-project/decom/internal/loopdev"
)

// statOf stats path, following it.
func statOf(t *testing.T, path string) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// flags returns the status flags of an open descriptor (F_GETFL).
func flags(t *testing.T, f *os.File) int {
	t.Helper()
	fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
	if err != nil {
		t.Fatal(err)
	}
	return fl
}

func mustOpen(t *testing.T, path string, mode Mode) *File {
	t.Helper()
	f, err := Open(path, mode)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// directDir returns a directory on a filesystem that takes O_DIRECT: an ext4 made on a
// loop device of the test's own, mounted until the test ends.
func directDir(t *testing.T) string {
	t.Helper()
	loopdev.Require(t, "mkfs.ext4")
	l := loopdev.New(t, 64<<20, false, nil)
	if err := l.MkFS("ext4", 0); err != nil {
		t.Fatal(err)
	}
	dir, err := l.Mount(0)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// bufferedDir returns a directory on a ramfs, which refuses O_DIRECT (tmpfs has taken
// it since Linux 6.6), mounted until the test ends.
func bufferedDir(t *testing.T) string {
	t.Helper()
	loopdev.Require(t)
	dir := t.TempDir()
	if err := unix.Mount("ramfs", dir, "ramfs", 0, ""); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount a ramfs: %v", err)
		}
		t.Skipf("mount a ramfs: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// A loop device opens with O_DIRECT, described by its own device number, size and
// sector size; an exclusive open keeps others' exclusive opens out until Close.
func TestOpenBlockDevice(t *testing.T) {
	const size = 8 << 20
	l := loopdev.New(t, size, false, nil)
	f := mustOpen(t, l.Path, Mode{Write: true, Exclusive: true})
	st := statOf(t, l.Path)
	if !f.Direct || !f.Block || f.Rdev != st.Rdev || f.DevNo() != DevNo(st.Rdev) || f.Size != size || f.SectorSize != 512 || f.tail != nil {
		t.Fatalf("opened %+v; want direct, block device %s of %d bytes, 512-byte sectors, no tail", f, DevNo(st.Rdev), size)
	}
	if fl := flags(t, f.OS()); fl&unix.O_DIRECT == 0 || fl&unix.O_ACCMODE != unix.O_WRONLY {
		t.Errorf("descriptor flags %#o: want O_WRONLY|O_DIRECT", fl)
	}
	if _, err := Open(l.Path, Mode{Exclusive: true}); !errors.Is(err, unix.EBUSY) {
		t.Errorf("a second exclusive open: %v, want EBUSY", err)
	}

	buf := AlignedBuffer(1 << 20)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	if n, err := f.WriteAt(buf, 3<<20); n != len(buf) || err != nil {
		t.Fatalf("write: %d, %v", n, err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.DropCache(); err != nil {
		t.Errorf("BLKFLSBUF: %v", err)
	}
	got, err := os.ReadFile(l.Backing)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[3<<20:4<<20], buf) {
		t.Error("the image does not hold what was written")
	}

	// Read back through the descriptor's /proc path, as the verifier does.
	r := mustOpen(t, f.ProcPath(), Mode{})
	if r.Rdev != f.Rdev || !r.Direct {
		t.Errorf("reopened through %s: device %s direct %v", f.ProcPath(), r.DevNo(), r.Direct)
	}
	back := AlignedBuffer(1 << 20)
	if _, err := r.ReadAt(back, 3<<20); err != nil || !bytes.Equal(back, buf) {
		t.Errorf("read back through the /proc path: %v, equal %v", err, bytes.Equal(back, buf))
	}

	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	g, err := Open(l.Path, Mode{Exclusive: true})
	if err != nil {
		t.Fatalf("exclusive open after Close: %v", err)
	}
	g.Close()
}

// Regeometry sees a block device grow.
func TestRegeometry(t *testing.T) {
	l := loopdev.New(t, 4<<20, false, nil)
	f := mustOpen(t, l.Path, Mode{})
	if err := os.Truncate(l.Backing, 6<<20); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("losetup", "--set-capacity", l.Path).CombinedOutput(); err != nil {
		t.Fatalf("losetup --set-capacity: %v %s", err, out)
	}
	if f.Size != 4<<20 {
		t.Fatalf("size %d before Regeometry", f.Size)
	}
	if err := f.Regeometry(); err != nil || f.Size != 6<<20 {
		t.Errorf("Regeometry: %v, size %d, want %d", err, f.Size, 6<<20)
	}
}

// An image file whose size is not a multiple of 512 bytes gets a buffered descriptor
// for its last bytes: the reopened file itself, with the same access mode. A whole
// file written in sector multiples and then its tail lands in full.
func TestOpenFileTail(t *testing.T) {
	dir := directDir(t)
	img := filepath.Join(dir, "t.img")
	const size = 1<<20 + 100
	if err := os.WriteFile(img, make([]byte, size), 0o600); err != nil {
		t.Fatal(err)
	}
	f := mustOpen(t, img, Mode{Write: true})
	st := statOf(t, img)
	if !f.Direct || f.Block || f.Dev != st.Dev || f.Inode != st.Ino || f.DevNo() != DevNo(st.Dev) || f.Size != size || f.SectorSize != FileSector {
		t.Fatalf("opened %+v; want a direct regular file, inode %d on %s, %d bytes", f, st.Ino, DevNo(st.Dev), size)
	}
	if f.tail == nil {
		t.Fatal("no descriptor for the unaligned tail")
	}
	var tst unix.Stat_t
	if err := unix.Fstat(int(f.tail.Fd()), &tst); err != nil || tst.Ino != st.Ino || tst.Dev != st.Dev {
		t.Errorf("tail descriptor on inode %d (%v), want %d", tst.Ino, err, st.Ino)
	}
	if fl := flags(t, f.tail); fl&unix.O_DIRECT != 0 || fl&unix.O_ACCMODE != unix.O_WRONLY {
		t.Errorf("tail descriptor flags %#o: want O_WRONLY without O_DIRECT", fl)
	}
	want := bytes.Repeat([]byte{0x5a}, size)
	head := AlignedBuffer(1 << 20)
	copy(head, want)
	if _, err := f.WriteAt(head, 0); err != nil {
		t.Fatal(err)
	}
	// 100 bytes at an unaligned end: O_DIRECT would refuse them with EINVAL.
	if _, err := f.WriteAt(want[1<<20:], 1<<20); err != nil {
		t.Fatalf("write the tail: %v", err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(img); !bytes.Equal(got, want) {
		t.Error("the file does not hold what was written")
	}

	// Read-only, the tail is read through the page cache too.
	r := mustOpen(t, img, Mode{})
	if r.tail == nil || flags(t, r.tail)&unix.O_ACCMODE != unix.O_RDONLY {
		t.Fatal("read-only open: no read-only tail descriptor")
	}
	tail := make([]byte, 100)
	if _, err := r.ReadAt(tail, 1<<20); err != nil || !bytes.Equal(tail, want[1<<20:]) {
		t.Errorf("read the tail: %v", err)
	}

	// An aligned file needs no tail.
	aligned := filepath.Join(dir, "aligned.img")
	if err := os.WriteFile(aligned, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	if a := mustOpen(t, aligned, Mode{Write: true}); !a.Direct || a.tail != nil {
		t.Errorf("aligned file: direct %v, tail %v", a.Direct, a.tail)
	}
}

// The tail descriptor is a reopening of the open file, not of its path: after another
// file is renamed over the path, it still reaches the file that was opened.
func TestReopenFollowsTheOpenFileNotItsPath(t *testing.T) {
	dir := directDir(t)
	img, decoy := filepath.Join(dir, "t.img"), filepath.Join(dir, "decoy.img")
	if err := os.WriteFile(img, make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(decoy, bytes.Repeat([]byte{1}, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	f := mustOpen(t, img, Mode{Write: true})
	if err := os.Rename(decoy, img); err != nil {
		t.Fatal(err)
	}
	g, err := f.reopen()
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(g.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	if st.Ino != f.Inode || st.Ino == statOf(t, img).Ino {
		t.Errorf("reopened inode %d; opened %d, now at the path %d", st.Ino, f.Inode, statOf(t, img).Ino)
	}
}

// Where O_DIRECT is refused (a file on ramfs) Open falls back to the page cache and
// says so; with Buffered it never asks. Either way there is no tail descriptor: any
// length goes through the one descriptor.
func TestOpenFallsBackToBuffered(t *testing.T) {
	img := filepath.Join(bufferedDir(t), "t.img")
	const size = 1<<20 + 100
	if err := os.WriteFile(img, make([]byte, size), 0o600); err != nil {
		t.Fatal(err)
	}
	f := mustOpen(t, img, Mode{Write: true})
	if f.Direct || f.tail != nil || f.Size != size {
		t.Fatalf("on ramfs: direct %v tail %v size %d; want buffered, no tail, %d bytes", f.Direct, f.tail, f.Size, size)
	}
	if flags(t, f.OS())&unix.O_DIRECT != 0 {
		t.Error("the descriptor has O_DIRECT")
	}
	want := bytes.Repeat([]byte{0xc3}, size)
	if _, err := f.WriteAt(want[:1000], 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(want[1000:], 1000); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(img); !bytes.Equal(got, want) {
		t.Error("the file does not hold what was written")
	}

	// Asked for Buffered on a filesystem that takes O_DIRECT.
	other := filepath.Join(directDir(t), "t.img")
	if err := os.WriteFile(other, make([]byte, size), 0o600); err != nil {
		t.Fatal(err)
	}
	b := mustOpen(t, other, Mode{Buffered: true})
	if b.Direct || b.tail != nil || flags(t, b.OS())&unix.O_DIRECT != 0 {
		t.Errorf("Buffered: direct %v, tail %v", b.Direct, b.tail)
	}
}

// A File opened read-only refuses writes itself, and its descriptors are read-only
// too: the kernel refuses what would get past it.
func TestReadOnlyRefusesWrites(t *testing.T) {
	const size = 4 << 20
	l := loopdev.New(t, size, false, nil)
	img := filepath.Join(directDir(t), "t.img")
	if err := os.WriteFile(img, bytes.Repeat([]byte{0x11}, 1<<20+100), 0o600); err != nil {
		t.Fatal(err)
	}
	buf := AlignedBuffer(4096)
	for i := range buf {
		buf[i] = 0xff
	}
	for _, path := range []string{l.Path, img} {
		before, err := os.ReadFile(map[string]string{l.Path: l.Backing, img: img}[path])
		if err != nil {
			t.Fatal(err)
		}
		f := mustOpen(t, path, Mode{})
		if _, err := f.WriteAt(buf, 0); !errors.Is(err, ErrReadOnly) {
			t.Errorf("%s: write: %v, want %v", path, err, ErrReadOnly)
		}
		if _, err := f.WriteAt(buf[:100], 1<<20); !errors.Is(err, ErrReadOnly) {
			t.Errorf("%s: write of the tail: %v, want %v", path, err, ErrReadOnly)
		}
		for _, d := range []*os.File{f.f, f.tail} {
			if d == nil {
				continue
			}
			if fl := flags(t, d); fl&unix.O_ACCMODE != unix.O_RDONLY {
				t.Errorf("%s: descriptor flags %#o, want O_RDONLY", path, fl)
			}
			if _, err := d.WriteAt(buf, 0); !errors.Is(err, unix.EBADF) {
				t.Errorf("%s: the kernel let a write through the descriptor: %v", path, err)
			}
		}
		if err := f.Sync(); err != nil {
			t.Errorf("%s: sync: %v", path, err)
		}
		after, _ := os.ReadFile(map[string]string{l.Path: l.Backing, img: img}[path])
		if !bytes.Equal(before, after) {
			t.Errorf("%s was written through a read-only File", path)
		}
	}
}

// Open names what it cannot open: the errno of the open, or ErrUnsupported for
// what is neither a block device nor a regular file.
func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "missing"), Mode{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	for _, path := range []string{dir, "/dev/null"} {
		if f, err := Open(path, Mode{}); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: %v, want %v", path, err, ErrUnsupported)
			if err == nil {
				f.Close()
			}
		}
	}
}
