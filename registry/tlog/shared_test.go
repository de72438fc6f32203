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
	"strconv"
	"sync"
	"testing"

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
		cmd := exec.Command(os.Args[0], "-test.run=^TestSharedChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), sharedDirEnv+"="+dir, sharedKeyEnv+"="+skey, sharedParityEnv+"="+strconv.Itoa(parity))
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
