package store

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/decom-project/decom/internal/pgtest"
	"time"
)

func openSQLiteForTest(t testing.TB, dir string) Store {
	t.Helper()
	s, err := OpenSQLite(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func sqliteDB(t testing.TB) opener {
	dir := t.TempDir()
	return func(t testing.TB) Store { return openSQLiteForTest(t, dir) }
}

func TestSQLite(t *testing.T) {
	testStore(t, sqliteDB)
}

func TestPostgres(t *testing.T) {
	cluster := pgtest.Start(t)
	testStore(t, func(t testing.TB) opener {
		url := cluster.NewDatabase(t)
		return func(t testing.TB) Store {
			t.Helper()
			s, err := OpenPostgres(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			return s
		}
	})

	// Instances starting together migrate the schema once.
	t.Run("ConcurrentOpen", func(t *testing.T) {
		url := cluster.NewDatabase(t)
		var wg sync.WaitGroup
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := Open(context.Background(), t.TempDir(), url)
				if err != nil {
					t.Errorf("Open: %v", err)
					return
				}
				s.Close()
			}()
		}
		wg.Wait()
	})

	t.Run("BadURL", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := OpenPostgres(ctx, "postgres://user:s3cret@[::1/db")
		if !errors.Is(err, ErrInvalid) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("OpenPostgres(bad URL): %v; want ErrInvalid without the password", err)
		}
		_, err = OpenPostgres(ctx, cluster.URL("no_such_database"))
		if err == nil {
			t.Error("OpenPostgres(missing database): no error")
		}
	})
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data dir?#%")
	s, err := Open(ctx, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.(*sqlStore).d.(sqliteDialect); !ok {
		t.Errorf("Open(dir, \"\") is %s, want sqlite", s.(*sqlStore).d.name())
	}
	if _, err := os.Stat(filepath.Join(dir, SQLiteFile)); err != nil {
		t.Errorf("no database in the data directory: %v", err)
	}
	if _, err := Open(ctx, dir, "mysql://localhost/db"); !errors.Is(err, ErrInvalid) {
		t.Errorf("Open(mysql://): %v, want ErrInvalid", err)
	}
	if _, err := OpenSQLite(ctx, ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("OpenSQLite(\"\"): %v, want ErrInvalid", err)
	}
}

// TestSQLitePragmas checks the settings the durability and concurrency claims
// rest on, on the writer and on the readers.
func TestSQLitePragmas(t *testing.T) {
	ctx := context.Background()
	s := openSQLiteForTest(t, t.TempDir()).(*sqlStore)
	for _, db := range []struct {
		name string
		q    func(string) (string, error)
	}{
		{"writer", func(p string) (v string, err error) { return v, s.w.QueryRowContext(ctx, "PRAGMA "+p).Scan(&v) }},
		{"reader", func(p string) (v string, err error) { return v, s.r.QueryRowContext(ctx, "PRAGMA "+p).Scan(&v) }},
	} {
		for pragma, want := range map[string]string{"journal_mode": "wal", "synchronous": "2", "busy_timeout": "10000"} {
			got, err := db.q(pragma)
			if err != nil || got != want {
				t.Errorf("%s: PRAGMA %s = %q, %v; want %q", db.name, pragma, got, err, want)
			}
		}
	}
	if _, err := s.r.ExecContext(ctx, `DELETE FROM certificates`); err == nil {
		t.Error("a reader connection wrote")
	}
	if got, err := s.w.Stats().MaxOpenConnections, error(nil); got != 1 || err != nil {
		t.Errorf("writer pool of %d connections, want 1", got)
	}
}

// TestSQLiteFilesHoldNoToken greps the database files themselves, WAL included,
// for a token's plaintext.
func TestSQLiteFilesHoldNoToken(t *testing.T) {
	dir := t.TempDir()
	s := openSQLiteForTest(t, dir)
	var toks []string
	for i := range 20 {
		tok, err := s.CreateToken(context.Background(), fmt.Sprint("agent-", i))
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
	}
	check := func(when string) {
		files, _ := filepath.Glob(filepath.Join(dir, SQLiteFile+"*"))
		if len(files) == 0 {
			t.Fatal("no database files")
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, tok := range toks {
				if bytes.Contains(b, []byte(tok)) || bytes.Contains(b, []byte(tok[len(TokenPrefix):])) {
					t.Errorf("%s: %s holds a token", when, filepath.Base(f))
				}
			}
		}
	}
	check("open")
	s.Close()
	check("closed")
}

