package inventory

import (
	"reflect"
	"strings"
	"testing"
)

const mountinfoSample = `22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard
23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
40 22 259:1 / /boot/efi rw,relatime shared:30 - vfat /dev/nvme0n1p1 rw,fmask=0077
41 22 7:3 / /mnt/my\040disk rw,relatime - ext4 /dev/loop3 rw
42 22 253:0 /sub /srv rw,relatime master:2 propagate_from:1 - xfs /dev/mapper/vg0-srv rw
garbage line
43 22 8:1 / /x rw -
`

func TestParseMountinfo(t *testing.T) {
	got, err := parseMountinfo(strings.NewReader(mountinfoSample))
	if err != nil {
		t.Fatal(err)
	}
	want := []mountEntry{
		{DevNo: "254:0", MountPoint: "/", FSType: "ext4", Source: "/dev/vda"},
		{DevNo: "0:21", MountPoint: "/proc", FSType: "proc", Source: "proc"},
		{DevNo: "259:1", MountPoint: "/boot/efi", FSType: "vfat", Source: "/dev/nvme0n1p1"},
		{DevNo: "7:3", MountPoint: "/mnt/my disk", FSType: "ext4", Source: "/dev/loop3"},
		{DevNo: "253:0", MountPoint: "/srv", FSType: "xfs", Source: "/dev/mapper/vg0-srv"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseMountinfo:\n got %+v\nwant %+v", got, want)
	}
}

func TestParseSwaps(t *testing.T) {
	in := "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n" +
		"/dev/zram0                              partition\t4194300\t\t0\t\t100\n" +
		"/swap\\040file                           file\t\t1048572\t\t0\t\t-2\n"
	got, err := parseSwaps(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/dev/zram0", "/swap file"}; !reflect.DeepEqual(got, want) {
		t.Errorf("parseSwaps = %q, want %q", got, want)
	}
	got, _ = parseSwaps(strings.NewReader("Filename Type Size Used Priority\n"))
	if len(got) != 0 {
		t.Errorf("header only: %q", got)
	}
}

func TestUnescapeOctal(t *testing.T) {
	for in, want := range map[string]string{
		`/a\040b`:   "/a b",
		`/tab\011x`: "/tab\tx",
		`/bs\134`:   `/bs\`,
		`/short\04`: `/short\04`,
		`/big\777`:  `/big\777`,
		`plain`:     "plain",
	} {
		if got := unescapeOctal(in); got != want {
			t.Errorf("unescapeOctal(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseMountinfo(f *testing.F) {
	f.Add(mountinfoSample)
	f.Fuzz(func(t *testing.T, s string) {
		entries, err := parseMountinfo(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, e := range entries {
			if !strings.Contains(e.DevNo, ":") || e.FSType == "" {
				t.Fatalf("implausible entry %+v", e)
			}
		}
	})
}

func FuzzParseSwaps(f *testing.F) {
	f.Add("Filename Type Size Used Priority\n/dev/sda3 partition 1 0 -2\n")
	f.Fuzz(func(t *testing.T, s string) {
		swaps, err := parseSwaps(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, sw := range swaps {
			if sw == "" {
				t.Fatal("empty swap name")
			}
		}
	})
}
