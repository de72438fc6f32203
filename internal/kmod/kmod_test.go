package kmod_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/decom-project/decom/internal/kmod"
	"github.com/decom-project/decom/internal/qemutest"
)

func TestGlob(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"", "a", false},
		{"a", "", false},
		{"*", "", true},
		{"*", "pci:v0000/x", true}, // '*' crosses '/'
		{"**", "abc", true},
		{"a*", "a", true},
		{"a*c", "abbbc", true},
		{"a*c", "abbbd", false},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXcYb", false},
		{"*c", "ccc", true},
		{"?", "", false},
		{"?", "x", true},
		{"??", "x", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"[abc]", "b", true},
		{"[abc]", "d", false},
		{"[a-f]", "e", true},
		{"[a-f]", "g", false},
		{"[!a-f]", "g", true},
		{"[!a-f]", "a", false},
		{"[^a-f]", "z", true},
		{"[]]", "]", true},
		{"[!]]", "]", false},
		{"[!]]", "x", true},
		{"[a-]", "-", true},
		{"[-a]", "-", true},
		{"[\\]]", "]", true},
		{"[", "[", true},   // unclosed: ordinary byte
		{"[a", "[a", true}, // unclosed: ordinary bytes
		{"[a", "a", false},
		{"a\\*b", "a*b", true},
		{"a\\*b", "axb", false},
		{"\\?", "?", true},
		{"\\?", "x", false},
		{"a\\", "a\\", true},
		{"*[0-9]", "abc7", true},
		{"*[0-9]", "abc", false},
		{"usb:v*p*d*dc*dsc*dp*ic08isc06ip50in*", "usb:v0781p5567d0100dc00dsc00dp00ic08isc06ip50in00", true},
		{"usb:v*p*d*dc*dsc*dp*ic08isc06ip62in*", "usb:v0781p5567d0100dc00dsc00dp00ic08isc06ip50in00", false},
		{"pci:v*d*sv*sd*bc01sc06i01*", "pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01", true},
		{"pci:v*d*sv*sd*bc01sc08i02*", "pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01", false},
		// modprobe's aliases are upper-case hex; matching is case-sensitive, as fnmatch's.
		{"virtio:d00000002v*", "virtio:d00000002v00001AF4", true},
		{"virtio:d00000002v*", "virtio:D00000002v00001AF4", false},
		{"dmi*:svn*Dell*:pn*Latitude[ -]E6*", "dmi:bvnX:svnDell Inc.:pnLatitude E6430:", true},
	} {
		if got := kmod.Glob(c.pattern, c.s); got != c.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

// fake is a small index: a depends on b and builtin c, b on d.
func fake() *kmod.Index {
	return &kmod.Index{
		Kernel: "6.1.0-test",
		Modules: []kmod.Module{
			{Name: "a", Path: "kernel/a.ko", Depends: []string{"b", "c"}, Aliases: []string{"pci:v00001234d*"}},
			{Name: "b", Path: "kernel/b.ko.xz", Depends: []string{"d"}, Aliases: []string{}},
			{Name: "cyc1", Path: "kernel/cyc1.ko", Depends: []string{"cyc2"}},
			{Name: "cyc2", Path: "kernel/cyc2.ko", Depends: []string{"cyc1"}},
			{Name: "d", Path: "kernel/d.ko", Aliases: []string{"pci:v*d*bc01*", "pci:v00001234d*"}},
			{Name: "e", Path: "kernel/e.ko", Depends: []string{"missing"}},
			{Name: "x_y", Path: "kernel/x-y.ko"},
		},
		Builtin: []string{"c", "scsi_mod"},
	}
}

func names(ms []kmod.Module) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return out
}

