package tlog

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

// Environment of the crash helper process (TestCrashChild).
const (
	crashDirEnv = "DECOM_TLOG_CRASH_DIR"
	crashKeyEnv = "DECOM_TLOG_CRASH_SKEY"
)

// TestCrashChild is not a test: TestCrashRecovery runs the test binary again with this test
// selected and the environment set. It appends distinct entries from 64 goroutines until it is
// killed, printing "ack <n> <index> <leaf hash>" for each acknowledged append of makeEntry(n) and
// "cp <base64>" for each new checkpoint it sees.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("helper process for TestCrashRecovery")
	}
	signer, err := note.NewSigner(os.Getenv(crashKeyEnv))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	l, err := Open(ctx, dir, signer)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(os.Stdout, format, args...) // one write per line
	}
	var next atomic.Uint64
	for range 64 {
		go func() {
			for {
				n := next.Add(1) - 1
				e := makeEntry(n)
				idx, err := l.Append(ctx, e)
				if err != nil {
					say("err %v\n", err)
					continue
				}
				say("ack %d %d %x\n", n, idx, rfc6962.DefaultHasher.HashLeaf(e))
			}
		}()
	}
	var last []byte
	for {
		cp, _ := l.Checkpoint(ctx)
		if !bytes.Equal(cp, last) {
			say("cp %s\n", base64.StdEncoding.EncodeToString(cp))
			last = cp
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestCrashRecovery kills a process that is appending (SIGKILL, mid-stream) and checks that every
// append it acknowledged is in the reopened log with a valid inclusion proof, that the reopened
// log's checkpoint is consistent with the last one the process saw, and that duplicates are still
// recognised.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process for a few seconds")
	}
	signer, skey, vkey := testKey(t, testOrigin)
	dir := logDir(t)

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashKeyEnv+"="+skey)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	type ack struct {
		n, idx uint64
		hash   string
	}
	var (
		acks    []ack
		lastCP  []byte
		cpsSeen int
		killed  bool
	)
	killAt := time.Now().Add(4 * time.Second)
	r := bufio.NewReader(stdout)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			break // a last line without its newline was cut by the kill: not acknowledged
		}
		switch f := strings.Fields(line); {
		case len(f) == 4 && f[0] == "ack":
			var a ack
			if _, err := fmt.Sscanf(line, "ack %d %d %s", &a.n, &a.idx, &a.hash); err != nil {
				t.Fatalf("bad line %q: %v", line, err)
			}
			acks = append(acks, a)
		case len(f) == 2 && f[0] == "cp":
			if lastCP, err = base64.StdEncoding.DecodeString(f[1]); err != nil {
				t.Fatal(err)
			}
			cpsSeen++
		case len(f) > 0 && f[0] == "err":
			t.Errorf("child: %s", line)
		}
		if !killed && (len(acks) >= 3000 || time.Now().After(killAt)) {
			if err := cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			killed = true
		}
	}
	waitErr := cmd.Wait()
	if !killed {
		t.Fatalf("child exited by itself: %v\n%s", waitErr, stderr.String())
	}
	if len(acks) < 100 || lastCP == nil {
		t.Fatalf("child acknowledged only %d appends, printed %d checkpoints\n%s", len(acks), cpsSeen, stderr.String())
	}
	t.Logf("child acknowledged %d appends and printed %d checkpoints before SIGKILL", len(acks), cpsSeen)

	ctx := context.Background()
	l, err := Open(ctx, dir, signer)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	old, err := VerifyCheckpoint(lastCP, vkey)
	if err != nil {
		t.Fatal(err)
	}
	_, cp := latest(t, l, vkey)
	if cp.Size < old.Size {
		t.Fatalf("reopened checkpoint size %d < %d seen before the crash", cp.Size, old.Size)
	}
	cproof, err := l.ConsistencyProof(ctx, old.Size, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyConsistency(old, cp, cproof); err != nil {
		t.Fatalf("reopened log is not consistent with the checkpoint seen before the crash: %v", err)
	}

	for i, a := range acks {
		e := makeEntry(a.n)
		if h := hex.EncodeToString(rfc6962.DefaultHasher.HashLeaf(e)); h != a.hash {
			t.Fatalf("ack %d: leaf hash %s, child printed %s", a.n, h, a.hash)
		}
		p, err := l.InclusionProof(ctx, a.idx, cp.Size)
		if err != nil {
			t.Fatalf("acknowledged entry %d at index %d: %v", a.n, a.idx, err)
		}
		if err := VerifyInclusion(e, a.idx, p, cp); err != nil {
			t.Fatalf("acknowledged entry %d at index %d: %v", a.n, a.idx, err)
		}
		if got, ok := l.Lookup(e); !ok || got != a.idx {
			t.Fatalf("Lookup(entry %d) = %d, %v; want %d", a.n, got, ok, a.idx)
		}
		if i%100 == 0 {
			if got, err := l.Append(ctx, e); err != nil || got != a.idx {
				t.Fatalf("re-append of entry %d after the crash: %d, %v; want %d", a.n, got, err, a.idx)
			}
		}
	}
	// The log goes on.
	idx, err := l.Append(ctx, []byte("after the crash"))
	if err != nil || idx < cp.Size {
		t.Fatalf("append after the crash: %d, %v", idx, err)
	}
}
