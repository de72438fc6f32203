package images_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/decom-project/decom/images"
	"github.com/decom-project/decom/internal/debcache"
	"github.com/decom-project/decom/internal/qemutest"
)

// TestImageSizes measures what the boot image's build of decom (images.AgentTags)
// saves against the full decom in the same image: the stripped binary, the initramfs
// (gzip, as in the image, and unpacked), and the time from QEMU's start to the agent's
// first line on the serial console and to its first write on a drive, median of
// DECOM_IMAGE_BOOTS boots (default 3) of each, taken in turns. The first write is seen
// from this side: the drive's image file changes its modification time (polled every
// 5 ms). The boot is the end-to-end tests' USB stick
// through OVMF under TCG, with one 16 MiB virtio drive, auto mode, countdown 0,
// nist-clear. It reports, as Markdown, to the file DECOM_IMAGE_REPORT names (make
// bench-image); without it, it is skipped. It asserts nothing about the times.
func TestImageSizes(t *testing.T) {
	report := os.Getenv("DECOM_IMAGE_REPORT")
	if report == "" {
		t.Skip("a measurement: set DECOM_IMAGE_REPORT=FILE (make bench-image)")
	}
	boots := 3
	if s := os.Getenv("DECOM_IMAGE_BOOTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("DECOM_IMAGE_BOOTS=%q", s)
		}
		boots = n
	}
	qemutest.Require(t)
	vmlinuz, modules, err := debcache.Kernel()
	if err != nil {
		vmlinuz, modules = qemutest.Kernel(t)
	}
	dir := t.TempDir()
	if _, err := hostDecom(t, "keys", "generate", "--out", filepath.Join(dir, "site")); err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(filepath.Join(dir, "site.key"))
	if err != nil {
		t.Fatal(err)
	}

	type variant struct {
		name, tags   string
		binary       int64
		initrd, cpio int64
		image        string
		agentUp      []time.Duration
		firstWrite   []time.Duration
		ran          []time.Duration
	}
	variants := []*variant{{name: "full decom"}, {name: "-tags " + images.AgentTags, tags: images.AgentTags}}
	for i, v := range variants {
		// Stripped, as images.Build builds it from source.
		args := []string{"-ldflags", "-s -w"}
		if v.tags != "" {
			args = append(args, "-tags", v.tags)
		}
		bin, err := buildDecom(dir, fmt.Sprintf("decom-%d", i), args...)
		if err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(bin)
		if err != nil {
			t.Fatal(err)
		}
		v.binary = st.Size()
		v.image = filepath.Join(dir, fmt.Sprintf("decom-%d.img", i))
		res, err := images.Build(context.Background(), images.Config{Image: v.image, Kernel: vmlinuz, Modules: modules,
			Binary: bin, DataSize: 64 << 20})
		if err != nil {
			t.Fatal(err)
		}
		v.initrd, v.cpio = res.Initramfs.Size, res.Initramfs.Uncompressed
		writeData(t, v.image, map[string][]byte{
			"config.yaml":    []byte(baseConfig("")),
			"site.key":       key,
			"key-passphrase": []byte(e2ePassphrase + "\n"),
		})
	}

	load0 := loadAverage()
	for n := 0; n < boots; n++ {
		for _, v := range variants {
			// Each boot starts from the image as built: a copy, since the agent writes
			// its certificates and logs on the stick.
			stickCopy := filepath.Join(t.TempDir(), "stick.img")
			if err := copyImage(v.image, stickCopy); err != nil {
				t.Fatal(err)
			}
			target := randomDisk(t, "target.img")
			before, err := os.Stat(target)
			if err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			seen := make(chan time.Duration, 1)
			start := time.Now()
			agent := &milestone{marker: " boot agent: mode ", start: start}
			go func() {
				tick := time.NewTicker(5 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
					}
					if st, err := os.Stat(target); err == nil && !st.ModTime().Equal(before.ModTime()) {
						seen <- time.Since(start)
						return
					}
				}
			}()
			res := qemutest.BootUEFI(t, qemutest.UEFIConfig{USB: stickCopy, Timeout: 12 * time.Minute,
				Disks: []qemutest.Disk{{Path: target, Bus: qemutest.VirtioBlk, Serial: "SIZEVIRTIO"}},
				Until: "decom: summary", Console: agent})
			close(stop)
			select {
			case d := <-seen:
				v.firstWrite = append(v.firstWrite, d)
			default:
				t.Fatalf("%s: boot %d: no write reached the drive; console:\n%s", v.name, n+1, res.Console)
			}
			if !strings.Contains(res.Console, "decom: summary") {
				t.Fatalf("%s: boot %d: no summary", v.name, n+1)
			}
			up, ok := agent.seen()
			if !ok {
				t.Fatalf("%s: boot %d: the agent's first line is not on the console", v.name, n+1)
			}
			v.agentUp = append(v.agentUp, up)
			v.ran = append(v.ran, res.Elapsed)
			t.Logf("%s: boot %d: agent up after %v, first write after %v, summary after %v", v.name, n+1,
				up.Round(10*time.Millisecond), v.firstWrite[n].Round(10*time.Millisecond), res.Elapsed.Round(10*time.Millisecond))
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, "Measured %s on %s (%d CPUs; load average %s at the start, %s at the end), %d boots each, QEMU -accel %s with OVMF.\n\n",
		time.Now().UTC().Format("2006-01-02"), cpuModel(), runtime.NumCPU(), load0, loadAverage(), boots, accelName())
	fmt.Fprintf(&b, "| image's decom | binary (stripped) | initramfs (gzip) | initramfs (unpacked) | QEMU start to the agent's first line | to the first write | to the summary |\n")
	fmt.Fprintf(&b, "|---|---|---|---|---|---|---|\n")
	for _, v := range variants {
		fmt.Fprintf(&b, "| %s | %.1f MiB | %.1f MiB | %.1f MiB | %.1f s | %.1f s | %.1f s |\n", v.name,
			mibs(v.binary), mibs(v.initrd), mibs(v.cpio), median(v.agentUp).Seconds(), median(v.firstWrite).Seconds(), median(v.ran).Seconds())
	}
	b.WriteString("\nTimes are medians; each boot's:\n")
	for _, v := range variants {
		fmt.Fprintf(&b, "\n- %s: agent's first line %s; first write %s; summary %s", v.name,
			durations(v.agentUp), durations(v.firstWrite), durations(v.ran))
	}
	b.WriteString("\n")
	t.Logf("\n%s", b.String())
	if err := os.WriteFile(report, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// milestone notes when the console first holds marker, counted from start.
type milestone struct {
	marker string
	start  time.Time

	mu   sync.Mutex
	buf  []byte
	at   time.Duration
	done bool
}

func (m *milestone) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.done {
		m.buf = append(m.buf, p...)
		if strings.Contains(string(m.buf), m.marker) {
			m.at, m.done, m.buf = time.Since(m.start), true, nil
		}
	}
	return len(p), nil
}

func (m *milestone) seen() (time.Duration, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.at, m.done
}

func copyImage(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func durations(ds []time.Duration) string {
	var parts []string
	for _, d := range ds {
		parts = append(parts, fmt.Sprintf("%.1f s", d.Seconds()))
	}
	return strings.Join(parts, ", ")
}

func mibs(n int64) float64 { return float64(n) / (1 << 20) }

// accelName is QEMU's accelerator as qemutest chooses it.
func accelName() string {
	if a := os.Getenv("DECOM_QEMU_ACCEL"); a != "" {
		return a
	}
	return "tcg"
}

// cpuModel is the first processor's model name.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
