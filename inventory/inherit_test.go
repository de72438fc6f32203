package inventory

import (
	"slices"
	"testing"

	"github.com/decom-project/decom/internal/jsonint"
)

// TestInheritedRefusals checks the inheritance rules on small device graphs: what a
// loop device takes from the device or file beneath it, what it does not take back
// (the refusals it causes itself), chains, shared files, cycles and devices the
// inventory cannot see.
func TestInheritedRefusals(t *testing.T) {
	onDev := func(node, disk string) *loopLink {
		return &loopLink{backing: &Backing{DevNo: "0:0"}, node: node, disk: disk}
	}
	onFile := func(inode uint64) *loopLink {
		return &loopLink{backing: &Backing{FSDevNo: "8:1", Inode: jsonint.Uint64(inode)}}
	}
	mounted := func(name, at string) reason {
		return reason{"mounted: /dev/" + name + " on " + at, name, "is mounted on " + at}
	}
	backs := func(loop string) reason {
		why := "backs loop device /dev/" + loop + ": detach it first"
		return reason{why, loop, why}
	}
	for _, c := range []struct {
		name  string
		views map[string]loopView
		// rests maps a device to the devices it sits on directly (partition → disk,
		// loop device → its backing device).
		rests map[string][]string
		of    string
		want  []string
	}{
		{
			name: "not a loop device",
			views: map[string]loopView{
				"sda": {own: []reason{mounted("sda1", "/")}},
			},
			of: "sda",
		},
		{
			name: "loop device over a mounted one",
			views: map[string]loopView{
				"loop0": {own: []reason{mounted("loop0", "/mnt"), backs("loop1")}},
				"loop1": {link: onDev("loop0", "loop0")},
			},
			rests: map[string][]string{"loop1": {"loop0"}},
			of:    "loop1",
			want:  []string{"sits on /dev/loop0, which is mounted on /mnt"},
		},
		{
			name: "what the loop device causes below is not passed back",
			views: map[string]loopView{
				"loop0": {own: []reason{mounted("loop1", "/mnt"), backs("loop1")}},
				"loop1": {own: []reason{mounted("loop1", "/mnt")}, link: onDev("loop0", "loop0")},
			},
			rests: map[string][]string{"loop1": {"loop0"}},
			of:    "loop1",
		},
		{
			name: "nor what is stacked on the loop device",
			views: map[string]loopView{
				"loop0": {own: []reason{mounted("dm-0", "/data"), backs("loop1")}},
				"loop1": {link: onDev("loop0", "loop0")},
			},
			rests: map[string][]string{"loop1": {"loop0"}, "dm-0": {"loop1"}},
			of:    "loop1",
		},
		{
			name: "a chain: each hop named, the middle one's own loop not held against the top",
			views: map[string]loopView{
				"loop0": {own: []reason{mounted("loop0", "/mnt"), backs("loop1")}},
				"loop1": {own: []reason{backs("loop2")}, link: onDev("loop0", "loop0")},
				"loop2": {link: onDev("loop1", "loop1")},
			},
			rests: map[string][]string{"loop1": {"loop0"}, "loop2": {"loop1"}},
			of:    "loop2",
			want:  []string{"sits on /dev/loop1, which sits on /dev/loop0, which is mounted on /mnt"},
		},
		{
			name: "the middle of a chain is refused for the top",
			views: map[string]loopView{
				"loop0": {own: []reason{backs("loop1")}},
				"loop1": {own: []reason{backs("loop2")}, link: onDev("loop0", "loop0")},
				"loop2": {link: onDev("loop1", "loop1")},
			},
			rests: map[string][]string{"loop1": {"loop0"}, "loop2": {"loop1"}},
			of:    "loop1",
		},
		{
			name: "over a partition: the whole disk's refusals, another loop device's included",
			views: map[string]loopView{
				"sdc": {own: []reason{
					{"mounted: /dev/sdc2 on /srv", "sdc2", "has /dev/sdc2 mounted on /srv"},
					backs("loop4"), backs("loop5"),
					{"read-only device", "", "is read-only"},
				}},
				"loop4": {link: onDev("sdc1", "sdc")},
				"loop5": {link: onDev("sdc", "sdc")},
			},
			rests: map[string][]string{"sdc1": {"sdc"}, "sdc2": {"sdc"}, "loop4": {"sdc1"}, "loop5": {"sdc"}},
			of:    "loop4",
			want: []string{
				"sits on /dev/sdc1 of /dev/sdc, which has /dev/sdc2 mounted on /srv",
				"sits on /dev/sdc1 of /dev/sdc, which backs loop device /dev/loop5: detach it first",
				"sits on /dev/sdc1 of /dev/sdc, which is read-only",
			},
		},
		{
			name: "a shared backing file, and what is stacked on the other user",
			views: map[string]loopView{
				"loop0": {own: []reason{{"mounted: /dev/loop9 on /m", "loop9", "has /dev/loop9 mounted on /m"}, backs("loop9")}, link: onFile(12)},
				"loop2": {link: onFile(12)},
				"loop7": {link: onFile(13)},
				"loop9": {own: []reason{mounted("loop9", "/m")}, link: onDev("loop0", "loop0")},
			},
			rests: map[string][]string{"loop9": {"loop0"}},
			of:    "loop2",
			want: []string{
				"shares its backing file with /dev/loop0, which has /dev/loop9 mounted on /m",
				"shares its backing file with /dev/loop0, which backs loop device /dev/loop9: detach it first",
			},
		},
		{
			name: "the other way round, sharing is not sitting on",
			views: map[string]loopView{
				"loop0": {link: onFile(12)},
				"loop2": {own: []reason{mounted("loop2", "/x")}, link: onFile(12)},
			},
			of:   "loop0",
			want: []string{"shares its backing file with /dev/loop2, which is mounted on /x"},
		},
		{
			name: "a cycle ends",
			views: map[string]loopView{
				"loop6": {own: []reason{backs("loop7"), {"read-only device", "", ""}}, link: onDev("loop7", "loop7")},
				"loop7": {own: []reason{backs("loop6")}, link: onDev("loop6", "loop6")},
			},
			rests: map[string][]string{"loop6": {"loop7"}, "loop7": {"loop6"}},
			of:    "loop7",
			want:  []string{"sits on /dev/loop6: read-only device"},
		},
		{
			name: "a backing device the inventory does not list",
			views: map[string]loopView{
				"loop1": {link: &loopLink{backing: &Backing{DevNo: "43:0"}}},
			},
			of:   "loop1",
			want: []string{"sits on block device 43:0, which the inventory does not list"},
		},
		{
			name: "a backing device that vanished from the scan",
			views: map[string]loopView{
				"loop1": {link: onDev("sdz", "sdz")},
			},
			of:   "loop1",
			want: []string{"sits on /dev/sdz, which could not be inventoried"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			restsOn := func(name string) map[string]bool {
				out := map[string]bool{}
				var walk func(string)
				walk = func(n string) {
					if out[n] {
						return
					}
					out[n] = true
					for _, p := range c.rests[n] {
						walk(p)
					}
				}
				walk(name)
				return out
			}
			got := inheritedRefusals(c.of, c.views, restsOn)
			if !slices.Equal(got, c.want) {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}
