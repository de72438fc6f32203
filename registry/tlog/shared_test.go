package tlog

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// Environment of the shared-log helper process (TestSharedChild).
const (
	sharedDirEnv    = "DECOM_TLOG_SHARED_DIR"
	sharedKeyEnv    = "DECOM_TLOG_SHARED_SKEY"
	sharedParityEnv = "DECOM_TLOG_SHARED_PARITY"
)

// sharedEntries is how many entries the two processes of TestSharedProcesses log between them.
const sharedEntries = 1200

// TestSharedChild is not a test: TestSharedProcesses runs the test binary again with this test
// selected. It opens the log with OpenShared and appends the entries n < sharedEntries whose
// parity is its own, from 32 goroutines, printing "ack n index" for each; then "done", and, when
// a line arrives on its stdin, appends every entry of the other parity (which the other process
// logged) and prints their indexes the same way, then "end".
func TestSharedChild(t *testing.T) {
	dir := os.Getenv(sharedDirEnv)
	if dir == "" {
		t.Skip("helper process for TestSharedProcesses")
	}
	signer, err := note.NewSigner(os.Getenv(sharedKeyEnv))
	if err != nil {
		t.Fatal(err)
	}
	parity, _ := strconv.Atoi(os.Getenv(sharedParityEnv))
	ctx := context.Background()
	l, err := OpenShared(ctx, dir, signer)
	if err != nil {
		fmt.Printf("err %v\n", err)
		return
	}
	defer l.Close()
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(os.Stdout, format, args...)
	}
	appendParity := func(p int) {
		var wg sync.WaitGroup
		for w := range 32 {
			wg.Go(func() {
				for n := 2*w + p; n < sharedEntries; n += 64 {
					idx, err := l.Append(ctx, makeEntry(uint64(n)))
					if err != nil {
						say("err %d %v\n", n, err)
						continue
					}
					say("ack %d %d\n", n, idx)
				}
			})
		}
		wg.Wait()
	}
	appendParity(parity)
	say("done\n")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		say("err stdin: %v\n", err)
		return
	}
	appendParity(1 - parity)
	say("end\n")
}

// TestSharedProcesses runs two processes that append to one log directory at the same time, as
// registry instances behind a load balancer do. Their entries interleave in one tree; then each
// appends the entries the other logged and must get the other's indexes back, not new entries.
func TestSharedProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two child processes")
	}
	signer, skey, vkey := testKey(t, testOrigin)
	dir := logDir(t)

	type child struct {
		cmd   *exec.Cmd
		stdin io.WriteCloser
		lines chan string
	}
	start := func(parity int) *child {
		cmd, stdin, stdout := startChild(t, "TestSharedChild",
			sharedDirEnv+"="+dir, sharedKeyEnv+"="+skey, sharedParityEnv+"="+strconv.Itoa(parity))
		c := &child{cmd: cmd, stdin: stdin, lines: make(chan string, 64)}
		go func() {
			defer close(c.lines)
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				c.lines <- sc.Text()
			}
		}()
		return c
	}
	children := []*child{start(0), start(1)}

	// first[n] is the index entry n got from the process that logged it; again[n] the index the
	// other process got appending the same bytes afterwards.
	first := map[uint64]uint64{}
	again := map[uint64]uint64{}
	read := func(c *child, parity int, until string, into map[uint64]uint64) {
		for line := range c.lines {
			if line == until {
				return
			}
			var n, idx uint64
			if _, err := fmt.Sscanf(line, "ack %d %d", &n, &idx); err != nil {
				t.Fatalf("process %d: %q", parity, line)
			}
			into[n] = idx
		}
		t.Fatalf("process %d ended before %q", parity, until)
	}
	for p, c := range children {
		read(c, p, "done", first)
	}
	for _, c := range children {
		if _, err := io.WriteString(c.stdin, "again\n"); err != nil {
			t.Fatal(err)
		}
	}
	for p, c := range children {
		read(c, p, "end", again)
	}
	for _, c := range children {
		if err := c.cmd.Wait(); err != nil {
			t.Fatalf("child: %v", err)
		}
	}

	if len(first) != sharedEntries || len(again) != sharedEntries {
		t.Fatalf("%d entries acknowledged first, %d again; want %d each", len(first), len(again), sharedEntries)
	}
	seen := map[uint64]uint64{}
	for n := range uint64(sharedEntries) {
		idx := first[n]
		if m, dup := seen[idx]; dup {
			t.Errorf("entries %d and %d both got index %d", m, n, idx)
		}
		seen[idx] = n
		if again[n] != idx {
			t.Errorf("entry %d: index %d from the process that logged it, %d from the other", n, idx, again[n])
		}
	}
	// The processes appended at the same time: in index order, the parities alternate often.
	switches := 0
	for idx := uint64(1); idx < sharedEntries; idx++ {
		if seen[idx]%2 != seen[idx-1]%2 {
			switches++
		}
	}
	if switches < 2 {
		t.Errorf("the two processes' entries interleave only %d times: they did not append concurrently", switches)
	}

	// The log holds each entry once, provably, under the key both processes signed with.
	ctx := context.Background()
	l, err := Open(ctx, dir, signer)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, cp := latest(t, l, vkey)
	if cp.Size != sharedEntries {
		t.Fatalf("the log has %d entries, want %d: some were logged twice", cp.Size, sharedEntries)
	}
	for n, idx := range first {
		p, err := l.InclusionProof(ctx, idx, cp.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyInclusion(makeEntry(n), idx, p, cp); err != nil {
			t.Errorf("entry %d at %d: %v", n, idx, err)
		}
	}
	t.Logf("two processes logged %d entries into one tree of %d, their entries interleaving %d times", sharedEntries, cp.Size, switches)
}

