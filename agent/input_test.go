package agent

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// deadline bounds a wait that should end at once.
const deadline = 10 * time.Second

func waitKey(in Input, ctx context.Context) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- in.WaitKey(ctx) }()
	return ch
}

func TestReaderInputWaitKey(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	r, w := io.Pipe()
	defer w.Close()
	in := ReaderInput(r)

	// A key while WaitKey waits is consumed: it answers no question.
	got := waitKey(in, ctx)
	time.Sleep(50 * time.Millisecond)
	w.Write([]byte("x"))
	if err := <-got; err != nil {
		t.Fatalf("WaitKey: %v", err)
	}
	w.Write([]byte("sdb\n"))
	if l, err := in.ReadLine(ctx); l != "sdb" || err != nil {
		t.Errorf("ReadLine after the key: %q, %v", l, err)
	}

	// Typed before WaitKey: a whole line, or part of one, counts and is gone.
	go w.Write([]byte("early\n"))
	time.Sleep(50 * time.Millisecond)
	if err := in.WaitKey(ctx); err != nil {
		t.Errorf("WaitKey with a line typed ahead: %v", err)
	}
	w.Write([]byte("half"))
	time.Sleep(50 * time.Millisecond)
	if err := in.WaitKey(ctx); err != nil {
		t.Errorf("WaitKey with half a line typed ahead: %v", err)
	}
	w.Write([]byte("yes\n"))
	if l, err := in.ReadLine(ctx); l != "yes" || err != nil {
		t.Errorf("ReadLine: %q, %v", l, err)
	}

	// Nothing typed: the context's end.
	short, stop := context.WithTimeout(ctx, 100*time.Millisecond)
	defer stop()
	if err := in.WaitKey(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitKey without a key: %v", err)
	}
	// No more input can come.
	w.Close()
	if err := in.WaitKey(ctx); err != io.EOF {
		t.Errorf("WaitKey at the end of input: %v", err)
	}
	if err := (noInput{}).WaitKey(ctx); err == nil {
		t.Errorf("noInput.WaitKey: no error")
	}
}

// openPTY opens a pseudo-terminal and returns its master and the path of its slave.
func openPTY(t *testing.T) (*os.File, string) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skipf("ptsname: %v", err)
	}
	return m, "/dev/pts/" + strconv.Itoa(n)
}

// On a real terminal a single key, without Enter, ends WaitKey: the console is read
// key by key while it waits, and by lines again after.
func TestConsoleInputWaitKey(t *testing.T) {
	master, slave := openPTY(t)
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "sys", "class", "tty", "console"), 0o755)
	os.MkdirAll(filepath.Join(root, "dev"), 0o755)
	os.WriteFile(filepath.Join(root, "sys", "class", "tty", "console", "active"), []byte("ttyT0\n"), 0o644)
	if err := os.Symlink(slave, filepath.Join(root, "dev", "ttyT0")); err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(slave, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	canonical := func() bool {
		tio, err := unix.IoctlGetTermios(int(s.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		return tio.Lflag&unix.ICANON != 0
	}
	go io.Copy(io.Discard, master) // the echo
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	in := ConsoleInput(root)

	master.Write([]byte("first\n"))
	if l, err := in.ReadLine(ctx); l != "first" || err != nil {
		t.Fatalf("ReadLine: %q, %v", l, err)
	}
	got := waitKey(in, ctx)
	for canonical() {
		if ctx.Err() != nil {
			t.Fatal("the terminal stays in line mode while WaitKey waits")
		}
		time.Sleep(10 * time.Millisecond)
	}
	master.Write([]byte("x")) // no Enter
	if err := <-got; err != nil {
		t.Fatalf("WaitKey: %v", err)
	}
	if !canonical() {
		t.Errorf("the terminal is left reading key by key")
	}
	master.Write([]byte("sdb\n"))
	if l, err := in.ReadLine(ctx); l != "sdb" || err != nil {
		t.Errorf("ReadLine after the key: %q, %v", l, err)
	}
}
