package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/decom-project/decom/internal/kmod"
)

// fakeClock advances only when slept on, and then runs what was due.
type fakeClock struct {
	now    time.Time
	events []fakeEvent
}

type fakeEvent struct {
	at time.Time
	do func()
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.now = c.now.Add(d)
	var due, later []fakeEvent
	for _, e := range c.events {
		if !e.at.After(c.now) {
			due = append(due, e)
		} else {
			later = append(later, e)
		}
	}
	c.events = later
	for _, e := range due {
		e.do() // may schedule more
	}
	return ctx.Err()
}

func (c *fakeClock) after(d time.Duration, do func()) {
	c.events = append(c.events, fakeEvent{c.now.Add(d), do})
}

// testIndex is a small module index: storage and USB drivers, the FAT modules, and one
// module that fails to load.
func testIndex() *kmod.Index {
	mods := []kmod.Module{
		{Name: "ahci", Depends: []string{"libahci", "libata"}, Aliases: []string{"pci:v*d*sv*sd*bc01sc06i01*"}},
		{Name: "broken", Aliases: []string{"pci:v00001234d*"}},
		{Name: "e1000", Aliases: []string{"pci:v00008086d0000100Esv*sd*bc*sc*i*"}},
		{Name: "fat"},
		{Name: "libahci", Depends: []string{"libata"}},
		{Name: "libata", Depends: []string{"scsi_mod"}},
		{Name: "nls_ascii"},
		{Name: "nls_cp437"},
		{Name: "nvme", Depends: []string{"nvme_core"}, Aliases: []string{"pci:v*d*sv*sd*bc01sc08i02*"}},
		{Name: "nvme_core"},
		{Name: "sd_mod", Depends: []string{"scsi_mod"}, Aliases: []string{"scsi:t-0x00*"}},
		{Name: "uas", Depends: []string{"usb_storage"}, Aliases: []string{"usb:v*p*d*dc*dsc*dp*ic08isc06ip62in*"}},
		{Name: "usb_storage", Aliases: []string{"usb:v*p*d*dc*dsc*dp*ic08isc06ip50in*"}},
		{Name: "vfat", Depends: []string{"fat"}},
		{Name: "xhci_hcd"},
		{Name: "xhci_pci", Depends: []string{"xhci_hcd"}, Aliases: []string{"pci:v*d*sv*sd*bc0Csc03i30*"}},
	}
	for i := range mods {
		mods[i].Path = "kernel/" + mods[i].Name + ".ko"
	}
	return &kmod.Index{Kernel: "6.1.0-test", Modules: mods, Builtin: []string{"scsi_mod", "usbcore"}}
}

// fakeHardware is a machine whose devices appear as their drivers load, some with a
// delay, as real ones do: PCI controllers are there from the start; xhci_pci brings a
// USB stick 600 ms later; usb_storage its SCSI device, and sd_mod the disks, 1.2 s after
// that.
type fakeHardware struct {
	t      *testing.T
	root   string
	clk    *fakeClock
	loaded []string
	calls  map[string]int
}

func (h *fakeHardware) device(path, modalias string) {
	h.t.Helper()
	dir := filepath.Join(h.root, "sys", "devices", path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "modalias"), []byte(modalias+"\n"), 0o444); err != nil {
		h.t.Fatal(err)
	}
}

func (h *fakeHardware) disk(name string) {
	if err := os.MkdirAll(filepath.Join(h.root, "sys", "block", name), 0o755); err != nil {
		h.t.Fatal(err)
	}
}

func (h *fakeHardware) load(dir string, m kmod.Module) error {
	h.calls[m.Name]++
	if dir != "/lib/modules/6.1.0-test" {
		return fmt.Errorf("modules dir %s", dir)
	}
	switch m.Name {
	case "broken":
		return errors.New("init_module: no such device")
	case "ahci":
		h.device("pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0", "scsi:t-0x00")
	case "nvme":
		h.disk("nvme0n1")
	case "xhci_pci":
		h.clk.after(600*time.Millisecond, func() {
			h.device("pci0000:00/0000:00:14.0/usb1/1-1", "usb:v0781p5567d0100dc00dsc00dp00ic00isc00ip00in00")
			h.device("pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0", "usb:v0781p5567d0100dc00dsc00dp00ic08isc06ip50in00")
		})
	case "usb_storage":
		h.clk.after(1200*time.Millisecond, func() {
			h.device("pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0/host6/target6:0:0/6:0:0:0", "scsi:t-0x00")
			h.disk("sdb")
		})
	case "sd_mod":
		h.disk("sda")
	}
	h.loaded = append(h.loaded, m.Name)
	return nil
}