func TestClosureFake(t *testing.T) {
	x := fake()
	got, err := x.Closure("a", "x-y", "d", "scsi_mod")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"d", "b", "a", "x_y"}; !slices.Equal(names(got), want) {
		t.Errorf("Closure = %v, want %v", names(got), want)
	}
	if _, err := x.Closure("nope"); !errors.Is(err, kmod.ErrUnknown) {
		t.Errorf("unknown module: %v", err)
	}
	if _, err := x.Closure("e"); !errors.Is(err, kmod.ErrUnknown) || !strings.Contains(err.Error(), "needed by e") {
		t.Errorf("unknown dependency: %v", err)
	}
	if _, err := x.Closure("cyc1"); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("cycle: %v", err)
	}
	if m, ok := x.Lookup("x-y"); !ok || m.Path != "kernel/x-y.ko" {
		t.Errorf("Lookup(x-y) = %v, %v", m, ok)
	}
	if _, ok := x.Lookup("c"); ok {
		t.Error("Lookup found a built-in module")
	}
	if got := names(x.Match("pci:v00001234d00005678bc01")); !slices.Equal(got, []string{"a", "d"}) {
		t.Errorf("Match = %v", got)
	}
	if got := x.Match("usb:v1"); len(got) != 0 {
		t.Errorf("Match(usb) = %v", names(got))
	}
}

func TestIndexRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := kmod.WriteIndex(&buf, fake()); err != nil {
		t.Fatal(err)
	}
	x, err := kmod.ReadIndex(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(x.Modules) != len(fake().Modules) || x.Modules[0].Aliases[0] != "pci:v00001234d*" {
		t.Errorf("read back %+v", x)
	}
	for name, js := range map[string]string{
		"unsorted":        `{"kernel":"k","modules":[{"name":"b","path":"b.ko"},{"name":"a","path":"a.ko"}]}`,
		"duplicate":       `{"kernel":"k","modules":[{"name":"a","path":"a.ko"},{"name":"a","path":"x/a.ko"}]}`,
		"escaping path":   `{"kernel":"k","modules":[{"name":"a","path":"../a.ko"}]}`,
		"absolute path":   `{"kernel":"k","modules":[{"name":"a","path":"/a.ko"}]}`,
		"not a module":    `{"kernel":"k","modules":[{"name":"a","path":"a.so"}]}`,
		"name vs path":    `{"kernel":"k","modules":[{"name":"a","path":"b.ko"}]}`,
		"bad name":        `{"kernel":"k","modules":[{"name":"a-b","path":"a-b.ko"}]}`,
		"no kernel":       `{"modules":[]}`,
		"kernel path":     `{"kernel":"../k","modules":[]}`,
		"unknown field":   `{"kernel":"k","modules":[],"x":1}`,
		"trailing data":   `{"kernel":"k","modules":[]} {}`,
		"builtin order":   `{"kernel":"k","modules":[],"builtin":["b","a"]}`,
		"empty":           ``,
		"bad dependency":  `{"kernel":"k","modules":[{"name":"a","path":"a.ko","depends":[""]}]}`,
		"truncated":       `{"kernel":"k","modules":[`,
		"not an object":   `[]`,
		"wrong type name": `{"kernel":"k","modules":[{"name":1,"path":"a.ko"}]}`,
	} {
		if _, err := kmod.ReadIndex(strings.NewReader(js)); err == nil {
			t.Errorf("%s: accepted %s", name, js)
		}
	}
}

