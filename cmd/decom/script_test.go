package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/rogpeppe/go-internal/txtar"

	"github.com/decom-project/decom/internal/loopdev"
	"github.com/decom-project/decom/internal/sysfstest"
)

func TestMain(m *testing.M) {
	if os.Getenv("DECOM_TEST_RUN_MAIN") == "1" {
		main() // the test binary as the decom binary, for tests that signal a real process
	}
	testscript.Main(m, map[string]func(){
		"decom": func() { os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the CLI scenarios in testdata/script. Besides testscript's own
// commands they can use:
//
//	status N CMD ARGS...     run CMD and require exit code N
//	sysroot HOST             materialise inventory/testdata/hosts/HOST.txtar; sets $SYSROOT
//	loopdev VAR SIZE [FS [mount]]
//	                         attach a scratch loop device (only ever one the test made),
//	                         optionally with filesystem FS, optionally mounted; sets $VAR
//	                         (and $VAR_MNT); detached when the script ends
//
// and the condition [loopdev], true when loop devices can be made. Under CI=true a
// missing prerequisite fails the script instead of skipping it.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"status":  cmdStatus,
			"sysroot": cmdSysroot,
			"loopdev": cmdLoopdev,
		},
		Condition: func(cond string) (bool, error) {
			if cond != "loopdev" {
				return false, fmt.Errorf("unknown condition %q", cond)
			}
			err := loopPrerequisites()
			if err != nil && os.Getenv("CI") == "true" {
				return false, fmt.Errorf("CI must run every test: %v", err)
			}
			return err == nil, nil
		},
	})
}

func cmdStatus(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: status N command [args...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			ts.Fatalf("%v", err)
		}
		got = exit.ExitCode()
	}
	if got != want {
		ts.Fatalf("exit code %d, want %d", got, want)
	}
}

func cmdSysroot(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: sysroot HOST")
	}
	ar, err := txtar.ParseFile(filepath.Join("..", "..", "inventory", "testdata", "hosts", args[0]+".txtar"))
	ts.Check(err)
	dir := ts.MkAbs("sysroot-" + args[0])
	ts.Check(sysfstest.Materialize(dir, ar))
	ts.Setenv("SYSROOT", dir)
}

func cmdLoopdev(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 4 {
		ts.Fatalf("usage: loopdev VAR SIZE [FS [mount]]")
	}
	if err := loopPrerequisites(); err != nil {
		ts.Fatalf("%v", err)
	}
	size, err := strconv.ParseInt(strings.TrimSuffix(args[1], "M"), 10, 64)
	ts.Check(err)
	image := ts.MkAbs(args[0] + ".img")
	ts.Check(loopdev.CreateImage(image, size<<20))
	l, err := loopdev.Attach(image, false)
	ts.Check(err)
	ts.Defer(func() {
		if err := l.Detach(); err != nil {
			ts.Logf("cleanup of %s: %v", l.Path, err)
		}
	})
	ts.Setenv(args[0], l.Path)
	if len(args) >= 3 {
		ts.Check(l.MkFS(args[2], 0))
	}
	if len(args) == 4 {
		if args[3] != "mount" {
			ts.Fatalf("usage: loopdev VAR SIZE [FS [mount]]")
		}
		dir, err := l.Mount(0)
		ts.Check(err)
		ts.Setenv(args[0]+"_MNT", dir)
	}
}

func loopPrerequisites() error {
	if os.Geteuid() != 0 {
		return errors.New("loop devices need root")
	}
	for _, c := range []string{"losetup", "mount", "umount", "mkfs", "mkfs.ext4"} {
		if _, err := exec.LookPath(c); err != nil {
			return fmt.Errorf("needs %s (make deps installs it)", c)
		}
	}
	return nil
}
