// Package pgtest starts throwaway PostgreSQL servers for tests: Debian's postgresql package,
// a data directory and Unix socket in the test's temporary directory, no TCP listener, stopped
// when the test ends.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// binDir finds PostgreSQL's server programs (initdb, pg_ctl), which Debian keeps
// off $PATH: $DECOM_PG_BINDIR if set, else the newest /usr/lib/postgresql/*/bin
// (the postgresql package), else the directory of pg_ctl on $PATH.
func binDir() (string, error) {
	if d := os.Getenv("DECOM_PG_BINDIR"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err != nil {
			return "", fmt.Errorf("DECOM_PG_BINDIR: %w", err)
		}
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	dirs = slices.DeleteFunc(dirs, func(d string) bool {
		_, err := os.Stat(filepath.Join(d, "initdb"))
		return err != nil
	})
	version := func(d string) int {
		v, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		return v
	}
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) })
	if len(dirs) > 0 {
		return dirs[0], nil
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		d := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("no initdb in /usr/lib/postgresql/*/bin nor on $PATH")
}

// Cluster is a throwaway PostgreSQL server of the test's own: its data and its
// Unix socket in a temporary directory, no TCP listener, stopped at cleanup.
type Cluster struct {
	sockDir string
	dbs     atomic.Int64
	once    sync.Once
	onceErr error
}

// Start starts a cluster for t, or skips t when PostgreSQL is not installed
// (fails it when CI=true: CI must test PostgreSQL).
func Start(t testing.TB) *Cluster {
	t.Helper()
	bin, err := binDir()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is not installed (%v): make deps installs it", err)
		}
		t.Skipf("PostgreSQL is not installed (%v): apt-get install postgresql", err)
	}
	dir := t.TempDir()
	// PostgreSQL refuses to run as root: as root, run it as the postgres user the
	// package made, in a directory it owns.
	wrap := func(args ...string) *exec.Cmd { return exec.Command(args[0], args[1:]...) }
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("PostgreSQL refuses to run as root, and there is no postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		// t.TempDir's parent is 0700: let postgres through to its directory.
		if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
			t.Fatal(err)
		}
		runuser, err := exec.LookPath("runuser")
		if err != nil {
			t.Fatalf("running PostgreSQL as root's tests need runuser (util-linux): %v", err)
		}
		wrap = func(args ...string) *exec.Cmd {
			return exec.Command(runuser, append([]string{"-u", "postgres", "--"}, args...)...)
		}
	}
	data := filepath.Join(dir, "data")
	logFile := filepath.Join(dir, "postgres.log")
	run := func(args ...string) error {
		cmd := wrap(args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	start := time.Now()
	if err := run(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync"); err != nil {
		t.Fatal(err)
	}
	// Stop even if the start below fails half-way or the test fails later.
	t.Cleanup(func() {
		defer func(t0 time.Time) { t.Logf("postgres stopped in %v", time.Since(t0)) }(time.Now())
		if err := run(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"); err != nil {
			if _, statErr := os.Stat(filepath.Join(data, "postmaster.pid")); statErr == nil {
				t.Errorf("stop postgres: %v", err)
			}
		}
	})
	// Durability is not under test here: fsync=off keeps the cluster quick.
	opts := fmt.Sprintf("-c listen_addresses='' -k '%s' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200", dir)
	if err := run(filepath.Join(bin, "pg_ctl"), "-D", data, "-l", logFile, "-w", "-t", "60", "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(logFile)
		t.Fatalf("%v\n%s", err, log)
	}
	t.Logf("PostgreSQL from %s up in %v", bin, time.Since(start).Round(time.Millisecond))
	return &Cluster{sockDir: dir}
}

// URL is the connection string of database db on the cluster.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("host=%s user=postgres dbname=%s sslmode=disable", c.sockDir, db)
}

// NewDatabase makes an empty namespace for a store and returns its connection
// string: a schema of its own, first on the search path, in one database that
// every test shares. (CREATE DATABASE takes a quarter of a second; CREATE SCHEMA
// is instant.)
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	c.once.Do(func() {
		_, c.onceErr = conn.Exec(ctx, "CREATE DATABASE decom_test")
	})
	if c.onceErr != nil {
		t.Fatal(c.onceErr)
	}
	name := fmt.Sprintf("store_%d", c.dbs.Add(1))
	conn2, err := pgx.Connect(ctx, c.URL("decom_test"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close(ctx)
	if _, err := conn2.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatal(err)
	}
	return c.URL("decom_test") + " search_path=" + name
}
