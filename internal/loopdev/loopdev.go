// Package loopdev creates and removes loop devices for decom's tests and demo.
//
// It is the only code in decom that attaches loop devices, and it only ever detaches,
// formats or mounts the devices it attached itself: every operation takes the *Loop
// returned by Attach, never a path from elsewhere.
package loopdev

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Loop is a loop device attached by this package.
type Loop struct {
	Path    string // /dev/loopN
	Backing string // the image file behind it
	mounts  []string
}

// Name is the kernel name, loopN.
func (l *Loop) Name() string { return filepath.Base(l.Path) }

// CreateImage makes a sparse image file of size bytes.
func CreateImage(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Attach attaches image to the first free loop device. With partscan the kernel
// reads the image's partition table and creates /dev/loopNpM devices.
func Attach(image string, partscan bool) (*Loop, error) {
	args := []string{"--find", "--show"}
	if partscan {
		args = append(args, "--partscan")
	}
	out, err := command("losetup", append(args, image)...)
	if err != nil {
		return nil, err
	}
	path := strings.TrimSpace(out)
	if !strings.HasPrefix(path, "/dev/loop") {
		return nil, fmt.Errorf("losetup printed %q, not a loop device", path)
	}
	return &Loop{Path: path, Backing: image}, nil
}

// Detach unmounts whatever Mount mounted and detaches the device.
func (l *Loop) Detach() error {
	var errs []string
	for i := len(l.mounts) - 1; i >= 0; i-- {
		if _, err := command("umount", l.mounts[i]); err != nil {
			errs = append(errs, err.Error())
		}
	}
	l.mounts = nil
	if _, err := command("losetup", "--detach", l.Path); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// PartitionPath is the device of partition n, /dev/loopNpM.
func (l *Loop) PartitionPath(n int) string { return fmt.Sprintf("%sp%d", l.Path, n) }

// MkFS creates a filesystem of type fstype (ext4, vfat, …) on the loop device or, with
// part > 0, on its partition part.
func (l *Loop) MkFS(fstype string, part int) error {
	dev := l.Path
	if part > 0 {
		dev = l.PartitionPath(part)
	}
	args := []string{"-t", fstype}
	if strings.HasPrefix(fstype, "ext") {
		args = append(args, "-q", "-F")
	}
	_, err := command("mkfs", append(args, dev)...)
	return err
}

// Mount mounts the loop device (or its partition part) on a new directory beside the
// backing image and returns it; Detach unmounts it.
func (l *Loop) Mount(part int) (string, error) {
	dev := l.Path
	if part > 0 {
		dev = l.PartitionPath(part)
	}
	dir := filepath.Join(filepath.Dir(l.Backing), fmt.Sprintf("mnt-%s-%d", l.Name(), len(l.mounts)))
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", err
	}
	if _, err := command("mount", dev, dir); err != nil {
		return "", err
	}
	l.mounts = append(l.mounts, dir)
	return dir, nil
}

func command(name string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
