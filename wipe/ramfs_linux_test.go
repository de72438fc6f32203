package wipe

import (
	"testing"

	"golang.org/x/sys/unix"
)

// mountRamfs mounts a ramfs on dir for the test's duration. ramfs has no O_DIRECT
// (tmpfs has had it since Linux 6.6).
func mountRamfs(t *testing.T, dir string) error {
	if err := unix.Mount("ramfs", dir, "ramfs", 0, ""); err != nil {
		return err
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return nil
}
