package wipe

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// fileLock is one line of /proc/locks: a lock held on a file, or (Waiting) a request
// blocked behind the lock of the line before it.
//
//	1: FLOCK  ADVISORY  WRITE 1234 00:05:123 0 EOF
//	1: -> FLOCK  ADVISORY  WRITE 5678 00:05:123 0 EOF
type fileLock struct {
	Waiting bool
	// Class is FLOCK (flock(2), the BSD lock systemd and udev use on block devices),
	// POSIX (fcntl), OFDLCK (open file description locks), LEASE or DELEG.
	Class string
	// Access is READ (shared), WRITE (exclusive) or UNLCK.
	Access string
	// PID is the process that took the lock, as seen from the reader's PID namespace;
	// 0 or -1 when there is none to name (an OFD lock, another namespace).
	PID int
	// Major and Minor number the filesystem holding the locked file (for a block
	// device node, usually devtmpfs), Inode the file.
	Major, Minor uint32
	Inode        uint64
}

// Exclusive reports whether the lock keeps every other locker out.
func (l fileLock) Exclusive() bool { return l.Access == "WRITE" }

// parseLocks reads /proc/locks. Lines it does not understand (a lock on no inode, a
// format a later kernel may bring) are skipped: the result names the holders it can,
// and a caller that finds none says so.
func parseLocks(r io.Reader) ([]fileLock, error) {
	var out []fileLock
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if l, ok := parseLockLine(sc.Text()); ok {
			out = append(out, l)
		}
	}
	return out, sc.Err()
}

func parseLockLine(line string) (fileLock, bool) {
	f := strings.Fields(line)
	if len(f) == 0 || !strings.HasSuffix(f[0], ":") {
		return fileLock{}, false
	}
	if _, err := strconv.ParseUint(strings.TrimSuffix(f[0], ":"), 10, 64); err != nil {
		return fileLock{}, false
	}
	var l fileLock
	f = f[1:]
	if len(f) > 0 && f[0] == "->" {
		l.Waiting = true
		f = f[1:]
	}
	// CLASS MODE ACCESS PID MAJ:MIN:INODE START END
	if len(f) < 5 {
		return fileLock{}, false
	}
	l.Class, l.Access = f[0], f[2]
	pid, err := strconv.Atoi(f[3])
	if err != nil {
		return fileLock{}, false
	}
	l.PID = pid
	id := strings.Split(f[4], ":")
	if len(id) != 3 {
		return fileLock{}, false
	}
	major, err1 := strconv.ParseUint(id[0], 16, 32)
	minor, err2 := strconv.ParseUint(id[1], 16, 32)
	inode, err3 := strconv.ParseUint(id[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return fileLock{}, false
	}
	l.Major, l.Minor, l.Inode = uint32(major), uint32(minor), inode
	return l, true
}

// holdersOf returns the locks held (not waited for) on the file major:minor:inode.
func holdersOf(locks []fileLock, major, minor uint32, inode uint64) []fileLock {
	var out []fileLock
	for _, l := range locks {
		if !l.Waiting && l.Major == major && l.Minor == minor && l.Inode == inode {
			out = append(out, l)
		}
	}
	return out
}
