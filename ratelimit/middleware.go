package ratelimit

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// A MiddlewareOption configures Middleware.
type MiddlewareOption func(*middleware)

// WithPolicyName sets the name of the quota policy in the RateLimit-Policy
// and RateLimit header fields. It panics if name is empty or holds anything
// but printable ASCII. Default: "default".
func WithPolicyName(name string) MiddlewareOption {
	if name == "" {
		panic("ratelimit: WithPolicyName with an empty name")
	}
	for i := 0; i < len(name); i++ {
		if name[i] < 0x20 || name[i] > 0x7e {
			panic("ratelimit: WithPolicyName: the name must be printable ASCII")
		}
	}
	return func(m *middleware) { m.name = name }
}

// WithFailOpen sets what Middleware does when the Limiter returns an error
// (its backend is down, or the key func returned ""): serve the request
// anyway (true), or answer 503 Service Unavailable (false). Default: false,
// fail closed.
func WithFailOpen(open bool) MiddlewareOption {
	return func(m *middleware) { m.failOpen = open }
}

// WithCounters makes Middleware count its decisions in c, whose Stats method
// reports them. Several middlewares may share one MiddlewareCounters to be
// counted together. Default: nil, nothing is counted.
func WithCounters(c *MiddlewareCounters) MiddlewareOption {
	return func(m *middleware) { m.counters = c }
}

// MiddlewareCounters counts what a Middleware given it by WithCounters did.
// Its zero value is ready to use; it must not be copied after first use. It
// is safe for concurrent use by multiple goroutines.
type MiddlewareCounters struct {
	requests, allowed, limited, errors, failedOpen atomic.Uint64
}

// MiddlewareStats is a snapshot of a MiddlewareCounters, for monitoring.
// Requests = Allowed + Limited + Errors, up to the requests being counted
// while the snapshot is taken.
type MiddlewareStats struct {
	// Requests counts the requests the middleware asked the Limiter about.
	Requests uint64
	// Allowed counts the requests the Limiter allowed, passed to the handler.
	Allowed uint64
	// Limited counts the requests refused with 429 Too Many Requests.
	Limited uint64
	// Errors counts the requests for which the Limiter returned an error
	// (its backend failed, or the key func returned "").
	Errors uint64
	// FailedOpen counts the requests of Errors served anyway, under
	// WithFailOpen(true); the others, Errors - FailedOpen, got 503 Service
	// Unavailable.
	FailedOpen uint64
}

// Stats returns a snapshot of the counters. Each field is read atomically,
// but not all at one instant.
func (c *MiddlewareCounters) Stats() MiddlewareStats {
	return MiddlewareStats{
		Requests:   c.requests.Load(),
		Allowed:    c.allowed.Load(),
		Limited:    c.limited.Load(),
		Errors:     c.errors.Load(),
		FailedOpen: c.failedOpen.Load(),
	}
}

type middleware struct {
	l        Limiter
	key      func(*http.Request) string
	name     string
	failOpen bool
	policy   string              // the RateLimit-Policy value, when the Limiter tells its Limit
	counters *MiddlewareCounters // nil: count nothing
}

// limitReporter is a Limiter that tells the Limit it applies to every key,
// as Local and redisratelimit.Limiter do.
type limitReporter interface {
	Limit() Limit
}

// Middleware returns a net/http middleware that limits requests with l, one
// budget per key that key returns for the request.
//
// Every response the limiter decided on carries the header fields of
// draft-ietf-httpapi-ratelimit-headers: RateLimit-Policy with the quota q (the burst) and its window w in
// seconds (the time an empty budget takes to fill), and RateLimit with the
// remaining quota r and the seconds t until the budget is full again, such
// as
//
//	RateLimit-Policy: "default";q=100;w=60
//	RateLimit: "default";r=42;t=17
//
// (neither is sent for an Inf or zero Rate, which have no window). A request
// over the limit gets 429 Too Many Requests with Retry-After in whole
// seconds, rounded up, and does not reach the handler. When l returns an
// error the request is served or refused with 503 according to WithFailOpen;
// that response carries RateLimit-Policy if l has a Limit() Limit method,
// as Local and redisratelimit.Limiter have, but no RateLimit. WithCounters
// makes it count what it decided.
func Middleware(l Limiter, key func(*http.Request) string, opts ...MiddlewareOption) func(http.Handler) http.Handler {
	m := &middleware{l: l, key: key, name: "default"}
	for _, o := range opts {
		o(m)
	}
	if lr, ok := l.(limitReporter); ok {
		m.policy = policyField(m.name, lr.Limit())
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m.serve(w, r, next)
		})
	}
}

func (m *middleware) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	d, err := m.l.Allow(r.Context(), m.key(r))
	c := m.counters
	if c != nil {
		c.requests.Add(1)
	}
	h := w.Header()
	if m.policy != "" {
		h["Ratelimit-Policy"] = []string{m.policy}
	}
	if err != nil {
		if c != nil {
			c.errors.Add(1)
		}
		if m.failOpen {
			if c != nil {
				c.failedOpen.Add(1)
			}
			next.ServeHTTP(w, r)
			return
		}
		http.Error(w, "rate limiter unavailable", http.StatusServiceUnavailable)
		return
	}
	policy := m.policy
	if policy == "" {
		policy = policyField(m.name, d.Limit)
		if policy != "" {
			h["Ratelimit-Policy"] = []string{policy}
		}
	}
	if policy != "" {
		h["Ratelimit"] = []string{rateLimitField(m.name, d)}
	}
	if !d.Allowed {
		if c != nil {
			c.limited.Add(1)
		}
		if d.RetryAfter != InfDuration {
			h["Retry-After"] = []string{strconv.FormatInt(ceilSeconds(d.RetryAfter), 10)}
		}
		http.Error(w, http.StatusText(http.StatusTooManyRequests), http.StatusTooManyRequests)
		return
	}
	if c != nil {
		c.allowed.Add(1)
	}
	next.ServeHTTP(w, r)
}

