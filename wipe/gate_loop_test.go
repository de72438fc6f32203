package wipe

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/decom-project/decom/internal/loopdev"
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
