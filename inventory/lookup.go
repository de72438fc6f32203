package inventory

import (
	"context"
	"fmt"
	"strings"
)

// lookupDevNo scans just the drive that holds the device numbered devNo.
func lookupDevNo(ctx context.Context, opts Options, path, devNo string) (Device, error) {
	s := sysfs{root: opts.root()}
	n, ok := s.nodes().byDevNo[devNo]
	if !ok {
		return Device{}, fmt.Errorf("%s: %w", path, ErrVanished)
	}
	disk := n.name
	if n.parent != "" {
		disk = n.parent
	}
	if size, _ := readUint(s.blockDir(disk) + "/size"); size == 0 {
		if strings.HasPrefix(disk, "loop") {
			return Device{}, fmt.Errorf("%s: loop device with no backing file: %w", path, ErrNotFound)
		}
	}
	devs, err := scan(ctx, opts, func(name string) bool { return name == disk })
	if err != nil {
		return Device{}, err
	}
	if len(devs) == 0 {
		return Device{}, fmt.Errorf("%s: %w", path, ErrVanished)
	}
	return devs[0], nil
}
