package main

import (
	"os"
	"regexp"
	"strconv"
	"testing"
)

// The README's exit-code table says what exitCodes says, row for row: scripts are
// written from it.
func TestExitCodesDocumented(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := regexp.MustCompile(`(?s)### Exit codes\n\n\| code \| meaning \|\n\|---\|---\|\n(.*?)\n\n`).FindSubmatch(b)
	if section == nil {
		t.Fatal("README.md has no exit-code table under ### Exit codes")
	}
	rows := regexp.MustCompile(`(?m)^\| (\d+) \| (.*) \|$`).FindAllSubmatch(section[1], -1)
	if len(rows) != len(exitCodes) {
		t.Fatalf("README lists %d exit codes, the code %d", len(rows), len(exitCodes))
	}
	for i, r := range rows {
		code, _ := strconv.Atoi(string(r[1]))
		if e := exitCodes[i]; code != e.code || string(r[2]) != e.meaning {
			t.Errorf("README row %d: %d %q; the code says %d %q", i+1, code, r[2], e.code, e.meaning)
		}
	}
}
