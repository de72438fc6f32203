package wipe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// sharedLockWait is how long the gate waits for shared BSD locks on a target to go:
// udev holds one while it probes a device (after it was attached or closed after
// writing, say), for a moment. An exclusive lock is somebody's claim on the device
// and is refused at once.
var sharedLockWait = 5 * time.Second

// lockExclusive takes a non-blocking exclusive BSD lock (flock) on f, the way systemd
// and udev lock a block device they work on: udev does not probe a device somebody
// holds locked, and a program that holds one is not interrupted. When another holder
// keeps it, the returned reason names the holders from /proc/locks.
func lockExclusive(ctx context.Context, f *os.File, name string) (reason string, err error) {
	deadline := time.Now().Add(sharedLockWait)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return "", nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return "", fmt.Errorf("lock %s: %w", name, err)
		}
		holders := lockHolders(f)
		exclusive := false
		for _, h := range holders {
			exclusive = exclusive || h.Exclusive()
		}
		if exclusive || time.Now().After(deadline) {
			return lockedReason(name, holders), nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// lockHolders lists the locks others hold on the file f is open on.
func lockHolders(f *os.File) []fileLock {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil
	}
	pl, err := os.Open("/proc/locks")
	if err != nil {
		return nil
	}
	defer pl.Close()
	locks, _ := parseLocks(pl)
	return holdersOf(locks, unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
}

// lockedReason says who holds name locked, in a refusal's words.
func lockedReason(name string, holders []fileLock) string {
	if len(holders) == 0 {
		return fmt.Sprintf("locked by another program: %s is held with a BSD lock (flock) whose holder /proc/locks does not name", name)
	}
	var who []string
	for _, h := range holders {
		kind := "a shared"
		if h.Exclusive() {
			kind = "an exclusive"
		}
		who = append(who, fmt.Sprintf("%s holds %s %s lock", processName(h.PID), kind, strings.ToLower(h.Class)))
	}
	return fmt.Sprintf("locked by another program: %s on %s (the convention systemd and udev use to claim a device; stop that program, or wait for it)",
		strings.Join(who, ", "), name)
}

// processName names a process for people: "flock (PID 1234)".
func processName(pid int) string {
	if pid <= 0 {
		return "a process /proc/locks does not name"
	}
	comm, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	name := strings.TrimSpace(string(comm))
	switch {
	case pid == os.Getpid():
		return fmt.Sprintf("decom itself (PID %d)", pid)
	case err != nil || name == "":
		return fmt.Sprintf("PID %d", pid)
	}
	return fmt.Sprintf("%s (PID %d)", name, pid)
}
