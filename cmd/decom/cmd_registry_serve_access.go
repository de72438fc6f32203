//go:build !agentimage

package main

import (
	"net/netip"
	"strings"

	"github.com/spf13/pflag"

	"github.com/decom-project/decom/registry"
)

// registryAccessOptions are who may read from decom registry serve, how fast, and
// where its metrics are served.
type registryAccessOptions struct {
	PublicReads    bool
	MetricsAddr    string
	RateLimit      float64
	RateBurst      int
	TrustedProxies []string
}

func (o *registryAccessOptions) AddFlags(f *pflag.FlagSet) {
	f.BoolVar(&o.PublicReads, "public-reads", false, "serve certificate pages, bundles, PDFs, proofs and searches to anyone (default: a token with the read scope is needed; the log's tiles, checkpoint and key are public either way)")
	f.StringVar(&o.MetricsAddr, "metrics-addr", "", "also serve /metrics, without a token, on this address (a private network's Prometheus); on --addr /metrics needs a token with the admin scope")
	f.Float64Var(&o.RateLimit, "rate-limit", 10, "requests per second each client may make for pages, PDFs and searches (0: no limit); uploads, proofs and the log are not limited")
	f.IntVar(&o.RateBurst, "rate-burst", 60, "requests a client may make at once under --rate-limit")
	f.StringSliceVar(&o.TrustedProxies, "trusted-proxy", nil, "address or CIDR of a reverse proxy in front of the registry, whose X-Forwarded-For names the client for the rate limit (repeatable); from others the header is ignored")
}

// config checks the flags and makes the server's settings of them.
func (o registryAccessOptions) config(cfg *registry.Config) error {
	if o.RateLimit < 0 {
		return usageErrorf("--rate-limit %v: want a number of requests per second, 0 for no limit", o.RateLimit)
	}
	if o.RateBurst < 1 {
		return usageErrorf("--rate-burst %d: want at least 1", o.RateBurst)
	}
	rl := registry.RateLimit{PerSecond: o.RateLimit, Burst: o.RateBurst}
	for _, p := range o.TrustedProxies {
		p = strings.TrimSpace(p)
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			a, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return usageErrorf("--trusted-proxy %q: want an IP address or a CIDR such as 10.0.0.0/24", p)
			}
			pfx = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		rl.TrustedProxies = append(rl.TrustedProxies, pfx.Masked())
	}
	cfg.PublicReads, cfg.RateLimit = o.PublicReads, rl
	return nil
}
