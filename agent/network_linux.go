package agent

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/u-root/u-root/pkg/dhclient"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Network timing: how long a link may take to come up (a real NIC negotiating its
// speed takes seconds), one DHCP attempt, and all of it.
const (
	linkUpTimeout = 15 * time.Second
	dhcpTimeout   = 5 * time.Second
	dhcpRetries   = 3
	networkMax    = 60 * time.Second
)

// dhcp brings up the loopback and every wired interface, asks each for a DHCPv4 lease
// in parallel and configures the first one that gets a lease: address, routes and
// /etc/resolv.conf.
func dhcp(ctx context.Context, logf func(string, ...any)) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, networkMax)
	defer cancel()
	if lo, err := netlink.LinkByName("lo"); err == nil {
		netlink.LinkSetUp(lo)
	}
	links, err := netlink.LinkList()
	if err != nil {
		return "", fmt.Errorf("listing network interfaces: %w", err)
	}
	var wired []netlink.Link
	var names []string
	for _, l := range links {
		if wiredInterface("/", l) {
			wired = append(wired, l)
			names = append(names, l.Attrs().Name)
		}
	}
	if len(wired) == 0 {
		return "", errNoInterfaces
	}
	slices.Sort(names)
	logf("network: asking for a DHCP lease on %s", strings.Join(names, " "))
	// u-root's client logs through the standard logger: keep it off the console.
	log.SetOutput(io.Discard)
	defer log.SetOutput(os.Stderr)
	if err := os.MkdirAll("/etc", 0o755); err != nil {
		return "", err
	}
	seedRandom(ctx, logf)
	results := dhclient.SendRequests(ctx, wired, true, false,
		dhclient.Config{Timeout: dhcpTimeout, Retries: dhcpRetries}, linkUpTimeout)
	var errs []string
	for r := range results {
		if r.Err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", r.Interface.Attrs().Name, r.Err))
			continue
		}
		if err := r.Lease.Configure(); err != nil {
			errs = append(errs, fmt.Sprintf("%s: configuring %v: %v", r.Interface.Attrs().Name, r.Lease, err))
			continue
		}
		cancel() // the other interfaces' requests
		msg, _ := r.Lease.Message()
		what := fmt.Sprintf("%s: DHCP lease", r.Interface.Attrs().Name)
		if msg != nil {
			what = fmt.Sprintf("%s: %s", r.Interface.Attrs().Name, msg.YourIPAddr)
			if gw := msg.Router(); len(gw) > 0 {
				what += fmt.Sprintf(" via %s", gw[0])
			}
			if dns := msg.DNS(); len(dns) > 0 {
				what += fmt.Sprintf(", DNS %s", dns[0])
			}
		}
		go func() {
			for range results { // let the others end
			}
		}()
		return what, nil
	}
	if len(errs) == 0 {
		return "", fmt.Errorf("no DHCP lease on %s", strings.Join(names, " "))
	}
	return "", fmt.Errorf("no DHCP lease: %s", joinErrs(errs))
}

// seedRandom waits until the kernel's random number generator is seeded. The DHCP
// client draws its transaction IDs with a getrandom that does not block, and fails
// until then; early in a boot on a machine without a hardware generator the kernel
// seeds it only when some read blocks (from CPU timing jitter), which this one does.
func seedRandom(ctx context.Context, logf func(string, ...any)) {
	done := make(chan struct{})
	go func() {
		var b [1]byte
		unix.Getrandom(b[:], 0)
		close(done)
	}()
	select {
	case <-done:
		return
	case <-time.After(2 * time.Second):
		logf("network: waiting for the kernel's random number generator to be seeded")
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// wiredInterface reports whether l is an Ethernet interface of a device: not the
// loopback, not wireless, not a bridge, bond or other virtual interface.
func wiredInterface(root string, l netlink.Link) bool {
	a := l.Attrs()
	if a.Name == "lo" || a.EncapType != "ether" && a.EncapType != "" {
		return false
	}
	return wiredName(root, a.Name)
}

// wiredName is wiredInterface's test on sysfs alone (root/sys/class/net/NAME).
func wiredName(root, name string) bool {
	dir := filepath.Join(root, "sys", "class", "net", name)
	if _, err := os.Stat(filepath.Join(dir, "device")); err != nil {
		return false // virtual: no device behind it
	}
	for _, w := range []string{"wireless", "phy80211"} {
		if _, err := os.Stat(filepath.Join(dir, w)); err == nil {
			return false
		}
	}
	return readAttr(filepath.Join(dir, "type")) == "1" // ARPHRD_ETHER
}
