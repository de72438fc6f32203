package wipe

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/decom-project/decom/internal/loopdev"
	"github.com/decom-project/decom/inventory"
)

// A relative path names a file in the working directory, as in a shell: the target
// is that file, and the plan names it by its absolute path.
func TestGateResolvesRelativePathsInTheWorkingDirectory(t *testing.T) {
	loopdev.Require(t)
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, "sub", "t.img")
	if err := loopdev.CreateImage(img, 1<<20); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(img, &st); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir) // restored when the test ends; no t.Parallel here
	for _, rel := range []string{"sub/t.img", "./sub/../sub/t.img"} {
		tgt, err := (&Gate{}).Check(context.Background(), rel)
		if err != nil {
			t.Fatalf("%s from %s: %v", rel, dir, err)
		}
		if tgt.Path != img || tgt.Kind != KindFile || uint64(tgt.Identity.Inode) != st.Ino || tgt.Identity.DevNo != fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev)) {
			t.Errorf("%s from %s: path %q kind %s identity %+v; want %s, inode %d", rel, dir, tgt.Path, tgt.Kind, tgt.Identity, img, st.Ino)
		}
	}
}

// A shared lock (udev holds one while it probes a device) is waited for, a while;
// then it is refused too, naming its holder.
func TestGateWaitsForSharedLocksThenRefuses(t *testing.T) {
	l := loopdev.New(t, 8<<20, false, nil)
	g := &Gate{}
	tgt, err := g.Check(context.Background(), l.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer func(d time.Duration) { sharedLockWait = d }(sharedLockWait)
	sharedLockWait = 300 * time.Millisecond
	pid, release := holdLock(t, l.Path, "--shared")
	start := time.Now()
	_, err = g.Open(context.Background(), tgt)
	wantRefused(t, err, fmt.Sprintf("flock (PID %d) holds a shared flock lock", pid))
	if waited := time.Since(start); waited < sharedLockWait {
		t.Errorf("refused after %v, before waiting %v for the shared lock to go", waited, sharedLockWait)
	}
	// Released while the gate waits: the gate gets the device.
	sharedLockWait = 10 * time.Second
	time.AfterFunc(200*time.Millisecond, release)
	d, err := g.Open(context.Background(), tgt)
	if err != nil {
		t.Fatalf("the shared lock went, the gate still refused: %v", err)
	}
	d.Close()
}

// holdLock runs `flock [flags] path sleep 60` (util-linux), which holds a BSD lock
// (exclusive, unless flags say --shared) on path until release or the end of the
// test, and returns its PID once the lock shows in /proc/locks.
func holdLock(t *testing.T, path string, flags ...string) (pid int, release func()) {
	t.Helper()
	loopdev.Require(t, "flock")
	cmd := exec.Command("flock", append(flags, path, "sleep", "60")...)
	// A group of its own: sleep inherits the locked descriptor, and goes with flock.
	cmd.SysProcAttr = &unix.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	held := func() bool {
		f, err := os.Open("/proc/locks")
		if err != nil {
			t.Fatal(err)
		}
		locks, err := parseLocks(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range holdersOf(locks, unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino) {
			if l.PID == cmd.Process.Pid {
				return true
			}
		}
		return false
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			unix.Kill(-cmd.Process.Pid, unix.SIGKILL)
			cmd.Wait()
			// sleep, which shares the locked descriptor, may still be on its way out:
			// the lock lives until it is gone, and the device node outlives the loop
			// device, so the next test to get this loop device would find it.
			for deadline := time.Now().Add(10 * time.Second); held(); time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Errorf("the lock on %s outlived its holders by 10 s", path)
					return
				}
			}
		})
	}
	t.Cleanup(release)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if held() {
			return cmd.Process.Pid, release
		}
	}
	t.Fatalf("flock %s did not take its lock within 10 s", path)
	return 0, nil
}

