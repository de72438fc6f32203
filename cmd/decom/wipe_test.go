package main

import (
	"context"
	"strings"
	"testing"

	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/wipe"
)

// At a terminal, a drive is approved only by typing its serial; a drive without
// one by its device name.
func TestConfirmAsksForTheSerial(t *testing.T) {
	plans := []plan{
		{target: wipe.Target{Path: "/dev/sdb", Node: "/dev/sdb", Kind: wipe.KindDrive,
			Identity: wipe.Identity{Serial: "S6PTNM0T123456A", SizeBytes: 1 << 40},
			Drive:    inventory.Device{Model: "Samsung SSD 870 EVO 1TB", Transport: "sata"}}},
		{target: wipe.Target{Path: "/dev/sdc", Node: "/dev/sdc", Kind: wipe.KindDrive,
			Identity: wipe.Identity{Serial: "WD-12345", SizeBytes: 1 << 40}}},
		{target: wipe.Target{Path: "/dev/disk/by-id/loop", Node: "/dev/loop7", Kind: wipe.KindDrive,
			Identity: wipe.Identity{SizeBytes: 1 << 30}}},
	}
	var out strings.Builder
	// Right serial, a wrong one (the serial of another drive), the loop's name.
	got, err := confirm(context.Background(), strings.NewReader("S6PTNM0T123456A\nS6PTNM0T123456A\nloop7\n"), &out, plans)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].target.Path != "/dev/sdb" || got[1].target.Node != "/dev/loop7" {
		t.Fatalf("approved %+v", got)
	}
	for _, want := range []string{
		"All data on /dev/sdb (Samsung SSD 870 EVO 1TB, S6PTNM0T123456A, sata, 1.0 TiB) will be destroyed.",
		"Type its serial number",
		"/dev/sdc skipped: that is not its serial number.",
		"Type its device name (without /dev/)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("prompt lacks %q:\n%s", want, out.String())
		}
	}

	// End of input approves nothing more.
	got, err = confirm(context.Background(), strings.NewReader(""), &out, plans)
	if err != nil || len(got) != 0 {
		t.Errorf("empty input approved %d: %v", len(got), err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1MiB": 1 << 20, "512KiB": 512 << 10, "4096": 4096, "2M": 2 << 20, "1 GiB": 1 << 30} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "MiB", "-1MiB", "1.5MiB", "1TiB", "0", "ten"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) accepted", bad)
		}
	}
}
