package agent

import (
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// ConsoleInput reads the keyboards of every active console, as the kernel lists them
// in /sys/class/tty/console/active (in the boot image the screen's tty0 and the serial
// port ttyS0, whose input /dev/console alone would not merge): the first line typed on
// any of them answers. Without any it reads /dev/console.
func ConsoleInput(root string) Input {
	in := newLineInput()
	var files []*os.File
	var names []string
	for _, name := range strings.Fields(readAttr(filepath.Join(root, "sys", "class", "tty", "console", "active"))) {
		f, err := os.OpenFile(filepath.Join(root, "dev", name), os.O_RDWR|unix.O_NOCTTY, 0)
		if err == nil {
			files = append(files, f)
			names = append(names, name)
		}
	}
	if len(files) == 0 {
		if f, err := os.OpenFile(filepath.Join(root, "dev", "console"), os.O_RDWR|unix.O_NOCTTY, 0); err == nil {
			files = append(files, f)
			names = append(names, "console")
		}
	}
	readers := make([]io.Reader, len(files))
	for i, f := range files {
		readers[i] = f
	}
	in.echo = func(on bool) {
		for _, f := range files {
			t, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
			if err != nil {
				continue
			}
			if on {
				t.Lflag |= unix.ECHO
			} else {
				t.Lflag &^= unix.ECHO
			}
			unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, t)
		}
	}
	var saved []*unix.Termios // each terminal's settings before keyMode(true)
	in.keyMode = func(on bool) {
		if on {
			saved = make([]*unix.Termios, len(files))
		}
		for i, f := range files {
			if !on {
				if i < len(saved) && saved[i] != nil {
					unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, saved[i])
				}
				continue
			}
			t, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
			if err != nil {
				continue
			}
			orig := *t
			saved[i] = &orig
			// A read returns each key as it is pressed, not echoed.
			t.Lflag &^= unix.ICANON | unix.ECHO
			t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
			unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, t)
		}
	}
	if in.screen = screenConsole(files, names); in.screen != nil {
		in.screen.in = in
	}
	in.read(readers...)
	return in
}

// screenConsole is the console the full screen is drawn on: the primary one, which
// /sys/class/tty/console/active lists last (where /dev/console writes, and so the
// agent's lines); the others show the agent's lines meanwhile. nil when it is no
// terminal.
func screenConsole(files []*os.File, names []string) *screenTerm {
	if len(files) == 0 || len(names) != len(files) {
		return nil
	}
	i := len(files) - 1
	f := files[i]
	if _, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err != nil {
		return nil
	}
	st := &screenTerm{primary: i, out: f, name: names[i], term: termFor(names[i])}
	for j, o := range files {
		if j != i {
			st.others = append(st.others, o)
			st.otherNames = append(st.otherNames, names[j])
		}
	}
	var saved *unix.Termios
	st.raw = func(on bool) {
		if !on {
			if saved != nil {
				unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, saved)
			}
			return
		}
		t, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
		if err != nil {
			return
		}
		orig := *t
		saved = &orig
		// Each key as it is pressed, unechoed and untranslated (Enter stays CR),
		// no signals; the output keeps its processing (a newline moves to the
		// start of the next line), which the screen's renderer expects from an
		// input that is no terminal of its own.
		t.Lflag &^= unix.ICANON | unix.ECHO | unix.ECHONL | unix.ISIG | unix.IEXTEN
		t.Iflag &^= unix.ICRNL | unix.INLCR | unix.IGNCR | unix.IXON | unix.ISTRIP
		t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
		unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, t)
	}
	return st
}