// wipeIfOpened runs a zero pass over the target if the gate let it be opened, as
// decom wipe would: so that a refusal that does not come shows as written bytes.
func wipeIfOpened(d *Handle, err error) error {
	if err != nil {
		return err
	}
	Overwrite(context.Background(), d, PassPlan{Method: CustomMethod([]Pattern{Fixed(0)}, 1, false)}, Options{})
	d.Close()
	return nil
}

// A program holding an exclusive BSD lock on the device (the convention of systemd
// and udev) makes the gate refuse it, naming the program; nothing is written.
func TestGateRefusesDeviceLockedByAnotherProgram(t *testing.T) {
	const size = 8 << 20
	l := loopdev.New(t, size, false, fillRandom)
	before := readBack(t, l.Path, size)
	g := &Gate{}
	tgt, err := g.Check(context.Background(), l.Path)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := holdLock(t, l.Path)
	err = wipeIfOpened(g.Open(context.Background(), tgt))
	wantRefused(t, err, "locked by another program", fmt.Sprintf("flock (PID %d)", pid), "exclusive flock lock", l.Path)
	if !bytes.Equal(readBack(t, l.Path, size), before) {
		t.Error("the locked device was written")
	}
}

// The gate holds its own exclusive lock on the device until Close: another program
// that asks for one (as udev does before probing) does not get it meanwhile.
func TestGateHoldsTheDeviceLockedWhileOpen(t *testing.T) {
	loopdev.Require(t, "flock")
	l := loopdev.New(t, 8<<20, false, nil)
	g := &Gate{}
	tgt, err := g.Check(context.Background(), l.Path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := g.Open(context.Background(), tgt)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("flock", "--nonblock", "--shared", l.Path, "true").CombinedOutput(); err == nil {
		t.Errorf("another program locked %s while the gate had it open (%s)", l.Path, out)
	}
	d.Close()
	if out, err := exec.Command("flock", "--nonblock", l.Path, "true").CombinedOutput(); err != nil {
		t.Errorf("%s still locked after Close: %v %s", l.Path, err, out)
	}
}

// For a partition, the lock that counts is the whole disk's: udev and systemd lock
// the disk when they work on any of its partitions. (This machine's kernel may read
// no partition tables: one loop device stands in for the partition, another for its
// drive.)
func TestGateRefusesPartitionOfLockedDisk(t *testing.T) {
	const size = 8 << 20
	part := loopdev.New(t, size, false, fillRandom)
	disk := loopdev.New(t, size, false, nil)
	devNo := func(path string) string {
		var st unix.Stat_t
		if err := unix.Stat(path, &st); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
	drive := inventory.Device{Path: disk.Path, Name: disk.Name(), DevNo: devNo(disk.Path), Transport: inventory.TransportLoop,
		SizeBytes: 2 * size, LogicalSectorSize: 512, Refusals: []string{"not for this test"},
		Partitions: []inventory.Partition{{Path: part.Path, Number: 1, DevNo: devNo(part.Path), Size: size}}}
	g := &Gate{lookup: func(context.Context, string) (inventory.Device, error) { return drive, nil }}
	tgt, err := g.Check(context.Background(), part.Path)
	if err != nil {
		t.Fatal(err)
	}
	if tgt.Kind != KindPartition {
		t.Fatalf("%s: kind %s", part.Path, tgt.Kind)
	}
	before := readBack(t, part.Path, size)
	pid, release := holdLock(t, disk.Path)
	err = wipeIfOpened(g.Open(context.Background(), tgt))
	wantRefused(t, err, "locked by another program", fmt.Sprintf("flock (PID %d)", pid), disk.Path)
	if !bytes.Equal(readBack(t, part.Path, size), before) {
		t.Error("a partition of the locked disk was written")
	}

	// Unlocked, the partition opens, and its drive is held locked with it.
	release()
	d, err := g.Open(context.Background(), tgt)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("flock", "--nonblock", disk.Path, "true").CombinedOutput(); err == nil {
		t.Errorf("the drive of an open partition was not locked (%s)", out)
	}
	d.Close()
}

// swapOnOpen renames decoy over path the moment path's file is first opened by
// anyone, through a fanotify permission event: the opener gets the file it looked
// up, and every later lookup of path finds the decoy. It stops when the test ends.
func swapOnOpen(t *testing.T, path, decoy string) {
	t.Helper()
	fd, err := unix.FanotifyInit(unix.FAN_CLASS_CONTENT|unix.FAN_CLOEXEC|unix.FAN_NONBLOCK, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_LARGEFILE)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("fanotify: %v", err)
		}
		t.Skipf("fanotify: %v", err)
	}
	if err := unix.FanotifyMark(fd, unix.FAN_MARK_ADD, unix.FAN_OPEN_PERM, unix.AT_FDCWD, path); err != nil {
		unix.Close(fd)
		t.Skipf("fanotify permission events: %v", err)
	}
	f := os.NewFile(uintptr(fd), "fanotify")
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var once sync.Once
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			if err != nil {
				return
			}
			for b := buf[:n]; len(b) >= int(unsafe.Sizeof(unix.FanotifyEventMetadata{})); {
				ev := (*unix.FanotifyEventMetadata)(unsafe.Pointer(&b[0]))
				if ev.Event_len == 0 || int(ev.Event_len) > len(b) {
					break
				}
				if ev.Mask&unix.FAN_OPEN_PERM != 0 {
					once.Do(func() {
						if err := os.Rename(decoy, path); err != nil {
							t.Errorf("swap: %v", err)
						}
					})
					resp := unix.FanotifyResponse{Fd: ev.Fd, Response: unix.FAN_ALLOW}
					f.Write(unsafe.Slice((*byte)(unsafe.Pointer(&resp)), unsafe.Sizeof(resp)))
				}
				if ev.Fd >= 0 {
					unix.Close(int(ev.Fd))
				}
				b = b[ev.Event_len:]
			}
		}
	}()
	t.Cleanup(func() {
		f.Close() // pending permission events are allowed
		wg.Wait()
	})
}

