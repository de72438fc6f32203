package agent

import (
	"net"
	"net/url"
	"strings"

	"github.com/decom-project/decom/inventory"
)

// What the kernel command line may ask is bounded by the config file: anyone at the
// boot menu can type a decom.* parameter, but only whoever prepared the stick wrote
// its config.

// cmdlineRegistryRefusal says why decom.registry=raw must not receive the config's
// registry token, "" when it may: it names the config's own registry, or a registry
// the config lists in boot: cmdline_registries, over https:// unless the config
// allows plain HTTP.
func cmdlineRegistryRefusal(raw string, c Config) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "not a URL"
	}
	if c.Registry != "" && sameRegistry(raw, c.Registry) {
		return "" // the config's own choice, scheme included
	}
	allowed := false
	for _, p := range c.CmdlineRegistries {
		if p == "*" || registryPattern(p).matches(u) {
			allowed = true
			break
		}
	}
	switch {
	case !allowed:
		return "the config file does not allow this registry (boot: cmdline_registries), and it would receive the config's registry token"
	case strings.EqualFold(u.Scheme, "http") && !c.AllowInsecureHTTP:
		return "plain http:// would send the registry token unencrypted, and the config file does not allow that (boot: allow_insecure_http: true)"
	}
	return ""
}

// pattern is one entry of boot: cmdline_registries other than "*": a whole URL
// (scheme, host, port and path must match), or a host name or address, with or
// without a port.
type pattern struct {
	url      *url.URL
	hostPort string // host:port, lower case
	host     string // host alone, lower case
}

// registryPattern reads an entry of boot: cmdline_registries; nil when it is none.
func registryPattern(s string) *pattern {
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" || (!strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https")) {
			return nil
		}
		return &pattern{url: u}
	}
	if strings.ContainsAny(s, "/@?# ") {
		return nil
	}
	if h, port, err := net.SplitHostPort(s); err == nil && h != "" && port != "" {
		return &pattern{hostPort: strings.ToLower(s)}
	}
	return &pattern{host: strings.ToLower(strings.Trim(s, "[]"))}
}

func (p *pattern) matches(u *url.URL) bool {
	switch {
	case p == nil:
		return false
	case p.url != nil:
		return sameRegistry(p.url.String(), u.String())
	case p.hostPort != "":
		return strings.ToLower(u.Host) == p.hostPort
	}
	return strings.ToLower(u.Hostname()) == p.host
}

// sameRegistry compares two registry URLs by scheme, host, port and path.
func sameRegistry(a, b string) bool {
	ua, errA := url.Parse(a)
	ub, errB := url.Parse(b)
	if errA != nil || errB != nil {
		return false
	}
	return strings.EqualFold(ua.Scheme, ub.Scheme) && strings.EqualFold(ua.Host, ub.Host) &&
		strings.TrimRight(ua.Path, "/") == strings.TrimRight(ub.Path, "/")
}

// machineListed reports whether host's DMI system serial number or UUID is among
// machines (UUIDs compared without regard to case).
func machineListed(host inventory.Host, machines []string) bool {
	for _, m := range machines {
		m = strings.TrimSpace(m)
		if m == "" {
			continue
		}
		if m == host.SystemSerial || strings.EqualFold(m, host.SystemUUID) && host.SystemUUID != "" {
			return true
		}
	}
	return false
}