// TestSharedExcludesSole: a directory open with Open cannot be shared, and the other way round.
func TestSharedExcludesSole(t *testing.T) {
	s, _, _ := testKey(t, testOrigin)
	dir := logDir(t)
	ctx := context.Background()

	// Two sharers in one process only to test the locks: tessera's own locks are per process,
	// so real sharers are separate processes.
	a, err := OpenShared(ctx, dir, s)
	if err != nil {
		t.Fatal(err)
	}
	b, err := OpenShared(ctx, dir, s)
	if err != nil {
		t.Fatalf("second OpenShared: %v", err)
	}
	if _, err := Open(ctx, dir, s); !errors.Is(err, ErrLocked) {
		t.Errorf("Open of a shared directory: %v, want ErrLocked", err)
	}
	idx, err := a.Append(ctx, []byte("from a"))
	if err != nil {
		t.Fatal(err)
	}
	// b learns of a's entry when asked to append the same bytes.
	if got, err := b.Append(ctx, []byte("from a")); err != nil || got != idx {
		t.Errorf("b appending a's entry: %d, %v; want %d", got, err, idx)
	}
	for _, l := range []*Log{a, b} {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}

	sole, err := Open(ctx, dir, s)
	if err != nil {
		t.Fatal(err)
	}
	defer sole.Close()
	if _, err := OpenShared(ctx, dir, s); !errors.Is(err, ErrLocked) {
		t.Errorf("OpenShared of a directory open with Open: %v, want ErrLocked", err)
	}
	raw, err := sole.Checkpoint(ctx)
	if err != nil || !bytes.Contains(raw, []byte("\n1\n")) {
		t.Errorf("checkpoint after two appends of the same bytes: %q, %v; want size 1", raw, err)
	}
}

// Environment of the lock-holder helper process (TestSharedLockCycleChild).
const lockCycleDirEnv = "DECOM_TLOG_LOCKCYCLE_DIR"

