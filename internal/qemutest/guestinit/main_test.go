//go:build linux

package main

import (
	"strings"
	"sync"
	"testing"
)

func TestCopyLines(t *testing.T) {
	var out strings.Builder
	var mu sync.Mutex
	copyLines(&out, &mu, strings.NewReader("one\n\nthree\r\nno newline"), "@@o ")
	want := "@@o one\n@@o \n@@o three\r\n@@o no newline\n"
	if out.String() != want {
		t.Errorf("copyLines wrote %q, want %q", out.String(), want)
	}
}

func TestDiskName(t *testing.T) {
	for name, want := range map[string]bool{
		"sda": true, "sdab": true, "vda": true, "hdc": true, "nvme0n1": true, "nvme12n3": true,
		"sda1": false, "nvme0": false, "nvme0n1p1": false, "loop0": false, "ram0": false, "sr0": false,
	} {
		if got := diskName.MatchString(name); got != want {
			t.Errorf("diskName(%q) = %v, want %v", name, got, want)
		}
	}
}
