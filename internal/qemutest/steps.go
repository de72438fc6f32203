package qemutest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Step is one command of RunSteps: Argv runs a program, Cat prints the files a glob
// matches (each between "--- PATH" and "--- end" lines).
type Step struct {
	Argv []string `json:"argv,omitempty"`
	Cat  string   `json:"cat,omitempty"`
}

// StepResult is what one step printed on its standard output, and its exit code.
type StepResult struct {
	Stdout string
	Exit   int
}

// RunSteps boots cfg once and runs steps in order inside it (with the steps program of
// ./steps), so that a test can look, act and look again in one boot. cfg.Command is
// ignored. It fails the test if the output does not hold one result per step.
func RunSteps(t testing.TB, cfg Config, steps []Step) ([]StepResult, Result) {
	t.Helper()
	raw, err := json.Marshal(steps)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "steps.json")
	if err := os.WriteFile(file, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"/steps.json": file}
	for k, v := range cfg.Files {
		files[k] = v
	}
	programs := map[string]string{"/steps": "github.com/decom-project/decom/internal/qemutest/steps"}
	for k, v := range cfg.Programs {
		programs[k] = v
	}
	cfg.Files, cfg.Programs, cfg.Command = files, programs, []string{"/steps", "/steps.json"}
	res := Run(t, cfg)
	out, err := ParseSteps(res.Stdout)
	if err == nil && len(out) != len(steps) {
		err = fmt.Errorf("%d step results for %d steps", len(out), len(steps))
	}
	if err != nil {
		t.Fatalf("steps: %v\nstdout:\n%s\nstderr:\n%s", err, res.Stdout, res.Stderr)
	}
	return out, res
}

// ParseSteps splits the output of the steps program into its steps' results.
func ParseSteps(stdout string) ([]StepResult, error) {
	var out []StepResult
	var cur *strings.Builder
	for line := range strings.SplitSeq(stdout, "\n") {
		if rest, ok := strings.CutPrefix(line, "=== step "); ok {
			f := strings.Fields(rest)
			switch {
			case len(f) == 2 && f[1] == "begin":
				if cur != nil {
					return nil, fmt.Errorf("step %s began inside another", f[0])
				}
				cur = &strings.Builder{}
				continue
			case len(f) == 3 && f[1] == "end" && cur != nil:
				code, err := strconv.Atoi(f[2])
				if err != nil {
					return nil, fmt.Errorf("bad step end %q", line)
				}
				out = append(out, StepResult{Stdout: strings.TrimSuffix(cur.String(), "\n"), Exit: code})
				cur = nil
				continue
			}
		}
		if cur != nil {
			cur.WriteString(line)
			cur.WriteString("\n")
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("the last step did not end")
	}
	return out, nil
}
