package ratelimit

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })

func get(h http.Handler, remote string, xff ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = remote
	for _, v := range xff {
		r.Header.Add("X-Forwarded-For", v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestMiddleware(t *testing.T) {
	h := Middleware(NewLocal(PerMinute(2)), RemoteIP)(okHandler)
	for i, want := range []struct {
		code              int
		rateLimit, policy string
		retryAfter        string
	}{
		{200, `"default";r=1;t=30`, `"default";q=2;w=60`, ""},
		{200, `"default";r=0;t=60`, `"default";q=2;w=60`, ""},
		{429, `"default";r=0;t=60`, `"default";q=2;w=60`, "30"},
	} {
		w := get(h, "192.0.2.1:1234")
		got := w.Result()
		if got.StatusCode != want.code || got.Header.Get("RateLimit") != want.rateLimit ||
			got.Header.Get("RateLimit-Policy") != want.policy || got.Header.Get("Retry-After") != want.retryAfter {
			t.Errorf("request %d: %d RateLimit %q Policy %q Retry-After %q; want %d %q %q %q", i, got.StatusCode,
				got.Header.Get("RateLimit"), got.Header.Get("RateLimit-Policy"), got.Header.Get("Retry-After"),
				want.code, want.rateLimit, want.policy, want.retryAfter)
		}
	}
	if w := get(h, "192.0.2.2:1234"); w.Code != 200 {
		t.Errorf("another client got %d; want 200", w.Code)
	}
}

func TestMiddlewareFailPolicy(t *testing.T) {
	noKey := func(*http.Request) string { return "" }
	if w := get(Middleware(NewLocal(PerSecond(1)), noKey)(okHandler), "192.0.2.1:1"); w.Code != 503 {
		t.Errorf("fail closed on a limiter error: %d; want 503", w.Code)
	}
	w := get(Middleware(NewLocal(PerSecond(1)), noKey, WithFailOpen(true))(okHandler), "192.0.2.1:1")
	if w.Code != 200 || w.Body.String() != "ok" {
		t.Errorf("fail open on a limiter error: %d %q; want 200 ok", w.Code, w.Body.String())
	}
	if got, want := w.Header().Get("RateLimit-Policy"), `"default";q=1;w=1`; got != want || w.Header().Get("RateLimit") != "" {
		t.Errorf("fail open: RateLimit-Policy %q, RateLimit %q; want %q and none", got, w.Header().Get("RateLimit"), want)
	}
	// A Limiter that does not tell its Limit: the policy comes from each Decision.
	h := Middleware(bareLimiter{NewLocal(PerMinute(10))}, RemoteIP)(okHandler)
	if w := get(h, "192.0.2.1:1"); w.Header().Get("RateLimit-Policy") != `"default";q=10;w=60` || w.Header().Get("RateLimit") != `"default";r=9;t=6` {
		t.Errorf("bare limiter: RateLimit-Policy %q, RateLimit %q", w.Header().Get("RateLimit-Policy"), w.Header().Get("RateLimit"))
	}
}

func TestMiddlewareFields(t *testing.T) {
	h := Middleware(NewLocal(Limit{Rate: 0.5, Burst: 3}), RemoteIP, WithPolicyName(`per "ip" \`))(okHandler)
	w := get(h, "192.0.2.1:1")
	if got, want := w.Header().Get("RateLimit-Policy"), `"per \"ip\" \\";q=3;w=6`; got != want {
		t.Errorf("RateLimit-Policy = %s; want %s", got, want)
	}
	inf := Middleware(NewLocal(Limit{Rate: Inf}), RemoteIP)(okHandler)
	if w := get(inf, "192.0.2.1:1"); w.Code != 200 || w.Header().Get("RateLimit") != "" {
		t.Errorf("Inf limit: %d, RateLimit %q; want 200 without fields", w.Code, w.Header().Get("RateLimit"))
	}
	none := Middleware(NewLocal(Limit{Rate: 0, Burst: 1}), RemoteIP)(okHandler)
	if w := get(none, "192.0.2.1:1"); w.Code != 429 || w.Header().Get("Retry-After") != "" {
		t.Errorf("zero rate: %d, Retry-After %q; want 429 without Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	for _, name := range []string{"", "é", "a\nb"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("WithPolicyName(%q) did not panic", name)
				}
			}()
			WithPolicyName(name)
		}()
	}
}

// bareLimiter hides every method of a Limiter but the interface's.
type bareLimiter struct{ Limiter }

func TestRemoteIP(t *testing.T) {
	for remote, want := range map[string]string{
		"192.0.2.1:80":                 "192.0.2.1",
		"[::ffff:192.0.2.1]:80":        "192.0.2.1",
		"[2001:db8:1:2:3:4:5:6]:80":    "2001:db8:1:2::/64",
		"2001:db8:1:2:3:4:5:7":         "2001:db8:1:2::/64",
		"not an address":               "not an address",
		"[fe80::1%eth0]:80":            "fe80::/64",
		"[2001:db8:1:3:3:4:5:6]:65535": "2001:db8:1:3::/64",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		if got := RemoteIP(r); got != want {
			t.Errorf("RemoteIP(%q) = %q; want %q", remote, got, want)
		}
	}
}

func TestForwardedIP(t *testing.T) {
	key := ForwardedIP(netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8"))
	for _, c := range []struct {
		remote string
		xff    []string
		want   string
	}{
		{"192.0.2.1:1", []string{"198.51.100.7"}, "192.0.2.1"}, // untrusted peer: XFF ignored
		{"10.0.0.1:1", nil, "10.0.0.1"},
		{"10.0.0.1:1", []string{"198.51.100.7"}, "198.51.100.7"},
		{"10.0.0.1:1", []string{"1.1.1.1, 198.51.100.7, 10.0.0.2"}, "198.51.100.7"},
		{"10.0.0.1:1", []string{"1.1.1.1", "198.51.100.7,10.0.0.2"}, "198.51.100.7"},
		{"10.0.0.1:1", []string{"garbage, 10.0.0.2"}, "10.0.0.2"},
		{"10.0.0.1:1", []string{"[2001:db8::1]:443"}, "2001:db8::/64"},
		{"[fd00::1]:1", []string{"198.51.100.7:8080"}, "198.51.100.7"},
	} {
		if got := key(reqWith(c.remote, c.xff)); got != c.want {
			t.Errorf("ForwardedIP(%s, XFF %q) = %q; want %q", c.remote, c.xff, got, c.want)
		}
	}
	hops := ForwardedIPHops(2)
	for _, c := range []struct {
		xff  []string
		want string
	}{
		{[]string{"1.1.1.1, 198.51.100.7, 10.0.0.2"}, "198.51.100.7"},
		{[]string{"10.0.0.2"}, "192.0.2.1"},
		{nil, "192.0.2.1"},
	} {
		if got := hops(reqWith("192.0.2.1:1", c.xff)); got != c.want {
			t.Errorf("ForwardedIPHops(2)(XFF %q) = %q; want %q", c.xff, got, c.want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("ForwardedIPHops(0) did not panic")
		}
	}()
	ForwardedIPHops(0)
}

func reqWith(remote string, xff []string) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = remote
	for _, v := range xff {
		r.Header.Add("X-Forwarded-For", v)
	}
	return r
}

func FuzzForwardedIP(f *testing.F) {
	f.Add("10.0.0.1:1", "1.1.1.1, 198.51.100.7, 10.0.0.2")
	f.Add("192.0.2.1:1", "198.51.100.7")
	f.Add("[fd00::1]:1", "[2001:db8::1]:443,,")
	key := ForwardedIP(netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8"))
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := reqWith(remote, []string{xff})
		got := key(r)
		peer, ok := remoteAddr(r)
		if !ok {
			if got != remote {
				t.Errorf("unparseable peer %q keyed as %q; want it unchanged", remote, got)
			}
			return
		}
		if !netip.MustParsePrefix("10.0.0.0/8").Contains(peer) && !netip.MustParsePrefix("fd00::/8").Contains(peer) {
			if got != RemoteIP(r) {
				t.Errorf("untrusted peer %q with XFF %q keyed as %q; want %q", remote, xff, got, RemoteIP(r))
			}
			return
		}
		if _, err := netip.ParseAddr(got); err != nil {
			if _, err := netip.ParsePrefix(got); err != nil {
				t.Errorf("key %q for XFF %q is neither an address nor a prefix", got, xff)
			}
		}
		ForwardedIPHops(1)(r)
	})
}

func BenchmarkMiddleware(b *testing.B) {
	h := Middleware(NewLocal(Limit{Rate: 1e9, Burst: 1 << 20}), RemoteIP)(okHandler)
	r := httptest.NewRequest("GET", "/", nil).WithContext(context.Background())
	r.RemoteAddr = "192.0.2.1:1234"
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
}
