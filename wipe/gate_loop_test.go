package wipe

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/decom-project/decom/internal/loopdev"
	"github.com/decom-project/decom/inventory"
)

// mountedLoop is a loop device with a mounted ext4 filesystem, and its mount point.
func mountedLoop(t *testing.T) (*loopdev.Loop, string) {
	t.Helper()
	loopdev.Require(t, "mkfs.ext4")
	l := loopdev.New(t, 32<<20, false, nil)
	if err := l.MkFS("ext4", 0); err != nil {
		t.Fatal(err)
	}
	mnt, err := l.Mount(0)
	if err != nil {
		t.Fatal(err)
	}
	return l, mnt
}

// A loop device over a mounted loop device, one further up the chain, and one over
// the mounted loop device's backing file are all refused with what they sit on; so
// is an idle loop device while another sits on it.
func TestGateRefusesLoopDevicesOverBusyOnes(t *testing.T) {
	a, mnt := mountedLoop(t)
	b := loopdev.Over(t, a.Path)
	c := loopdev.Over(t, a.Backing)
	d := loopdev.Over(t, b.Path)
	g := &Gate{}
	ctx := context.Background()

	_, err := g.Check(ctx, b.Path)
	wantRefused(t, err, "sits on "+a.Path+", which is mounted on "+mnt)
	_, err = g.Check(ctx, d.Path)
	wantRefused(t, err, "sits on "+b.Path+", which sits on "+a.Path+", which is mounted on "+mnt)
	_, err = g.Check(ctx, c.Path)
	wantRefused(t, err, "shares its backing file with "+a.Path+", which is mounted on "+mnt)

	idle := loopdev.New(t, 8<<20, false, nil)
	over := loopdev.Over(t, idle.Path)
	_, err = g.Check(ctx, idle.Path)
	wantRefused(t, err, "backs loop device "+over.Path+": detach it first")
	// The one on top is wipeable: nothing uses it or what it sits on.
	if _, err := g.Check(ctx, over.Path); err != nil {
		t.Errorf("idle loop device over an idle one: %v", err)
	}
}

// An image file is compared with loop devices' backing files by device and inode:
// another name for a mounted loop device's backing file, a hard link or the same
// file through a bind mount, is refused like the file itself.
func TestGateRefusesOtherNamesOfLoopBackingFiles(t *testing.T) {
	a, _ := mountedLoop(t)
	g := &Gate{}
	ctx := context.Background()

	t.Run("hard link", func(t *testing.T) {
		link := filepath.Join(t.TempDir(), "link.img")
		if err := os.Link(a.Backing, link); err != nil {
			t.Fatal(err)
		}
		_, err := g.Check(ctx, link)
		wantRefused(t, err, "backs loop device "+a.Path)
	})
	t.Run("bind mount", func(t *testing.T) {
		bind := t.TempDir()
		if out, err := exec.Command("mount", "--bind", filepath.Dir(a.Backing), bind).CombinedOutput(); err != nil {
			t.Fatalf("mount --bind: %v: %s", err, out)
		}
		t.Cleanup(func() {
			if out, err := exec.Command("umount", bind).CombinedOutput(); err != nil {
				t.Errorf("umount %s: %v: %s", bind, err, out)
			}
		})
		_, err := g.Check(ctx, filepath.Join(bind, filepath.Base(a.Backing)))
		wantRefused(t, err, "backs loop device "+a.Path)
	})
	t.Run("another file", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "other.img")
		if err := loopdev.CreateImage(other, 1<<20); err != nil {
			t.Fatal(err)
		}
		if _, err := g.Check(ctx, other); err != nil {
			t.Errorf("unrelated image file: %v", err)
		}
	})
}

// OpenAll checks every target against one scan taken when it is called, with Open's
// checks: a target that grew or was mounted since the plan is refused, while the
// others (a drive and two image files) open with the identity planned.
func TestGateOpenAllChecksEachTargetAgainstOneScan(t *testing.T) {
	loopdev.Require(t, "mkfs.ext4")
	ctx := context.Background()
	a := loopdev.New(t, 8<<20, false, nil)
	b := loopdev.New(t, 8<<20, false, nil)
	c := loopdev.New(t, 32<<20, false, nil)
	if err := c.MkFS("ext4", 0); err != nil {
		t.Fatal(err)
	}
	file, file2 := filepath.Join(t.TempDir(), "disk.img"), filepath.Join(t.TempDir(), "disk2.img")
	for _, f := range []string{file, file2} {
		if err := loopdev.CreateImage(f, 4<<20); err != nil {
			t.Fatal(err)
		}
	}
	scans := 0
	g := &Gate{}
	g.scan = func(ctx context.Context) ([]inventory.Device, error) {
		scans++
		return inventory.Scan(ctx, g.Inventory)
	}
	var planned []Target
	for _, p := range []string{a.Path, b.Path, c.Path, file, file2} {
		tgt, err := g.Check(ctx, p)
		if err != nil {
			t.Fatalf("check %s: %v", p, err)
		}
		planned = append(planned, tgt)
	}

	// The drives are looked up in the scan taken (here, one where a has another serial).
	other := planned[0].Drive
	other.Serial = "not-" + other.Serial
	if _, err := g.withScan([]inventory.Device{other}).Open(ctx, planned[0]); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "serial") {
		t.Fatalf("open of %s with a scan where it has another serial: %v, want a refusal for the serial", a.Path, err)
	}

	// After the plan, b grows and c is mounted.
	if err := os.Truncate(b.Backing, 16<<20); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("losetup", "--set-capacity", b.Path).CombinedOutput(); err != nil {
		t.Fatalf("losetup --set-capacity: %v: %s", err, out)
	}
	if _, err := c.Mount(0); err != nil {
		t.Fatal(err)
	}

	scans = 0
	hs, errs := g.OpenAll(ctx, planned)
	for _, h := range hs {
		if h != nil {
			defer h.Close()
		}
	}
	if scans != 1 {
		t.Errorf("OpenAll of %d targets scanned the inventory %d times, want once", len(planned), scans)
	}
	for _, i := range []int{0, 3, 4} {
		if errs[i] != nil || hs[i] == nil {
			t.Fatalf("%s: %v", planned[i].Path, errs[i])
		}
		got, want := hs[i].Target.Identity, planned[i].Identity
		if got.DevNo != want.DevNo || got.SizeBytes != want.SizeBytes || got.BackingFile != want.BackingFile || got.Inode != want.Inode {
			t.Errorf("%s: opened %+v, planned %+v", planned[i].Path, got, want)
		}
		if got.ConfirmedBy == "" {
			t.Errorf("%s: opened without confirming its identity through the descriptor", planned[i].Path)
		}
	}
	if hs[1] != nil {
		t.Errorf("%s grew since the plan and was opened", b.Path)
	}
	wantRefused(t, errs[1], "size")
	if hs[2] != nil {
		t.Errorf("%s was mounted since the plan and was opened", c.Path)
	}
	wantRefused(t, errs[2], "mounted")
}
