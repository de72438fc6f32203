package inventory

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/decom-project/decom/internal/loopdev"
)

// mountOver makes an ext4 filesystem on a loop device the test attached over
// another device and mounts it on a temporary directory until the test ends.
// (loopdev's Mount makes its directory beside the backing file, here in /dev.)
func mountOver(t *testing.T, l *loopdev.Loop) string {
	t.Helper()
	if err := l.MkFS("ext4", 0); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", l.Path, dir).CombinedOutput(); err != nil {
		t.Fatalf("mount %s: %v: %s", l.Path, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// findDevice returns the device at path from a scan, failing the test without it.
func findDevice(t *testing.T, devs []Device, path string) Device {
	t.Helper()
	i := slices.IndexFunc(devs, func(d Device) bool { return d.Path == path })
	if i < 0 {
		t.Fatalf("%s not in the inventory", path)
	}
	return devs[i]
}

// wantRefusal fails the test unless d is not wipeable and one of its refusals
// contains every one of words.
func wantRefusal(t *testing.T, d Device, words ...string) {
	t.Helper()
	if d.Wipeable {
		t.Errorf("%s is wipeable; want it refused (%s)", d.Path, strings.Join(words, " … "))
		return
	}
	for _, r := range d.Refusals {
		if containsAll(r, words) {
			return
		}
	}
	t.Errorf("%s: no refusal says %q; refusals: %q", d.Path, strings.Join(words, " … "), d.Refusals)
}

func containsAll(s string, words []string) bool {
	for _, w := range words {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}

// Loop devices stacked on a mounted loop device, or sharing its backing file, are
// refused with what they sit on; the devices beneath a loop device are refused while
// it is attached. Both ways of resolving a loop device are checked: the kernel's
// LOOP_GET_STATUS64 and sysfs' backing_file.
func TestScanLoopStacks(t *testing.T) {
	loopdev.Require(t, "mkfs.ext4")
	a := loopdev.New(t, 32<<20, false, nil)
	mustMkfs(t, a, 0)
	mnt, err := a.Mount(0)
	if err != nil {
		t.Fatal(err)
	}
	b := loopdev.Over(t, a.Path)    // a loop device over the mounted one
	c := loopdev.Over(t, a.Backing) // a second loop device over its backing file
	d := loopdev.Over(t, b.Path)    // a chain: d over b over a

	// An idle loop device with another one on top, mounted: the one beneath is
	// busy through it.
	g := loopdev.New(t, 32<<20, false, nil)
	h := loopdev.Over(t, g.Path)
	hmnt := mountOver(t, h)

	for _, viaSysfs := range []bool{false, true} {
		name := "ioctl"
		if viaSysfs {
			name = "sysfs"
		}
		t.Run(name, func(t *testing.T) {
			devs, err := Scan(context.Background(), Options{sysfsLoops: viaSysfs})
			if err != nil {
				t.Fatal(err)
			}
			// Each way really was the one taken (the ioctl falls back to sysfs).
			for _, l := range []*loopdev.Loop{a, b, c, d} {
				if bk := findDevice(t, devs, l.Path).Backing; bk == nil || bk.Source != name {
					t.Errorf("%s: backing %+v, want it read by %s", l.Path, bk, name)
				}
			}
			wantRefusal(t, findDevice(t, devs, b.Path), "sits on "+a.Path+", which is mounted on "+mnt)
			wantRefusal(t, findDevice(t, devs, c.Path), "shares its backing file with "+a.Path+", which is mounted on "+mnt)
			wantRefusal(t, findDevice(t, devs, d.Path), "sits on "+b.Path+", which sits on "+a.Path+", which is mounted on "+mnt)
			wantRefusal(t, findDevice(t, devs, a.Path), "backs loop device "+b.Path+": detach it first")
			wantRefusal(t, findDevice(t, devs, b.Path), "backs loop device "+d.Path+": detach it first")
			// d's own share of a's reasons is not passed back to it.
			for _, r := range findDevice(t, devs, d.Path).Refusals {
				if strings.Contains(r, "backs loop device "+d.Path) || strings.Contains(r, "backs loop device "+b.Path) {
					t.Errorf("%s inherits a reason that is about itself: %q", d.Path, r)
				}
			}

			gd := findDevice(t, devs, g.Path)
			wantRefusal(t, gd, "mounted: "+h.Path+" on "+hmnt)
			wantRefusal(t, gd, "backs loop device "+h.Path)
			if !slices.Contains(gd.InUseBy, UseMounted) || !slices.Contains(gd.InUseBy, UseLoop) {
				t.Errorf("%s: in_use_by %q, want mounted and loop", g.Path, gd.InUseBy)
			}
			// h itself is mounted, and not refused for what it sits on: g is busy
			// only because of h.
			hd := findDevice(t, devs, h.Path)
			for _, r := range hd.Refusals {
				if strings.HasPrefix(r, "sits on") {
					t.Errorf("%s inherits its own mount from %s: %q", h.Path, g.Path, r)
				}
			}
		})
	}

	// A lookup of one stacked device sees what it sits on too.
	got, err := Lookup(context.Background(), Options{}, d.Path)
	if err != nil {
		t.Fatal(err)
	}
	wantRefusal(t, got, "sits on "+b.Path+", which sits on "+a.Path+", which is mounted on "+mnt)
	got, err = Lookup(context.Background(), Options{}, c.Path)
	if err != nil {
		t.Fatal(err)
	}
	wantRefusal(t, got, "shares its backing file with "+a.Path+", which is mounted on "+mnt)
}
