//go:build !agentimage

package registry

import (
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimit limits how fast each client may ask for what costs the registry work
// and what could be used to enumerate certificates: its pages, PDFs and searches
// (every route but those in unlimitedRoutes). Uploads, proofs, bundles, the
// certificate JSON and the log are not limited: agents and auditors' tools make
// them at volume.
type RateLimit struct {
	// PerSecond is the sustained rate of requests a client may make; 0 turns the
	// limit off.
	PerSecond float64
	// Burst is how many requests a client may make at once, after being idle.
	Burst int
	// TrustedProxies are the reverse proxies in front of the registry: a request
	// from one of them is counted against the address its X-Forwarded-For header
	// names (the rightmost one that is not itself a trusted proxy). From anyone
	// else the header is ignored, since a client may write what it likes there.
	TrustedProxies []netip.Prefix
}

// unlimitedRoutes are the routes (mux patterns) the rate limit leaves alone.
var unlimitedRoutes = map[string]bool{
	"POST /api/v1/certificates":            true,
	"GET /api/v1/certificates/{id}":        true,
	"GET /api/v1/certificates/{id}/bundle": true,
	"GET /api/v1/certificates/{id}/proof":  true,
	"GET /api/v1/log/checkpoint":           true,
	"GET /api/v1/log/key":                  true,
	"GET /api/v1/log/consistency":          true,
	"GET /log/":                            true,
	"GET /healthz":                         true,
	"GET /readyz":                          true,
	"GET /metrics":                         true,
}

// limiter keeps a token bucket per client.
type limiter struct {
	cfg     RateLimit
	mu      sync.Mutex
	clients map[netip.Addr]*bucket
	swept   time.Time
	// idle is how long a client's bucket is kept unused: by then it is full again.
	idle time.Duration
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiter(cfg RateLimit) *limiter {
	if cfg.PerSecond <= 0 {
		return nil
	}
	cfg.Burst = max(cfg.Burst, 1)
	refill := time.Duration(float64(cfg.Burst) / cfg.PerSecond * float64(time.Second))
	return &limiter{cfg: cfg, clients: map[netip.Addr]*bucket{}, idle: max(time.Minute, 2*refill)}
}

// allow takes one request from client's bucket, or says how long until it may ask.
func (l *limiter) allow(client netip.Addr, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > l.idle {
		for a, b := range l.clients {
			if now.Sub(b.seen) > l.idle {
				delete(l.clients, a)
			}
		}
		l.swept = now
	}
	b := l.clients[client]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(l.cfg.PerSecond), l.cfg.Burst)}
		l.clients[client] = b
	}
	b.seen = now
	res := b.lim.ReserveN(now, 1)
	if !res.OK() {
		return false, time.Second
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

// client is the address a request is counted against: the peer's, or, from a
// trusted proxy, the one X-Forwarded-For names. An IPv6 client counts as its /64,
// which one host usually holds whole.
func (l *limiter) client(r *http.Request) netip.Addr {
	peer := remoteAddr(r)
	addr := peer
	if l.trusted(peer) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break // what a client wrote, left of the proxies' entries
			}
			addr = a.Unmap()
			if !l.trusted(addr) {
				break
			}
		}
	}
	if addr.Is6() {
		if p, err := addr.Prefix(64); err == nil {
			return p.Addr()
		}
	}
	return addr
}

func (l *limiter) trusted(a netip.Addr) bool {
	for _, p := range l.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// remoteAddr is the address of the request's peer; the zero Addr if unknown.
func remoteAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		a, _ := netip.ParseAddr(r.RemoteAddr)
		return a.Unmap()
	}
	return ap.Addr().Unmap()
}

// limit answers 429 Too Many Requests, with Retry-After, when the request's client
// has used up its bucket; it reports whether the request may go on.
func (s *Server) limit(w http.ResponseWriter, r *http.Request, pattern string) bool {
	if s.limiter == nil || unlimitedRoutes[pattern] {
		return true
	}
	ok, wait := s.limiter.allow(s.limiter.client(r), time.Now())
	if ok {
		return true
	}
	secs := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	s.access.limited.Inc()
	msg := "too many requests from your address; try again in " + strconv.Itoa(max(secs, 1)) + " s"
	if wantsJSON(r, pattern) {
		writeError(w, http.StatusTooManyRequests, "%s", msg)
		return false
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write([]byte(msg + "\n"))
	return false
}