// ceilSeconds returns d in whole seconds, rounded up, at least 1 when d > 0.
func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}

// sfString appends name as a structured-field string (RFC 8941).
func sfString(b []byte, name string) []byte {
	b = append(b, '"')
	for i := 0; i < len(name); i++ {
		if c := name[i]; c == '"' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, name[i])
	}
	return append(b, '"')
}

// policyField returns the RateLimit-Policy value for limit, or "" when the
// limit has no window.
func policyField(name string, limit Limit) string {
	if !(limit.Rate > 0) || limit.Rate >= Inf || limit.Burst <= 0 {
		return ""
	}
	b := make([]byte, 0, 32+len(name))
	b = sfString(b, name)
	b = append(b, ";q="...)
	b = strconv.AppendInt(b, int64(limit.Burst), 10)
	b = append(b, ";w="...)
	b = strconv.AppendInt(b, max(ceilSeconds(limit.Window()), 1), 10)
	return string(b)
}

// rateLimitField returns the RateLimit value for d.
func rateLimitField(name string, d Decision) string {
	b := make([]byte, 0, 32+len(name))
	b = sfString(b, name)
	b = append(b, ";r="...)
	b = strconv.AppendInt(b, int64(d.Remaining), 10)
	b = append(b, ";t="...)
	b = strconv.AppendInt(b, ceilSeconds(d.ResetAfter), 10)
	return string(b)
}

// RemoteIP returns the client address of r's connection (r.RemoteAddr
// without the port) as a key: an IPv4 address, or the /64 prefix of an IPv6
// address, since a single client commonly holds a whole /64. It ignores
// X-Forwarded-For; behind a proxy use ForwardedIP.
func RemoteIP(r *http.Request) string {
	a, ok := remoteAddr(r)
	if !ok {
		return r.RemoteAddr
	}
	return ipKey(a)
}

func remoteAddr(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	return a.Unmap(), err == nil
}

func ipKey(a netip.Addr) string {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// ForwardedIP returns a key func for servers behind proxies whose addresses
// are in trusted. When the connection comes from a trusted proxy, it reads
// X-Forwarded-For from the right, skipping trusted addresses, and keys on
// the first address that is not trusted: the one the outermost trusted proxy
// saw. Addresses further left were written by the client and are ignored, so
// a client cannot choose its key. A connection from an untrusted peer is
// keyed on its own address, as RemoteIP does. Keys are formed as RemoteIP
// forms them.
func ForwardedIP(trusted ...netip.Prefix) func(*http.Request) string {
	return func(r *http.Request) string {
		peer, ok := remoteAddr(r)
		if !ok {
			return r.RemoteAddr
		}
		isTrusted := func(a netip.Addr) bool {
			for _, p := range trusted {
				if p.Contains(a) {
					return true
				}
			}
			return false
		}
		if !isTrusted(peer) {
			return ipKey(peer)
		}
		client := peer
		walkForwarded(r.Header.Values("X-Forwarded-For"), func(a netip.Addr) bool {
			client = a
			return isTrusted(a)
		})
		return ipKey(client)
	}
}

// ForwardedIPHops returns a key func for servers behind exactly hops proxies
// that each append the address they saw to X-Forwarded-For: it keys on the
// hops-th address from the right. With fewer addresses than that, or none
// parseable, it keys on the connection's address as RemoteIP does. It panics
// if hops < 1.
func ForwardedIPHops(hops int) func(*http.Request) string {
	if hops < 1 {
		panic("ratelimit: ForwardedIPHops needs hops >= 1")
	}
	return func(r *http.Request) string {
		var client netip.Addr
		i := 0
		walkForwarded(r.Header.Values("X-Forwarded-For"), func(a netip.Addr) bool {
			i++
			if i == hops {
				client = a
				return false
			}
			return true
		})
		if !client.IsValid() {
			return RemoteIP(r)
		}
		return ipKey(client)
	}
}

// walkForwarded calls f on the addresses of X-Forwarded-For values from the
// right until f returns false or an entry does not parse.
func walkForwarded(values []string, f func(netip.Addr) bool) {
	for i := len(values) - 1; i >= 0; i-- {
		v := values[i]
		for v != "" {
			entry := v
			if j := strings.LastIndexByte(v, ','); j >= 0 {
				entry, v = v[j+1:], v[:j]
			} else {
				v = ""
			}
			a, ok := parseForwarded(strings.TrimSpace(entry))
			if !ok || !f(a) {
				return
			}
		}
	}
}

// parseForwarded parses one X-Forwarded-For entry: an address, possibly
// with a port ("192.0.2.1:443", "[2001:db8::1]:443").
func parseForwarded(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}
