package station

import (
	"context"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// NetlinkSource reads the kernel's uevents from a NETLINK_KOBJECT_UEVENT socket.
type NetlinkSource struct {
	fd int
}

// NewNetlinkSource opens the kernel's uevent socket (root is needed).
func NewNetlinkSource() (*NetlinkSource, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_KOBJECT_UEVENT)
	if err != nil {
		return nil, fmt.Errorf("uevent socket: %w", err)
	}
	// A larger receive buffer: a dock with several drives sends bursts.
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 4<<20)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: 1, Pid: 0}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("uevent socket: bind: %w", err)
	}
	// A timeout lets Next notice a cancelled context.
	tv := unix.Timeval{Usec: 200_000}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("uevent socket: %w", err)
	}
	return &NetlinkSource{fd: fd}, nil
}

// Next returns the next kernel uevent; messages that are not kernel uevents (udev's,
// or any sent by a process other than the kernel) are skipped. When the socket's
// buffer overran (ENOBUFS) it returns ErrEventsLost; reading may go on.
func (s *NetlinkSource) Next(ctx context.Context) (Uevent, error) {
	buf := make([]byte, 64<<10)
	for {
		if err := ctx.Err(); err != nil {
			return Uevent{}, err
		}
		n, from, err := unix.Recvfrom(s.fd, buf, 0)
		switch {
		case err == unix.EAGAIN || err == unix.EINTR:
			continue
		case err == unix.ENOBUFS:
			// The receive buffer overflowed and events were lost: the station
			// looks at /sys/block for what they said.
			return Uevent{}, ErrEventsLost
		case err != nil:
			return Uevent{}, os.NewSyscallError("recvfrom", err)
		}
		if nl, ok := from.(*unix.SockaddrNetlink); !ok || nl.Pid != 0 {
			continue // only the kernel (port 0) is believed
		}
		u, err := ParseUevent(buf[:n])
		if err != nil {
			continue
		}
		return u, nil
	}
}

// Close closes the socket.
func (s *NetlinkSource) Close() error { return unix.Close(s.fd) }
