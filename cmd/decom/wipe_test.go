package main

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/decom-project/decom/internal/faultfs"
	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/wipe"
)

// At a terminal, a drive is approved only by typing its serial; a drive without
// one by its device name.
func TestConfirmAsksForTheSerial(t *testing.T) {
	plans := []sanitize.Plan{
		{Target: wipe.Target{Path: "/dev/sdb", Node: "/dev/sdb", Kind: wipe.KindDrive,
			Identity: wipe.Identity{Serial: "S6PTNM0T123456A", SizeBytes: 1 << 40},
			Drive:    inventory.Device{Model: "Samsung SSD 870 EVO 1TB", Transport: "sata"}}},
		{Target: wipe.Target{Path: "/dev/sdc", Node: "/dev/sdc", Kind: wipe.KindDrive,
			Identity: wipe.Identity{Serial: "WD-12345", SizeBytes: 1 << 40}}},
		{Target: wipe.Target{Path: "/dev/disk/by-id/loop", Node: "/dev/loop7", Kind: wipe.KindDrive,
			Identity: wipe.Identity{SizeBytes: 1 << 30}}},
	}
	var out strings.Builder
	// Right serial, a wrong one (the serial of another drive), the loop's name.
	got, err := confirm(context.Background(), strings.NewReader("S6PTNM0T123456A\nS6PTNM0T123456A\nloop7\n"), &out, plans)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Target.Path != "/dev/sdb" || got[1].Target.Node != "/dev/loop7" {
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

// The prompt names the target beyond its path: the node a symlink resolves to, the
// device number, an image file's inode; an image file is confirmed by its absolute
// path.
func TestConfirmShowsDeviceNumberAndInode(t *testing.T) {
	plans := []sanitize.Plan{
		{Target: wipe.Target{Path: "/srv/images/t.img", Node: "/srv/images/t.img", Kind: wipe.KindFile,
			Identity: wipe.Identity{DevNo: "259:1", Inode: 1234, SizeBytes: 1 << 20}}},
		{Target: wipe.Target{Path: "/dev/disk/by-id/ata-X", Node: "/dev/sdb", Kind: wipe.KindDrive,
			Identity: wipe.Identity{DevNo: "8:16", Serial: "X1", SizeBytes: 1 << 30}}},
	}
	var out strings.Builder
	got, err := confirm(context.Background(), strings.NewReader("/srv/images/t.img\nX1\n"), &out, plans)
	if err != nil || len(got) != 2 {
		t.Fatalf("approved %d: %v\n%s", len(got), err, out.String())
	}
	for _, want := range []string{
		"All data on /srv/images/t.img (image file, 1.0 MiB) will be destroyed.\nIt is device 259:1, inode 1234.\nType its path",
		"All data on /dev/disk/by-id/ata-X (X1, 1.0 GiB) will be destroyed.\nIt is /dev/sdb, device 8:16.\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("prompt lacks %q:\n%s", want, out.String())
		}
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

// A drive with bad sectors: the wipe goes on, lists exactly the bad ranges, verifies
// the rest (the bad ranges are its exceptions, not verification failures), and exits
// with code 7.
func TestWipeWithBadSectorsExitsWithExceptions(t *testing.T) {
	const size = 16 << 20
	disk := faultfs.Mount(t, size, faultfs.Range{Off: 4 << 20, Len: 8192, Ops: faultfs.Write})
	l := disk.Attach(t)
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"wipe", l.Path, "--yes", "--no-certificate", "--method", "zero", "--verify", "full", "--output", "json"},
		strings.NewReader(""), &out, &errOut)
	if code != exitExceptions {
		t.Fatalf("exit %d, want %d: %s", code, exitExceptions, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var rec sanitize.Result
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rec); err != nil {
		t.Fatal(err)
	}
	want := []wipe.Range{{Offset: 4 << 20, Length: 8192}}
	if rec.Outcome != wipe.OutcomeExceptions || !slices.Equal(rec.Passes[0].BadRanges, want) {
		t.Fatalf("outcome %s bad ranges %+v", rec.Outcome, rec.Passes[0].BadRanges)
	}
	v := rec.Verification[0]
	if !v.Verified || v.ExcludedBytes != 8192 || v.BytesRead != size {
		t.Errorf("verification: verified %v excluded %d read %d", v.Verified, v.ExcludedBytes, v.BytesRead)
	}
	if rec.Verified {
		t.Error("a wipe with exceptions is reported as verified")
	}
}