// TestSharedLockCycleChild is not a test: TestSharedLockCycle runs the test binary again with
// this test selected. It plays a sharer caught in the middle of sequencing by tessera's rules: it
// takes decom's turn lock (as a shared Log does before it lets tessera sequence) and tessera's
// treeState lock, and then, from a second thread, waits for tessera's gcState lock, which the
// parent holds. It prints "locked" once it holds both locks, and exits (dropping every lock) when
// its stdin closes.
func TestSharedLockCycleChild(t *testing.T) {
	dir := os.Getenv(lockCycleDirEnv)
	if dir == "" {
		t.Skip("helper process for TestSharedLockCycle")
	}
	turn, err := os.OpenFile(filepath.Join(dir, turnLockFileName), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(turn.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if _, err := fcntlLock(filepath.Join(dir, ".state", "treeState.lock"), syscall.F_SETLKW); err != nil {
		t.Fatal(err)
	}
	go func() {
		// Blocks until the parent lets go of gcState.lock.
		_, _ = fcntlLock(filepath.Join(dir, ".state", "gcState.lock"), syscall.F_SETLKW)
	}()
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// fcntlLock opens path and write-locks the whole file with a POSIX record lock, the way tessera's
// POSIX backend does; cmd is F_SETLK or F_SETLKW. Closing the file drops the lock.
func fcntlLock(path string, cmd int) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: io.SeekStart}
	for {
		err = syscall.FcntlFlock(f.Fd(), cmd, &lk)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// TestSharedLockCycle sets up, deterministically, the lock graph in which Linux refuses tessera's
// treeState lock with EDEADLK: another sharer holds treeState and waits for a lock this process
// holds (here gcState, as this process's garbage collector would). POSIX record locks belong to
// processes, not threads, so the kernel sees a cycle although the two locks are taken by
// unrelated goroutines; tessera's sequencer panics on that error, killing the process. A shared
// Log lets tessera sequence only while it holds the turn lock, which the other sharer holds for as
// long as it holds treeState: an Append made in the middle of this waits, and then succeeds.
func TestSharedLockCycle(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process")
	}
	signer, _, vkey := testKey(t, testOrigin)
	dir := logDir(t)
	ctx := context.Background()
	l, err := OpenShared(ctx, dir, signer)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.Append(ctx, makeEntry(0)); err != nil {
		t.Fatal(err)
	}

	gc, err := fcntlLock(filepath.Join(dir, ".state", "gcState.lock"), syscall.F_SETLK)
	if err != nil {
		t.Fatalf("lock gcState.lock: %v", err)
	}
	defer gc.Close()
	cmd, stdin, stdout := startChild(t, "TestSharedLockCycleChild", lockCycleDirEnv+"="+dir)
	if line, err := bufio.NewReader(stdout).ReadString('\n'); line != "locked\n" {
		t.Fatalf("child: %q, %v", line, err)
	}
	waitBlocked(t, cmd.Process.Pid)

	// The trap is set: the kernel refuses this process the treeState lock.
	if f, err := fcntlLock(filepath.Join(dir, ".state", "treeState.lock"), syscall.F_SETLKW); !errors.Is(err, syscall.EDEADLK) {
		if f != nil {
			f.Close()
		}
		t.Fatalf("lock treeState.lock while the child holds it and waits for this process: %v, want EDEADLK", err)
	}

	done := make(chan error, 1)
	go func() {
		_, err := l.Append(ctx, makeEntry(1))
		done <- err
	}()
	// Without the turn lock tessera would sequence the entry within BatchMaxAge, and panic.
	select {
	case err := <-done:
		t.Fatalf("Append returned (%v) while another sharer held the log's locks", err)
	case <-time.After(50 * BatchMaxAge):
	}
	gc.Close()
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Append did not return within 30 s of the other sharer letting go")
	}
	if _, cp := latest(t, l, vkey); cp.Size != 2 {
		t.Errorf("checkpoint of %d entries, want 2", cp.Size)
	}
}

// waitBlocked waits until /proc/locks shows process pid waiting for a POSIX lock.
func waitBlocked(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		raw, err := os.ReadFile("/proc/locks")
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(raw), "\n") {
			f := strings.Fields(line)
			// "2: -> POSIX  ADVISORY  WRITE 1234 00:2a:567 0 EOF"
			if len(f) > 5 && f[1] == "->" && f[2] == "POSIX" && f[5] == strconv.Itoa(pid) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d is not waiting for a lock after 30 s:\n%s", pid, raw)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startChild runs this test binary again, as the test named, with env added, and
// kills it when the test ends; the child's stdin and stdout are the test's to use.
func startChild(t *testing.T, test string, env ...string) (*exec.Cmd, io.WriteCloser, io.ReadCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, stdin, stdout
}
