package station

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Uevent actions the station acts on.
const (
	ActionAdd    = "add"
	ActionRemove = "remove"
	ActionChange = "change"
)

// Uevent is one kernel uevent: what happened (Action) to which device (DevPath,
// below /sys), with the variables the kernel sent along.
type Uevent struct {
	Action    string
	DevPath   string
	Subsystem string
	// DevName is the node below /dev ("sdb", "nvme0n1"); DevType is "disk" or
	// "partition" for block devices.
	DevName string
	DevType string
	Seqnum  string
	Env     map[string]string
}

// WholeDisk reports whether the event is about a whole block device (not a
// partition).
func (u Uevent) WholeDisk() bool {
	return u.Subsystem == "block" && u.DevType == "disk" && u.DevName != ""
}

var errNotUevent = errors.New("not a kernel uevent")

// ParseUevent reads one kernel uevent message, as the kernel sends it to
// NETLINK_KOBJECT_UEVENT listeners: a header "ACTION@DEVPATH" and then KEY=VALUE
// strings, each ended by a NUL byte. Messages of udev's own protocol (they start with
// "libudev") and anything else malformed are an error; the message is never trusted
// to be well formed.
func ParseUevent(b []byte) (Uevent, error) {
	if bytes.HasPrefix(b, []byte("libudev")) {
		return Uevent{}, fmt.Errorf("%w: a udev message", errNotUevent)
	}
	fields := bytes.Split(bytes.TrimRight(b, "\x00"), []byte{0})
	header := string(fields[0])
	action, devpath, ok := strings.Cut(header, "@")
	if !ok || action == "" || !strings.HasPrefix(devpath, "/") {
		return Uevent{}, fmt.Errorf("%w: header %q", errNotUevent, truncate(header))
	}
	u := Uevent{Env: map[string]string{}}
	for _, f := range fields[1:] {
		if len(f) == 0 {
			continue
		}
		k, v, ok := strings.Cut(string(f), "=")
		if !ok || k == "" {
			return Uevent{}, fmt.Errorf("%w: field %q", errNotUevent, truncate(string(f)))
		}
		u.Env[k] = v
	}
	u.Action, u.DevPath = u.Env["ACTION"], u.Env["DEVPATH"]
	if u.Action == "" {
		u.Action = action
	}
	if u.DevPath == "" {
		u.DevPath = devpath
	}
	if u.Action != action || u.DevPath != devpath {
		return Uevent{}, fmt.Errorf("%w: header %q disagrees with ACTION and DEVPATH", errNotUevent, truncate(header))
	}
	u.Subsystem, u.DevName, u.DevType, u.Seqnum = u.Env["SUBSYSTEM"], u.Env["DEVNAME"], u.Env["DEVTYPE"], u.Env["SEQNUM"]
	// DEVNAME may be given as a path below /dev on some kernels' events.
	u.DevName = strings.TrimPrefix(u.DevName, "/dev/")
	if strings.Contains(u.DevName, "..") || strings.ContainsAny(u.DevName, "\x00") {
		return Uevent{}, fmt.Errorf("%w: device name %q", errNotUevent, truncate(u.DevName))
	}
	return u, nil
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
