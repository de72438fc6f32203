package agent

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// InitOptions configure Init.
type InitOptions struct {
	// AgentArgs are decom's arguments for the agent's process, such as
	// ["agent", "--boot"]; it is started from /proc/self/exe.
	AgentArgs []string
	// InProcess runs the agent in this process, when no process can be started. It
	// should not return.
	InProcess func()
}

// bootEnv is the environment of the agent's process, over what the kernel hands
// PID 1: the registry client keeps its state (pinned log keys, checkpoints) in RAM.
var bootEnv = []string{"PATH=/bin:/sbin", "HOME=/run/decom", "TERM=linux", "TMPDIR=/tmp", "DECOM_STATE_DIR=/run/decom/state"}

// Init is PID 1 of the boot image. It mounts /proc, /sys, /dev (devtmpfs), /run and
// /tmp, makes /dev/console its standard input, output and error, starts the agent in a
// process of its own (so that nothing the agent does can make PID 1 exit, which would
// make the kernel panic) and reaps every orphan that comes to it. The agent ends the
// machine itself; should its process end instead, Init says so on the console, syncs,
// detaches /data and then powers off after two minutes (auto mode with
// decom.poweroff=1) or halts. Init never returns.
func Init(o InitOptions) {
	con := &output{console: os.Stdout, now: time.Now}
	defer func() {
		if r := recover(); r != nil {
			con.Printf("FATAL: init: internal error: %v", r)
			haltInit(con, nil)
		}
	}()
	mountEarly(con)
	if c, err := os.OpenFile("/dev/console", os.O_RDWR|unix.O_NOCTTY, 0); err == nil {
		for fd := 0; fd <= 2; fd++ {
			unix.Dup3(int(c.Fd()), fd, 0)
		}
		c.Close()
	} else {
		con.Printf("init: /dev/console: %v", err)
	}
	for _, d := range []string{"/run/decom", "/etc", "/data"} {
		os.MkdirAll(d, 0o755)
	}
	b, _ := os.ReadFile("/proc/cmdline")
	cmd := ParseCmdline(string(b))
	if !cmd.Debug {
		// Kernel messages below warnings stay off the console (they are in dmesg).
		os.WriteFile("/proc/sys/kernel/printk", []byte("4"), 0)
	}

	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, unix.SIGCHLD, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT,
		unix.SIGUSR1, unix.SIGUSR2, unix.SIGPWR)
	argv := append([]string{"decom"}, o.AgentArgs...)
	pid, err := syscall.ForkExec("/proc/self/exe", argv, &syscall.ProcAttr{
		Dir: "/", Env: append(os.Environ(), bootEnv...), Files: []uintptr{0, 1, 2}, Sys: &syscall.SysProcAttr{Setsid: true},
	})
	if err != nil {
		con.Printf("ERROR: init: starting the agent's process: %v; running it in PID 1", err)
		if o.InProcess != nil {
			o.InProcess()
		}
		haltInit(con, sigs)
	}
	for {
		status, done := waitChild(sigs, pid, con)
		if !done {
			continue
		}
		con.Printf("FATAL: the agent's process ended unexpectedly (%s); see the messages above", status)
		unix.Sync()
		if mounted("/data") {
			if err := unix.Unmount("/data", unix.MNT_DETACH); err != nil {
				con.Printf("ERROR: unmounting /data: %v", err)
			}
			unix.Sync()
		}
		if cmd.Mode == ModeAuto && cmd.PowerOff {
			delay := 2 * time.Minute
			con.Printf("powering off in %v (decom.poweroff=0 keeps the machine on)", delay)
			deadline := time.Now().Add(delay)
			for time.Now().Before(deadline) {
				select {
				case s := <-sigs:
					handleSignal(s, con)
				case <-time.After(time.Until(deadline)):
				}
			}
			con.Printf("powering off")
			err := Linux{}.PowerOff()
			con.Printf("ERROR: power off: %v", err)
		}
		haltInit(con, sigs)
	}
}

// mountEarly mounts the kernel's filesystems where they are not mounted yet.
func mountEarly(con *output) {
	for _, m := range []struct{ source, target, fstype, data string }{
		{"proc", "/proc", "proc", ""},
		{"sysfs", "/sys", "sysfs", ""},
		{"devtmpfs", "/dev", "devtmpfs", "mode=0755"},
		{"tmpfs", "/run", "tmpfs", "mode=0755"},
		{"tmpfs", "/tmp", "tmpfs", "mode=1777"},
	} {
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			con.Printf("init: mkdir %s: %v", m.target, err)
		}
		if isMountPoint(m.target) {
			continue
		}
		flags := uintptr(unix.MS_NOSUID)
		if m.fstype != "devtmpfs" {
			flags |= unix.MS_NODEV
		}
		if m.fstype == "proc" || m.fstype == "sysfs" {
			flags |= unix.MS_NOEXEC
		}
		if err := unix.Mount(m.source, m.target, m.fstype, flags, m.data); err != nil {
			con.Printf("ERROR: init: mounting %s on %s: %v", m.fstype, m.target, err)
		}
	}
}

// isMountPoint reports whether dir is on another filesystem than its parent.
func isMountPoint(dir string) bool {
	var a, b unix.Stat_t
	if unix.Stat(dir, &a) != nil || unix.Stat(dir+"/..", &b) != nil {
		return false
	}
	return a.Dev != b.Dev
}

// mounted reports whether something is mounted on dir, from /proc/self/mounts.
func mounted(dir string) bool {
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[1] == dir {
			return true
		}
	}
	return false
}

// waitChild waits for a signal, reaps every child that ended and reports whether pid
// was one of them, with its status.
func waitChild(sigs chan os.Signal, pid int, con *output) (string, bool) {
	select {
	case s := <-sigs:
		if s != unix.SIGCHLD {
			handleSignal(s, con)
		}
	case <-time.After(5 * time.Second): // a SIGCHLD may have come before Notify
	}
	status, done := "", false
	for {
		var ws unix.WaitStatus
		p, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if p <= 0 || err != nil {
			return status, done
		}
		if p == pid {
			done = true
			switch {
			case ws.Exited():
				status = fmt.Sprintf("exit status %d", ws.ExitStatus())
			case ws.Signaled():
				status = fmt.Sprintf("killed by %v", ws.Signal())
			default:
				status = fmt.Sprintf("status %#x", uint32(ws))
			}
		}
	}
}

func handleSignal(s os.Signal, con *output) {
	if s == unix.SIGCHLD {
		reapAll()
		return
	}
	con.Printf("init: %v ignored", s)
}

func reapAll() {
	for {
		var ws unix.WaitStatus
		if p, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil); p <= 0 || err != nil {
			return
		}
	}
}

// haltInit says the machine may be switched off, and reaps orphans for ever.
func haltInit(con *output, sigs chan os.Signal) {
	con.Printf("halted: it is safe to switch the machine off")
	for {
		if sigs == nil {
			time.Sleep(time.Hour)
			continue
		}
		select {
		case s := <-sigs:
			handleSignal(s, con)
		case <-time.After(time.Minute):
			reapAll()
		}
	}
}