// TestSQLiteSurvivesKill runs a writer in a child process, kills it with SIGKILL
// while 16 goroutines write, and checks that every certificate the child saw
// acknowledged is in the database, which is intact.
func TestSQLiteSurvivesKill(t *testing.T) {
	if dir := os.Getenv("DECOM_STORE_KILL_CHILD"); dir != "" {
		killChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("short")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSQLiteSurvivesKill$", "-test.count=1")
	cmd.Env = append(os.Environ(), "DECOM_STORE_KILL_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		line := sc.Text()
		if id, ok := strings.CutPrefix(line, "acked "); ok {
			acked = append(acked, id)
		}
		if len(acked) == 3000 && !killed {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("the child stopped after %d acknowledged puts: %v\n%s", len(acked), err, stderr.Bytes())
	}
	s := openSQLiteForTest(t, dir)
	ctx := context.Background()
	for _, id := range acked {
		if _, err := s.GetCertificate(ctx, id); err != nil {
			t.Fatalf("acknowledged before the kill, lost: %v", err)
		}
	}
	var check string
	if err := s.(*sqlStore).r.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check: %q, %v", check, err)
	}
	t.Logf("%d acknowledged puts before SIGKILL, all there after", len(acked))
}

// killChild writes until killed, printing each acknowledged ID; it gives up after
// a minute in case its parent is gone.
func killChild(dir string) {
	s, err := OpenSQLite(context.Background(), dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var (
		n  atomic.Int64
		mu sync.Mutex
	)
	deadline := time.Now().Add(time.Minute)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				r := testRecord(int(n.Add(1)))
				if _, _, err := s.PutCertificate(context.Background(), r); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "acked %s\n", r.ID)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	os.Exit(2)
}

// TestSQLiteGroupCommit puts from many goroutines at once so that groups form,
// with duplicates, conflicting bundles and a conflicting log index among them:
// each caller gets its own answer, as if it had been alone.
func TestSQLiteGroupCommit(t *testing.T) {
	ctx := context.Background()
	s := openSQLiteForTest(t, t.TempDir())
	taken := uint64(5)
	first := testRecord(100000)
	first.LogIndex = &taken
	put(t, s, first)
	const n = 400
	type result struct {
		created bool
		err     error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := testRecord(i % (n / 2)) // every record twice
			switch {
			case i == n-1:
				r = testRecord(n) // a new record, with a taken log index
				r.LogIndex = &taken
			case i >= n/2 && i%10 == 0:
				r.Bundle = []byte(`{"different":true}`)
			}
			<-start
			_, created, err := s.PutCertificate(ctx, r)
			results[i] = result{created, err}
		}()
	}
	close(start)
	wg.Wait()
	for i := range n / 2 {
		a, b := results[i], results[i+n/2]
		switch j := i + n/2; {
		case j == n-1:
			if a.err != nil || !a.created || !errors.Is(b.err, ErrConflict) {
				t.Errorf("record %d and a new one with a taken log index: %+v, %+v; want created, ErrConflict", i, a, b)
			}
		case j%10 == 0: // the same ID with another bundle: one wins, one conflicts
			if a.created == b.created || !errors.Is(a.err, ErrConflict) && !errors.Is(b.err, ErrConflict) {
				t.Errorf("record %d, two bundles: %+v, %+v; want one created, one ErrConflict", i, a, b)
			}
		default: // the same record twice: one creates, one finds it
			if a.err != nil || b.err != nil || a.created == b.created {
				t.Errorf("record %d put twice: %+v, %+v; want one created", i, a, b)
			}
		}
	}
	if got := searchAll(t, s, Query{Limit: MaxLimit}); len(got) != n/2+1 {
		t.Errorf("%d rows, want %d", len(got), n/2+1)
	}
	// The groups after the first ran the prepared statements (every result above
	// came through them as well).
	if m := s.(*sqlStore).batch.stmts.m; len(m) == 0 {
		t.Error("the batcher prepared none of its statements")
	}
	// Reads of one certificate go through one prepared statement, and give the same.
	a, errA := s.GetCertificate(ctx, first.ID)
	b, errB := s.GetCertificate(ctx, first.ID)
	if errA != nil || errB != nil || !reflect.DeepEqual(a, b) || a.ID != first.ID {
		t.Errorf("GetCertificate twice: %+v, %v; %+v, %v", a, errA, b, errB)
	}
	prepared := 0
	s.(*sqlStore).readStmts.Range(func(any, any) bool { prepared++; return true })
	if prepared != 1 {
		t.Errorf("%d read statements prepared, want 1", prepared)
	}

	// A caller that has given up is not stored.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := s.PutCertificate(cancelled, testRecord(n+1)); !errors.Is(err, context.Canceled) {
		t.Errorf("PutCertificate(cancelled): %v", err)
	}
}

// TestSQLiteCloseWhilePutting: puts racing Close end with an answer, not a hang.
func TestSQLiteCloseWhilePutting(t *testing.T) {
	s, err := OpenSQLite(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var stored atomic.Int64
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				if _, _, err := s.PutCertificate(context.Background(), testRecord(g*100000+i)); err != nil {
					return
				}
				stored.Add(1)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("puts still blocked 10 s after Close")
	}
	if stored.Load() == 0 {
		t.Error("nothing stored before Close")
	}
}

// The webhook claim reads the pending deliveries' index, never the index of every
// delivery made to an endpoint, which grows with each certificate ever logged.
func TestSQLiteClaimReadsOnlyPending(t *testing.T) {
	s := openSQLiteForTest(t, t.TempDir()).(*sqlStore)
	rows, err := s.w.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+claimQuery(s.d, []string{"$5"}),
		"h", int64(2), int64(1), 64, "http://127.0.0.1:1/a")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	text := strings.Join(plan, "\n")
	if !strings.Contains(text, "webhook_deliveries_due") || strings.Contains(text, "autoindex_webhook_deliveries") {
		t.Errorf("the claim's plan does not go through the pending deliveries' index:\n%s", text)
	}
}