// The unaligned tail of an image file is written through the descriptor the gate
// checked, not through the file's path: a file renamed over the path between the
// check and the write (here: at the very moment the gate opens the file) is not
// touched, and the planned file gets every byte.
func TestGateWritesTheTailToTheFileItChecked(t *testing.T) {
	loopdev.Require(t)
	dir := t.TempDir()
	img, decoy := filepath.Join(dir, "t.img"), filepath.Join(dir, "decoy.img")
	const size = 1<<20 + 100
	if err := os.WriteFile(img, bytes.Repeat([]byte{0x11}, size), 0o600); err != nil {
		t.Fatal(err)
	}
	decoyData := bytes.Repeat([]byte{0x22}, size)
	if err := os.WriteFile(decoy, decoyData, 0o600); err != nil {
		t.Fatal(err)
	}
	// The planned file, kept open to read it back whatever its path names later.
	orig, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	g := &Gate{}
	tgt, err := g.Check(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	swapOnOpen(t, img, decoy)
	d, err := g.Open(context.Background(), tgt)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Direct {
		d.Close()
		t.Skip("the temporary directory refuses O_DIRECT: no unaligned tail to write")
	}
	rec := Overwrite(context.Background(), d, PassPlan{Method: CustomMethod([]Pattern{Fixed(0xee)}, 1, false)}, Options{})
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if rec.Outcome != OutcomeCompleted {
		t.Fatalf("outcome %s: %s", rec.Outcome, rec.Error)
	}
	got := make([]byte, size)
	if _, err := orig.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(got, func(b byte) bool { return b != 0xee }); i >= 0 {
		t.Errorf("the planned file was not overwritten from byte %d of %d", i, size)
	}
	now, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(now, decoyData) {
		i := slices.IndexFunc(now, func(b byte) bool { return b != 0x22 })
		t.Errorf("the file renamed over the path was written to, from byte %d", i)
	}
}
