package loopdev

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Require stops the test unless it runs as root with the given commands at hand.
// Under CI (CI=true) a missing prerequisite fails the test: CI must never turn into a
// silent skip. Elsewhere the test is skipped with the reason.
func Require(t testing.TB, commands ...string) {
	t.Helper()
	stop := t.Skipf
	if os.Getenv("CI") == "true" {
		stop = t.Fatalf
	}
	if os.Geteuid() != 0 {
		stop("needs root to attach loop devices (run make test as root)")
		return
	}
	for _, c := range append([]string{"losetup", "mount", "umount"}, commands...) {
		if _, err := exec.LookPath(c); err != nil {
			stop("needs %s (make deps installs it)", c)
			return
		}
	}
}

// New attaches a fresh loop device over a sparse image of size bytes in a temporary
// directory, and detaches it (unmounting what the test mounted) when the test ends,
// whether it passed or not. prepare, when not nil, runs on the image before it is
// attached (to write a partition table, say).
func New(t testing.TB, size int64, partscan bool, prepare func(image string) error) *Loop {
	t.Helper()
	Require(t)
	image := filepath.Join(t.TempDir(), "disk.img")
	if err := CreateImage(image, size); err != nil {
		t.Fatal(err)
	}
	if prepare != nil {
		if err := prepare(image); err != nil {
			t.Fatal(err)
		}
	}
	return attach(t, image, partscan)
}

// Over attaches a loop device over path (an image file or a block device the test made
// itself) and detaches it when the test ends — before what it sits on goes, since
// cleanups run last-registered first.
func Over(t testing.TB, path string) *Loop {
	t.Helper()
	Require(t)
	return attach(t, path, false)
}

// attach attaches a loop device over path and detaches it (unmounting what the test
// mounted) when the test ends, whether it passed or not.
func attach(t testing.TB, path string, partscan bool) *Loop {
	t.Helper()
	l, err := Attach(path, partscan)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Detach(); err != nil {
			t.Errorf("cleanup of %s: %v", l.Path, err)
		}
	})
	return l
}
