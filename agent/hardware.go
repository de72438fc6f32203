package agent

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/decom-project/decom/internal/kmod"
)

// FilesystemModules are loaded whatever the hardware: the data partition is FAT32
// (codepage 437 short names; Debian's kernels default to iocharset ascii with utf8).
// Those the index does not hold are passed over.
var FilesystemModules = []string{"vfat", "nls_cp437", "nls_ascii", "nls_iso8859_1", "nls_utf8"}

// Loader loads one kernel module from the modules directory; kmod.Load in the boot
// image, a fake in tests. A module already loaded is no error.
type Loader func(modulesDir string, m kmod.Module) error

// Coldplug loads the modules for the hardware present, as udev does at boot: it reads
// the modalias of every device below /sys/devices, loads each module whose aliases
// match (dependencies first) and tries again, since a driver that binds makes new
// devices appear (PCI → NVMe, AHCI and xHCI → USB devices → usb-storage and uas → SCSI
// disks). Each module is tried once; one that fails to load is reported and the rest
// go on.
type Coldplug struct {
	Root       string // "/" in the boot image
	ModulesDir string // /lib/modules/<release>, where the index's paths start
	Index      *kmod.Index
	Load       Loader
	// Logf reports what was loaded and what failed.
	Logf func(format string, args ...any)

	tried   map[string]bool
	aliases map[string]bool
	Loaded  []string          // modules loaded, in order
	Failed  map[string]string // module → error
}

// Round scans the modaliases once and loads what matches and was not tried before.
// It returns how many modaliases were new and how many modules it loaded.
func (c *Coldplug) Round() (newAliases, loaded int) {
	if c.tried == nil {
		c.tried, c.aliases, c.Failed = map[string]bool{}, map[string]bool{}, map[string]string{}
	}
	var wanted []string
	for _, a := range modaliases(c.Root) {
		if c.aliases[a] {
			continue
		}
		c.aliases[a] = true
		newAliases++
		for _, m := range c.Index.Match(a) {
			if !slices.Contains(wanted, m.Name) {
				wanted = append(wanted, m.Name)
			}
		}
	}
	slices.Sort(wanted)
	return newAliases, c.LoadModules(wanted...)
}

// LoadModules loads the modules called names that were not tried before, each after
// its dependencies, and returns how many it loaded.
func (c *Coldplug) LoadModules(names ...string) int {
	if c.tried == nil {
		c.tried, c.aliases, c.Failed = map[string]bool{}, map[string]bool{}, map[string]string{}
	}
	n := 0
	for _, name := range names {
		if c.tried[name] {
			continue
		}
		mods, err := c.Index.Closure(name)
		if err != nil {
			c.tried[name] = true
			c.fail(name, err)
			continue
		}
		for _, m := range mods {
			if c.tried[m.Name] {
				continue
			}
			c.tried[m.Name] = true
			if err := c.Load(c.ModulesDir, m); err != nil {
				c.fail(m.Name, err)
				continue
			}
			c.Loaded = append(c.Loaded, m.Name)
			n++
		}
	}
	return n
}

func (c *Coldplug) fail(name string, err error) {
	c.Failed[name] = err.Error()
	if c.Logf != nil {
		c.Logf("module %s not loaded: %v", name, err)
	}
}

// modaliases lists the distinct modalias values of the devices below root/sys/devices,
// sorted. Symbolic links are not followed, so every device is seen once.
func modaliases(root string) []string {
	var out []string
	seen := map[string]bool{}
	_ = filepath.WalkDir(filepath.Join(root, "sys", "devices"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.Name() != "modalias" || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		a := strings.TrimSpace(string(b))
		if a != "" && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
		return nil
	})
	slices.Sort(out)
	return out
}

// Settling bounds the wait for the hardware to show itself.
type Settling struct {
	// Quiet is how long nothing new may appear (no modalias, no module, no disk)
	// before the hardware counts as settled; Max bounds the whole wait; Interval is
	// the time between rounds.
	Quiet, Max, Interval time.Duration
}

// DefaultSettling is what the agent waits unless decom.settle says otherwise.
var DefaultSettling = Settling{Quiet: 2 * time.Second, Max: 30 * time.Second, Interval: 250 * time.Millisecond}

// clock is time as the agent sees it; tests replace it.
type clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// HardwareResult is what waiting for the hardware found.
type HardwareResult struct {
	Disks   []string // /sys/block names, sorted
	Rounds  int
	Elapsed time.Duration
	// Settled is false when Max ran out while new things still appeared.
	Settled bool
}

// waitHardware runs coldplug rounds (when c is not nil) and watches /sys/block until
// nothing new has appeared for s.Quiet, or s.Max has passed.
func waitHardware(ctx context.Context, root string, c *Coldplug, s Settling, clk clock) HardwareResult {
	start := clk.Now()
	last := start
	var disks []string
	res := HardwareResult{}
	for {
		res.Rounds++
		changed := false
		if c != nil {
			na, nl := c.Round()
			changed = na > 0 || nl > 0
		}
		now := blockDevices(root)
		if !slices.Equal(now, disks) {
			disks, changed = now, true
		}
		t := clk.Now()
		if changed {
			last = t
		}
		if t.Sub(last) >= s.Quiet {
			res.Settled = true
			break
		}
		if t.Sub(start) >= s.Max || ctx.Err() != nil {
			break
		}
		if clk.Sleep(ctx, s.Interval) != nil {
			break
		}
	}
	res.Disks, res.Elapsed = disks, clk.Now().Sub(start)
	return res
}

// blockDevices lists root/sys/block, less RAM disks and unused loop devices' kind.
func blockDevices(root string) []string {
	entries, _ := os.ReadDir(filepath.Join(root, "sys", "block"))
	var out []string
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, "loop") || strings.HasPrefix(n, "ram") {
			continue
		}
		out = append(out, n)
	}
	return out
}
