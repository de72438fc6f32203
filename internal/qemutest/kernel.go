package qemutest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/decom-project/decom/internal/debcache"
)

var fetchOnce struct {
	sync.Once
	out string
	err error
}

// Kernel returns the cached kernel and its modules directory (lib/modules/VERSION). When the
// cache is empty it runs scripts/fetch-kernel.sh once (apt-get download of Debian's
// linux-image-amd64); if that cannot provide a kernel either, the test is skipped, or failed
// under CI.
func Kernel(t testing.TB) (vmlinuz, modulesDir string) {
	t.Helper()
	cache := debcache.KernelCache()
	vmlinuz, modulesDir, err := debcache.Kernel()
	if err == nil {
		return vmlinuz, modulesDir
	}
	fetchOnce.Do(func() {
		script, serr := findScript("scripts/fetch-kernel.sh")
		if serr != nil {
			fetchOnce.err = serr
			return
		}
		cmd := exec.Command(script)
		cmd.Env = append(os.Environ(), "DECOM_KERNEL_CACHE="+cache)
		out, rerr := cmd.CombinedOutput()
		fetchOnce.out, fetchOnce.err = strings.TrimSpace(string(out)), rerr
	})
	if vmlinuz, modulesDir, err = debcache.Kernel(); err == nil {
		return vmlinuz, modulesDir
	}
	msg := fmt.Sprintf("no kernel for the QEMU tests in %s (%v); make deps fetches it", cache, err)
	if fetchOnce.err != nil {
		msg += fmt.Sprintf("; fetch-kernel.sh: %v: %s", fetchOnce.err, fetchOnce.out)
	}
	stop(t, "%s", msg)
	return "", ""
}

// findScript looks for rel in the module root above the working directory.
func findScript(rel string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, rel)
			if _, err := os.Stat(p); err != nil {
				return "", err
			}
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// stop skips the test, or fails it under CI (CI=true), where a missing prerequisite must never
// turn into a silent skip.
func stop(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}