func newFakeHardware(t *testing.T) *fakeHardware {
	h := &fakeHardware{t: t, root: t.TempDir(), clk: newFakeClock(), calls: map[string]int{}}
	h.device("pci0000:00/0000:00:1f.2", "pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01")
	h.device("pci0000:00/0000:00:06.0", "pci:v00001B36d00000010sv00001AF4sd00001100bc01sc08i02")
	h.device("pci0000:00/0000:00:14.0", "pci:v00001B36d0000000Dsv00001AF4sd00001100bc0Csc03i30")
	h.device("pci0000:00/0000:00:08.0", "pci:v00001234d00001111sv00001AF4sd00001100bc03sc00i00")
	h.device("platform/serial8250", "platform:serial8250")
	// A symbolic link must not make a device count twice or loop.
	os.Symlink("..", filepath.Join(h.root, "sys", "devices", "pci0000:00", "loop"))
	h.disk("loop0")
	return h
}

func TestColdplug(t *testing.T) {
	h := newFakeHardware(t)
	cp := &Coldplug{Root: h.root, ModulesDir: "/lib/modules/6.1.0-test", Index: testIndex(), Load: h.load}
	var logged []string
	cp.Logf = func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }
	cp.LoadModules("vfat", "nls_cp437", "nls_ascii")
	res := waitHardware(context.Background(), h.root, cp, DefaultSettling, h.clk)

	want := []string{"fat", "vfat", "nls_cp437", "nls_ascii", // asked for
		"libata", "libahci", "ahci", "nvme_core", "nvme", "xhci_hcd", "xhci_pci", // PCI, dependencies first
		"sd_mod",      // the AHCI disk's SCSI device
		"usb_storage", // the stick, 600 ms after xhci
	}
	if !reflect.DeepEqual(h.loaded, want) {
		t.Errorf("loaded %v\nwant   %v", h.loaded, want)
	}
	if !reflect.DeepEqual(cp.Loaded, want) {
		t.Errorf("Coldplug.Loaded %v", cp.Loaded)
	}
	for name, n := range h.calls {
		if n != 1 {
			t.Errorf("%s loaded %d times", name, n)
		}
	}
	if cp.Failed["broken"] == "" || len(cp.Failed) != 1 || len(logged) != 1 {
		t.Errorf("failed %v, logged %q", cp.Failed, logged)
	}
	if want := []string{"nvme0n1", "sda", "sdb"}; !reflect.DeepEqual(res.Disks, want) {
		t.Errorf("disks %v, want %v", res.Disks, want)
	}
	// sdb appeared 1.8 s in (plus the rounds' steps); then 2 s of quiet.
	if !res.Settled || res.Elapsed < 3800*time.Millisecond || res.Elapsed > 5*time.Second {
		t.Errorf("settled %v after %v", res.Settled, res.Elapsed)
	}
}

// Without a module index the wait still watches the disks.
func TestWaitHardwareNoModules(t *testing.T) {
	h := newFakeHardware(t)
	h.clk.after(time.Second, func() { h.disk("vda") })
	res := waitHardware(context.Background(), h.root, nil, Settling{Quiet: 2 * time.Second, Max: 30 * time.Second, Interval: 250 * time.Millisecond}, h.clk)
	if !res.Settled || !slices.Equal(res.Disks, []string{"vda"}) || res.Elapsed != 3*time.Second {
		t.Errorf("%+v", res)
	}
}

// Hardware that never stops changing is waited for Max, no longer.
func TestWaitHardwareMax(t *testing.T) {
	h := newFakeHardware(t)
	n := 0
	var more func()
	more = func() {
		n++
		h.disk(fmt.Sprintf("sd%c", 'a'+n%26))
		h.device(fmt.Sprintf("virtual/dev%d", n), fmt.Sprintf("virtual:%d", n))
		h.clk.after(time.Second, more)
	}
	h.clk.after(time.Second, more)
	s := Settling{Quiet: 2 * time.Second, Max: 10 * time.Second, Interval: 250 * time.Millisecond}
	res := waitHardware(context.Background(), h.root, &Coldplug{Root: h.root, Index: testIndex(), Load: h.load}, s, h.clk)
	if res.Settled || res.Elapsed != 10*time.Second {
		t.Errorf("settled %v after %v; want not, after 10s", res.Settled, res.Elapsed)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res = waitHardware(ctx, h.root, nil, s, h.clk)
	if res.Settled || res.Rounds != 1 {
		t.Errorf("cancelled: %+v", res)
	}
}

func TestColdplugUnknownModule(t *testing.T) {
	h := newFakeHardware(t)
	cp := &Coldplug{Root: h.root, ModulesDir: "/lib/modules/6.1.0-test", Index: testIndex(), Load: h.load}
	if n := cp.LoadModules("nls_utf8", "vfat", "vfat"); n != 2 {
		t.Errorf("loaded %d, want fat and vfat", n)
	}
	if cp.Failed["nls_utf8"] == "" {
		t.Errorf("failed %v", cp.Failed)
	}
}
