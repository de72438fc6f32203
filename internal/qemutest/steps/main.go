// Command steps runs several commands in one guest boot, so that a test can inventory,
// wipe and read back results without booting once per command. It reads a JSON list
// of steps from the file named by its argument:
//
//	[{"argv": ["/decom", "inventory", "-o", "json"]}, {"cat": "/tmp/certs/*.json"}]
//
// and frames each step's standard output between lines "=== step N begin" and
// "=== step N end EXIT" (a cat prints each file between "--- FILE" lines). Standard
// error passes through. A failing step does not stop the next ones; steps exits 0
// when every step did.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

type step struct {
	Argv []string `json:"argv"`
	Cat  string   `json:"cat"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: steps FILE.json")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Args[1])
	var steps []step
	if err == nil {
		err = json.Unmarshal(raw, &steps)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "steps:", err)
		os.Exit(2)
	}
	failed := false
	for i, s := range steps {
		fmt.Printf("=== step %d begin\n", i)
		code := run(s)
		fmt.Printf("\n=== step %d end %d\n", i, code)
		failed = failed || code != 0
	}
	if failed {
		os.Exit(1)
	}
}

func run(s step) int {
	if s.Cat != "" {
		files, err := filepath.Glob(s.Cat)
		if err != nil || len(files) == 0 {
			fmt.Fprintf(os.Stderr, "steps: no file matches %s\n", s.Cat)
			return 1
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				fmt.Fprintln(os.Stderr, "steps:", err)
				return 1
			}
			fmt.Printf("--- %s\n%s\n--- end\n", f, b)
		}
		return 0
	}
	if len(s.Argv) == 0 {
		fmt.Fprintln(os.Stderr, "steps: a step needs argv or cat")
		return 2
	}
	cmd := exec.Command(s.Argv[0], s.Argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stdout, os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	fmt.Fprintln(os.Stderr, "steps:", err)
	return 127
}
