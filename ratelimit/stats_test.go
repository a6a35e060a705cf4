package ratelimit

import (
	"net/http"
	"strconv"
	"testing"
	"time"
	"unsafe"
)

func TestLocalStats(t *testing.T) {
	l := NewLocal(PerSecond(10).WithBurst(2))
	steps := []struct {
		name string
		do   func()
		want LocalStats
	}{
		{"new", func() {}, LocalStats{}},
		{"bad input", func() {
			l.AllowNAt(t0, "", 1)
			l.AllowNAt(t0, "k", -1)
			l.AllowNAt(t0, "k", 3)
		}, LocalStats{}},
		{"peek of an unknown key", func() { l.AllowNAt(t0, "k", 0) }, LocalStats{}},
		{"allow twice", func() { l.AllowNAt(t0, "k", 1); l.AllowNAt(t0, "k", 1) },
			LocalStats{Keys: 1, Allowed: 2}},
		{"deny", func() { l.AllowNAt(t0, "k", 1) }, LocalStats{Keys: 1, Allowed: 2, Denied: 1}},
		{"peek of a known key", func() { l.AllowNAt(t0, "k", 0) }, LocalStats{Keys: 1, Allowed: 2, Denied: 1}},
		{"allow n=2 on another key", func() { l.AllowNAt(t0, "j", 2) }, LocalStats{Keys: 2, Allowed: 3, Denied: 1}},
	}
	for _, s := range steps {
		s.do()
		if got := l.Stats(); got != s.want {
			t.Errorf("after %s: Stats = %+v; want %+v", s.name, got, s.want)
		}
	}

	inf, none := NewLocal(Limit{Rate: Inf}), NewLocal(Limit{Rate: 0, Burst: 1})
	inf.AllowAt(t0, "k")
	none.AllowAt(t0, "k")
	if got := inf.Stats(); got != (LocalStats{}) {
		t.Errorf("Inf rate: Stats = %+v; want zero (no state, not counted)", got)
	}
	if got := none.Stats(); got != (LocalStats{}) {
		t.Errorf("zero rate: Stats = %+v; want zero (no state, not counted)", got)
	}
	var zero Local
	if got := zero.Stats(); got != (LocalStats{}) {
		t.Errorf("zero Local: Stats = %+v; want zero", got)
	}
}

func TestLocalStatsDroppedAndEvicted(t *testing.T) {
	// One shard: every key meets every other.
	l := NewLocal(PerSecond(1), WithMaxKeys(1))
	l.perCap = 1 << 20
	for i := range 100 {
		l.AllowAt(t0, "old"+strconv.Itoa(i))
	}
	if got := l.Stats(); got.Dropped != 0 || got.Evicted != 0 || got.Keys != 100 || got.Allowed != 100 {
		t.Fatalf("Stats after 100 keys = %+v; want 100 keys, 100 allowed, none dropped or evicted", got)
	}
	// Two seconds later every old bucket is full: new keys sweep them out.
	for i := range 100 {
		l.AllowAt(at(2*time.Second), "new"+strconv.Itoa(i))
	}
	got := l.Stats()
	if got.Dropped == 0 || got.Evicted != 0 || uint64(got.Keys) != 200-got.Dropped {
		t.Fatalf("Stats after 100 new keys = %+v; want some dropped, none evicted, Keys = 200 - Dropped", got)
	}

	// At the cap, with no bucket full, every new key evicts one.
	c := NewLocal(PerSecond(1), WithMaxKeys(1))
	c.perCap = 10
	for i := range 25 {
		c.AllowAt(t0, strconv.Itoa(i))
	}
	if got, want := c.Stats(), (LocalStats{Keys: 10, Allowed: 25, Evicted: 15}); got != want {
		t.Errorf("Stats at the cap = %+v; want %+v", got, want)
	}
}

func TestLocalShardSize(t *testing.T) {
	// A shard fills whole cache lines, so that two shards' locks never
	// share one.
	if n := unsafe.Sizeof(localShard{}); n%64 != 0 {
		t.Errorf("localShard is %d bytes; want a multiple of 64", n)
	}
}

func TestMiddlewareCounters(t *testing.T) {
	var c MiddlewareCounters
	key := RemoteIP
	fail := true
	flaky := func(r *http.Request) string {
		if fail {
			return "" // the limiter answers ErrEmptyKey
		}
		return key(r)
	}
	closed := Middleware(NewLocal(PerMinute(1)), flaky, WithCounters(&c))(okHandler)
	open := Middleware(NewLocal(PerMinute(1)), flaky, WithCounters(&c), WithFailOpen(true))(okHandler)
	steps := []struct {
		name string
		h    http.Handler
		fail bool
		code int
		want MiddlewareStats
	}{
		{"error, fail closed", closed, true, 503, MiddlewareStats{Requests: 1, Errors: 1}},
		{"error, fail open", open, true, 200, MiddlewareStats{Requests: 2, Errors: 2, FailedOpen: 1}},
		{"allowed", closed, false, 200, MiddlewareStats{Requests: 3, Allowed: 1, Errors: 2, FailedOpen: 1}},
		{"limited", closed, false, 429, MiddlewareStats{Requests: 4, Allowed: 1, Limited: 1, Errors: 2, FailedOpen: 1}},
		{"allowed by the other", open, false, 200, MiddlewareStats{Requests: 5, Allowed: 2, Limited: 1, Errors: 2, FailedOpen: 1}},
	}
	for _, s := range steps {
		fail = s.fail
		if w := get(s.h, "192.0.2.1:1"); w.Code != s.code {
			t.Errorf("%s: status %d; want %d", s.name, w.Code, s.code)
		}
		if got := c.Stats(); got != s.want {
			t.Errorf("after %s: Stats = %+v; want %+v", s.name, got, s.want)
		}
	}
	// Without WithCounters nothing is counted, and nothing fails.
	if w := get(Middleware(NewLocal(PerMinute(1)), RemoteIP)(okHandler), "192.0.2.1:1"); w.Code != 200 {
		t.Errorf("without counters: status %d; want 200", w.Code)
	}
	if got := c.Stats(); got.Requests != 5 {
		t.Errorf("a middleware without counters moved them: %+v", got)
	}
}