func FuzzReadIndex(f *testing.F) {
	var buf bytes.Buffer
	if err := kmod.WriteIndex(&buf, fake()); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(`{"kernel":"k","modules":[{"name":"a","path":"a.ko","depends":["a"]}]}`))
	f.Add([]byte(`{"kernel":"k","modules":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := kmod.ReadIndex(bytes.NewReader(data))
		if err != nil {
			return
		}
		// What reads back must write, read back the same, and be safe to use.
		var out bytes.Buffer
		if err := kmod.WriteIndex(&out, x); err != nil {
			t.Fatalf("WriteIndex of a read index: %v", err)
		}
		y, err := kmod.ReadIndex(&out)
		if err != nil {
			t.Fatalf("ReadIndex of a written index: %v", err)
		}
		if len(y.Modules) != len(x.Modules) || len(y.Builtin) != len(x.Builtin) || y.Kernel != x.Kernel {
			t.Fatalf("round trip changed the index")
		}
		for _, m := range x.Modules {
			if got, ok := x.Lookup(m.Name); !ok || got.Path != m.Path {
				t.Fatalf("Lookup(%s) = %v, %v", m.Name, got, ok)
			}
			if filepath.IsAbs(m.Path) || strings.HasPrefix(filepath.Clean(m.Path), "..") {
				t.Fatalf("path %q escapes", m.Path)
			}
			_, _ = x.Closure(m.Name) // cycles and unknown names are errors, not hangs
		}
		_ = x.Match("pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01")
	})
}

// TestScanFiles scans a made-up modules directory: compressed and plain modules, a module in
// updates/ overriding kernel/, modules.builtin.
func TestScanFiles(t *testing.T) {
	dir := t.TempDir()
	modinfo := func(kv ...string) []byte { return []byte(strings.Join(kv, "\x00") + "\x00") }
	write := func(rel string, b []byte) {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("kernel/drivers/a.ko", elfWithModinfo(t, modinfo("alias=pci:v*d*bc01*", "depends=b-c,", "vermagic=6.1.0-test SMP mod_unload")))
	write("kernel/lib/b-c.ko", elfWithModinfo(t, modinfo("depends=", "name=b_c")))
	write("kernel/lib/d.ko", elfWithModinfo(t, modinfo("depends=")))
	write("updates/d.ko", elfWithModinfo(t, modinfo("depends=", "alias=updated")))
	write("modules.builtin", []byte("kernel/drivers/scsi/scsi_mod.ko\nkernel/lib/crc-t10dif.ko\n"))
	write("modules.order", []byte("not a module\n"))
	x, err := kmod.Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	if x.Kernel != "6.1.0-test" {
		t.Errorf("Kernel = %q", x.Kernel)
	}
	if got := names(x.Modules); !slices.Equal(got, []string{"a", "b_c", "d"}) {
		t.Errorf("modules = %v", got)
	}
	if !slices.Equal(x.Builtin, []string{"crc_t10dif", "scsi_mod"}) {
		t.Errorf("builtin = %v", x.Builtin)
	}
	if d, _ := x.Lookup("d"); d.Path != "updates/d.ko" || !slices.Equal(d.Aliases, []string{"updated"}) {
		t.Errorf("d = %+v, want the one in updates/", d)
	}
	if a, _ := x.Lookup("a"); !slices.Equal(a.Depends, []string{"b_c"}) {
		t.Errorf("a depends on %v", a.Depends)
	}
	// Compressed modules: gzip always, xz and zstd where their tools are installed.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(elfWithModinfo(t, modinfo("depends=d", "alias=gz")))
	zw.Close()
	write("kernel/fs/g.ko.gz", gz.Bytes())
	compressed := map[string]string{"g": "kernel/fs/g.ko.gz"}
	for tool, suffix := range map[string]string{"xz": ".ko.xz", "zstd": ".ko.zst"} {
		args := []string{"-q"}
		if tool == "zstd" {
			args = append(args, "--rm")
		}
		if _, err := exec.LookPath(tool); err != nil {
			t.Logf("no %s: %s modules untested", tool, suffix)
			continue
		}
		name := "c_" + tool
		rel := "kernel/fs/" + name + suffix
		plain := filepath.Join(dir, "kernel/fs", name+".ko")
		write("kernel/fs/"+name+".ko", elfWithModinfo(t, modinfo("depends=g", "alias="+tool)))
		if out, err := exec.Command(tool, append(args, plain)...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", tool, err, out)
		}
		if _, err := os.Stat(filepath.Join(dir, rel)); err != nil {
			t.Fatal(err)
		}
		compressed[name] = rel
	}
	x, err = kmod.Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	for name, rel := range compressed {
		m, ok := x.Lookup(name)
		if !ok || m.Path != rel || len(m.Aliases) != 1 {
			t.Errorf("%s = %+v, %v", name, m, ok)
			continue
		}
		image, err := kmod.ReadFile(filepath.Join(dir, rel))
		if err != nil || !bytes.HasPrefix(image, []byte("\x7fELF")) {
			t.Errorf("ReadFile(%s): %.8q, %v", rel, image, err)
		}
		mods, err := x.Closure(name)
		if err != nil || mods[len(mods)-1].Name != name || mods[0].Name != "d" {
			t.Errorf("Closure(%s) = %v, %v", name, names(mods), err)
		}
	}

	write("kernel/bad.ko", []byte("not ELF"))
	if _, err := kmod.Scan(dir); err == nil {
		t.Error("a module that is not ELF scanned")
	}
}

// elfWithModinfo makes a minimal ELF64 relocatable file with one .modinfo section.
func elfWithModinfo(t *testing.T, info []byte) []byte {
	t.Helper()
	shstr := []byte("\x00.modinfo\x00.shstrtab\x00")
	le := func(b []byte, v uint64, n int) []byte {
		for i := range n {
			b = append(b, byte(v>>(8*i)))
		}
		return b
	}
	const ehsize, shentsize = 64, 64
	infoOff := uint64(ehsize)
	strOff := infoOff + uint64(len(info))
	shOff := strOff + uint64(len(shstr))
	var b []byte
	b = append(b, 0x7f, 'E', 'L', 'F', 2, 1, 1, 0)
	b = append(b, make([]byte, 8)...)
	b = le(b, 1, 2)  // ET_REL
	b = le(b, 62, 2) // EM_X86_64
	b = le(b, 1, 4)
	b = le(b, 0, 8) // entry
	b = le(b, 0, 8) // phoff
	b = le(b, shOff, 8)
	b = le(b, 0, 4)
	b = le(b, ehsize, 2)
	b = le(b, 0, 2)
	b = le(b, 0, 2)
	b = le(b, shentsize, 2)
	b = le(b, 3, 2) // shnum
	b = le(b, 2, 2) // shstrndx
	b = append(b, info...)
	b = append(b, shstr...)
	sh := func(name, typ uint32, off, size uint64) {
		b = le(b, uint64(name), 4)
		b = le(b, uint64(typ), 4)
		b = le(b, 0, 8) // flags
		b = le(b, 0, 8) // addr
		b = le(b, off, 8)
		b = le(b, size, 8)
		b = le(b, 0, 4)
		b = le(b, 0, 4)
		b = le(b, 1, 8)
		b = le(b, 0, 8)
	}
	sh(0, 0, 0, 0)
	sh(1, 1, infoOff, uint64(len(info))) // .modinfo, PROGBITS
	sh(10, 3, strOff, uint64(len(shstr)))
	return b
}

// TestRealKernel scans the cached Debian kernel's modules.
func TestRealKernel(t *testing.T) {
	_, modulesDir := qemutest.Kernel(t)
	x, err := kmod.Scan(modulesDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d modules, %d built in", x.Kernel, len(x.Modules), len(x.Builtin))
	if x.Kernel != filepath.Base(modulesDir) {
		t.Errorf("Kernel = %q, want %q", x.Kernel, filepath.Base(modulesDir))
	}

	roots := []string{"nvme", "ahci", "usb-storage", "uas", "vfat"}
	mods, err := x.Closure(roots...)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("closure of %v: %v", roots, names(mods))
	pos := map[string]int{}
	for i, m := range mods {
		if _, dup := pos[m.Name]; dup {
			t.Errorf("%s twice", m.Name)
		}
		pos[m.Name] = i
	}
	for _, r := range roots {
		if _, ok := pos[kmod.Name(r)]; !ok && !x.IsBuiltin(r) {
			t.Errorf("%s is missing", r)
		}
	}
	// Whatever the kernel version: each module after everything it depends on, none built in,
	// and the ones this kernel is known to need.
	for _, m := range mods {
		if x.IsBuiltin(m.Name) {
			t.Errorf("built-in %s in the closure", m.Name)
		}
		for _, d := range m.Depends {
			if p, ok := pos[d]; ok && p > pos[m.Name] {
				t.Errorf("%s comes before its dependency %s", m.Name, d)
			} else if !ok && !x.IsBuiltin(d) {
				t.Errorf("%s needs %s, which is missing", m.Name, d)
			}
		}
		if _, err := os.Stat(filepath.Join(modulesDir, m.Path)); err != nil {
			t.Error(err)
		}
	}
	for _, want := range []string{"nvme_core", "libahci", "libata", "usb_storage", "fat"} {
		if _, ok := pos[want]; !ok && !x.IsBuiltin(want) {
			t.Errorf("closure lacks %s", want)
		}
	}
	if _, err := x.Closure("no_such_module"); !errors.Is(err, kmod.ErrUnknown) {
		t.Errorf("unknown module: %v", err)
	}

	for alias, want := range map[string]string{
		"pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01": "ahci",
		"virtio:d00000002v00001AF4":                             "virtio_blk",
		"virtio:d00000001v00001AF4":                             "virtio_net",
		"usb:v0781p5567d0100dc00dsc00dp00ic08isc06ip50in00":     "usb_storage",
		"usb:v0781p5567d0100dc00dsc00dp00ic08isc06ip62in00":     "uas",
		"pci:v00001B36d00000010sv00001AF4sd00001100bc01sc08i02": "nvme",
		"pci:v00001AF4d00001004sv00001AF4sd00000008bc01sc00i00": "virtio_pci",
		"pci:v00008086d000010D3sv00008086sd0000A01Fbc02sc00i00": "e1000e",
		"pci:v00001000d00000097sv00001000sd00003090bc01sc07i00": "mpt3sas",
		"pci:v00008086d00007010sv00001AF4sd00001100bc01sc01i80": "ata_piix",
		"hid:b0003g0001v0000046Dp0000C31C":                      "hid_generic",
		"usb:v046DpC31Cd6400dc00dsc00dp00ic03isc01ip01in00":     "usbhid",
		"scsi:t-0x00": "sd_mod",
		"pci:v00001AF4d00001048sv00001AF4sd00001100bc01sc00i00": "virtio_pci",
		"pci:v00008086d00000A54sv00008086sd00003907bc01sc08i02": "nvme",
		"pci:v00001022d000043F6sv00001043sd00008796bc01sc06i01": "ahci",
		"pci:v000010ECd00008168sv00001043sd00008554bc02sc00i00": "r8169",
		"pci:v000015B3d00001017sv000015B3sd00000020bc02sc00i00": "mlx5_core",
		"pci:v000014E4d000016D7sv000014E4sd00001402bc02sc00i00": "bnxt_en",
		"pci:v00009005d0000028Fsv00009005sd00000800bc01sc07i00": "smartpqi",
		"pci:v00001000d0000005Dsv00001000sd00009361bc01sc04i00": "megaraid_sas",
		"pci:v00008086d00001572sv00008086sd00000001bc02sc00i00": "i40e",
		"pci:v00008086d00000D4Fsv00001028sd00000A5Dbc0Csc03i30": "xhci_pci",
		"usb:v1D6Bp0003d0601dc09dsc00dp03ic09isc00ip00in00":     "usbcore",
		"pci:v00008086d00001533sv000015D9sd00001533bc02sc00i00": "igb",
		"pci:v00008086d0000159Bsv00008086sd00000003bc02sc00i00": "ice",
	} {
		got := names(x.Match(alias))
		if want == "usbcore" {
			// The hub driver is built into usbcore, which Debian builds as a module.
			if !slices.Contains(got, "usbcore") && !x.IsBuiltin("usbcore") {
				t.Errorf("Match(%s) = %v, want usbcore", alias, got)
			}
			continue
		}
		if !slices.Contains(got, want) {
			t.Errorf("Match(%s) = %v, want %s among them", alias, got, want)
		}
	}
	if got := x.Match("pci:v0000FFFFd0000FFFFsv0000FFFFsd0000FFFFbcFFscFFiFF"); len(got) != 0 {
		t.Errorf("a device nothing drives matched %v", names(got))
	}

	// The index of a closure survives the JSON round trip and still resolves.
	var buf bytes.Buffer
	if err := kmod.WriteIndex(&buf, &kmod.Index{Kernel: x.Kernel, Modules: sortedCopy(mods), Builtin: x.Builtin}); err != nil {
		t.Fatal(err)
	}
	y, err := kmod.ReadIndex(&buf)
	if err != nil {
		t.Fatal(err)
	}
	again, err := y.Closure(roots...)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names(again), names(mods)) {
		t.Errorf("closure from the written index = %v, want %v", names(again), names(mods))
	}
}

func sortedCopy(ms []kmod.Module) []kmod.Module {
	out := slices.Clone(ms)
	slices.SortFunc(out, func(a, b kmod.Module) int { return strings.Compare(a.Name, b.Name) })
	return out
}
