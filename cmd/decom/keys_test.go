package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair; both ends are closed when the test ends.
func openPTY(t *testing.T) (controller, terminal *os.File) {
	t.Helper()
	controller, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	t.Cleanup(func() { controller.Close() })
	if err := unix.IoctlSetPointerInt(int(controller.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(int(controller.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pseudo-terminal number: %v", err)
	}
	terminal, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { terminal.Close() })
	return controller, terminal
}

// TestKeysGenerateEmptyPassphraseAtTerminal: pressing Enter at the passphrase
// prompt is refused with one line and exit code 9; nothing is written.
func TestKeysGenerateEmptyPassphraseAtTerminal(t *testing.T) {
	t.Setenv(passphraseEnv, "") // restored when the test ends
	os.Unsetenv(passphraseEnv)  // the terminal is asked
	controller, terminal := openPTY(t)
	out := filepath.Join(t.TempDir(), "site")
	// Enter, and Enter again should the confirmation be asked.
	if _, err := controller.Write([]byte("\n\n")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"keys", "generate", "--out", out}, terminal, &stdout, &stderr) }()
	var code int
	select {
	case code = <-done:
	case <-time.After(30 * time.Second):
		terminal.Close() // ends the read
		t.Fatalf("decom keys generate still waits for input; stderr %q", stderr.String())
	}
	msg := strings.TrimPrefix(stderr.String(), "Passphrase for the new key: \n")
	if code != exitBadInput || !strings.HasPrefix(msg, "decom: an empty passphrase would leave the key unprotected") ||
		strings.Count(msg, "\n") != 1 {
		t.Errorf("exit %d, stdout %q, stderr %q; want %d and one line refusing the empty passphrase", code, stdout.String(), stderr.String(), exitBadInput)
	}
	for _, suffix := range []string{".key", ".pub", ".unencrypted.key"} {
		if _, err := os.Stat(out + suffix); err == nil {
			t.Errorf("%s written", out+suffix)
		}
	}
}
