package redisratelimit

import (
	"context"
	"errors"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/distkit/distkit/internal/redistest"
	"github.com/distkit/distkit/ratelimit"
	"github.com/distkit/distkit/ratelimit/ratelimittest"
	"github.com/redis/go-redis/v9"
)

func TestConformance(t *testing.T) {
	ratelimittest.Run(t, func(t *testing.T, limit ratelimit.Limit) ratelimit.Limiter {
		return New(redistest.Start(t), limit)
	})
}

// serverTime returns the Redis server's clock.
func serverTime(t *testing.T, rdb *redis.Client) time.Time {
	t.Helper()
	now, err := rdb.Time(t.Context()).Result()
	if err != nil {
		t.Fatalf("TIME: %v", err)
	}
	return now
}

// TestSharedBudget hammers one key from four clients for 3 s: together they
// get at most rate·T + burst events, T measured on the server's clock, and
// at least 95% of that.
func TestSharedBudget(t *testing.T) {
	const rate, burst = 100, 10
	srv := redistest.StartServer(t)
	clients := []*redis.Client{srv.Client(), srv.Client(), srv.Client(), srv.Client()}
	limit := ratelimit.Limit{Rate: rate, Burst: burst}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	start := serverTime(t, clients[0])
	stop := time.Now().Add(3 * time.Second)
	for _, c := range clients {
		l := New(c, limit)
		wg.Go(func() {
			for time.Now().Before(stop) {
				d, err := l.Allow(context.Background(), "shared")
				if err != nil {
					t.Errorf("Allow: %v", err)
					return
				}
				if d.Allowed {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	T := serverTime(t, clients[0]).Sub(start)
	most := rate*T.Seconds() + burst
	got := float64(allowed.Load())
	t.Logf("4 clients admitted %v events in %v (server clock); rate·T + burst = %.1f", got, T, most)
	if got > most {
		t.Errorf("admitted %v events in %v; more than rate·T + burst = %.1f", got, T, most)
	}
	if got < 0.95*most {
		t.Errorf("admitted %v events in %v; less than 95%% of rate·T + burst = %.1f", got, T, most)
	}
}

func TestKeyExpires(t *testing.T) {
	rdb := redistest.Start(t)
	l := New(rdb, ratelimit.Limit{Rate: 100, Burst: 5}, WithPrefix("rl:"))
	ctx := t.Context()
	if _, err := l.AllowN(ctx, "k", 3); err != nil {
		t.Fatal(err)
	}
	ttl, err := rdb.PTTL(ctx, "rl:k").Result()
	if err != nil || ttl <= 0 || ttl > 30*time.Millisecond {
		t.Errorf("PTTL after 3 events at 100/s = %v, %v; want (0, 30ms]", ttl, err)
	}
	if _, err := l.AllowN(ctx, "peek", 0); err != nil {
		t.Fatal(err)
	}
	if n, _ := rdb.Exists(ctx, "rl:peek").Result(); n != 0 {
		t.Error("a peek wrote a key")
	}
	deadline := time.Now().Add(2 * time.Second)
	for rdb.Exists(ctx, "rl:k").Val() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the key outlived its bucket refilling by 2 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// scripterOnly hides everything of a client but redis.Scripter.
type scripterOnly struct{ redis.Scripter }

func TestScripterOnly(t *testing.T) {
	l := New(scripterOnly{redistest.Start(t)}, ratelimit.PerHour(2))
	for i, want := range []bool{true, true, false} {
		if d, err := l.Allow(t.Context(), "k"); err != nil || d.Allowed != want {
			t.Errorf("Allow #%d through a bare Scripter = %+v, %v; want allowed %v", i, d, err, want)
		}
	}
}

func TestRedisFailures(t *testing.T) {
	srv := redistest.StartServer(t)
	opts := srv.Options()
	opts.MaxRetries = -1
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	l := New(rdb, ratelimit.PerHour(1))
	ctx := t.Context()
	if d, err := l.Allow(ctx, "k"); err != nil || !d.Allowed {
		t.Fatalf("first Allow = %+v, %v; want allowed", d, err)
	}

	srv.Pause()
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	d, err := l.Allow(short, "other")
	cancel()
	srv.Resume()
	if err == nil || d.Allowed || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Allow on a paused server = %+v, %v; want an error wrapping context.DeadlineExceeded, not allowed", d, err)
	}

	srv.Pause()
	short, cancel = context.WithTimeout(ctx, 100*time.Millisecond)
	k, d, err := l.AllowAtMost(short, "other", 1)
	cancel()
	srv.Resume()
	if err == nil || k != 0 || d.Allowed || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("AllowAtMost on a paused server = %d, %+v, %v; want an error wrapping context.DeadlineExceeded, none admitted", k, d, err)
	}

	srv.Kill()
	if d, err := l.Allow(ctx, "k"); err == nil || d.Allowed {
		t.Errorf("Allow on a killed server = %+v, %v; want an error, not allowed", d, err)
	}
	if k, d, err := l.AllowAtMost(ctx, "k", 1); err == nil || k != 0 || d.Allowed {
		t.Errorf("AllowAtMost on a killed server = %d, %+v, %v; want an error, none admitted", k, d, err)
	}
	srv.Restart() // without persistence the budget is gone: the key starts full
	var lastErr error
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		d, err := l.Allow(ctx, "k")
		if lastErr = err; err == nil {
			if !d.Allowed {
				t.Errorf("Allow after a restart without persistence = %+v; want allowed", d)
			}
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if lastErr != nil {
		t.Fatalf("Allow after restart kept failing: %v", lastErr)
	}
	if d, err := l.Allow(ctx, "k"); err != nil || d.Allowed {
		t.Errorf("second Allow after restart = %+v, %v; want denied", d, err)
	}
}

func TestRestartWithPersistenceKeepsBudget(t *testing.T) {
	srv := redistest.StartServer(t, redistest.WithAppendOnly(true))
	l := New(srv.Client(), ratelimit.PerHour(1))
	ctx := t.Context()
	if d, err := l.Allow(ctx, "k"); err != nil || !d.Allowed {
		t.Fatalf("first Allow = %+v, %v", d, err)
	}
	srv.Restart()
	d, err := l.Allow(ctx, "k")
	for i := 0; err != nil && i < 100; i++ {
		time.Sleep(10 * time.Millisecond)
		d, err = l.Allow(ctx, "k")
	}
	if err != nil || d.Allowed {
		t.Errorf("Allow after a restart with AOF = %+v, %v; want denied", d, err)
	}
}

func TestAllocations(t *testing.T) {
	l := New(redistest.Start(t), ratelimit.Limit{Rate: 1e6, Burst: 1 << 20})
	ctx := context.Background()
	l.Allow(ctx, "k") // loads the script
	if n := testing.AllocsPerRun(200, func() { l.Allow(ctx, "k") }); n > 10 {
		t.Errorf("Allow allocates %v times per call; want <= 10", n)
	} else {
		t.Logf("Allow allocates %v times per call", n)
	}
}

func TestDecision(t *testing.T) {
	l := New(nil, ratelimit.Limit{Rate: 1000, Burst: 5}) // 1000µs per event
	for _, tc := range []struct {
		r    int64
		n    int
		want ratelimit.Decision
	}{
		{1000, 1, ratelimit.Decision{Allowed: true, Remaining: 4, ResetAfter: time.Millisecond}},
		{5000, 1, ratelimit.Decision{Allowed: true, Remaining: 0, ResetAfter: 5 * time.Millisecond}},
		{0, 0, ratelimit.Decision{Allowed: true, Remaining: 5}},
		{-1 - 4500, 1, ratelimit.Decision{Remaining: 0, RetryAfter: 500 * time.Microsecond, ResetAfter: 4500 * time.Microsecond}},
		{-1 - 3000, 3, ratelimit.Decision{Remaining: 2, RetryAfter: time.Millisecond, ResetAfter: 3 * time.Millisecond}},
		// A debt past the burst (the burst was lowered): nothing remains.
		{-1 - 9000, 1, ratelimit.Decision{RetryAfter: 5 * time.Millisecond, ResetAfter: 9 * time.Millisecond}},
		{math.MinInt64, 1, ratelimit.Decision{RetryAfter: ratelimit.InfDuration, ResetAfter: ratelimit.InfDuration}},
	} {
		if got := l.decision(tc.r, tc.n); got != tc.want {
			t.Errorf("decision(%d, %d) = %+v; want %+v", tc.r, tc.n, got, tc.want)
		}
	}
}

func FuzzDecision(f *testing.F) {
	f.Add(int64(1000), uint8(1), uint16(5), uint32(1000))
	f.Add(int64(-4501), uint8(1), uint16(5), uint32(1000))
	f.Add(int64(math.MinInt64), uint8(0), uint16(1), uint32(1))
	f.Fuzz(func(t *testing.T, r int64, n uint8, burst uint16, rate uint32) {
		l := New(nil, ratelimit.Limit{Rate: ratelimit.Rate(max(rate, 1)), Burst: int(burst)})
		if int(n) > int(burst) {
			return // refused before any round trip
		}
		d := l.decision(r, int(n))
		if d.Allowed != (r >= 0) || d.Remaining < 0 || d.Remaining > int(burst) || d.RetryAfter < 0 || d.ResetAfter < 0 {
			t.Fatalf("decision(%d, %d) under %+v = %+v", r, n, l.Limit(), d)
		}
		if d.Allowed && d.RetryAfter != 0 {
			t.Fatalf("decision(%d, %d) allows with a retry-after: %+v", r, n, d)
		}
	})
}

func BenchmarkAllow(b *testing.B) {
	l := New(redistest.Start(b), ratelimit.Limit{Rate: 1e6, Burst: 1 << 20})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Allow(ctx, "k"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAllowAtMost asks for ten events where the budget refills one
// every 10µs, faster than a round trip but not ten times faster, so that
// most calls admit part of the request (admitted/op).
func BenchmarkAllowAtMost(b *testing.B) {
	l := New(redistest.Start(b), ratelimit.Limit{Rate: 1e5, Burst: 10})
	ctx := context.Background()
	var admitted int
	b.ReportAllocs()
	for b.Loop() {
		k, _, err := l.AllowAtMost(ctx, "k", 10)
		if err != nil {
			b.Fatal(err)
		}
		admitted += k
	}
	b.ReportMetric(float64(admitted)/float64(b.N), "admitted/op")
}

func BenchmarkAllowParallel(b *testing.B) {
	l := New(redistest.Start(b), ratelimit.Limit{Rate: 1e6, Burst: 1 << 20})
	ctx := context.Background()
	b.ReportAllocs()
	var seq atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		key := "k" + strconv.FormatInt(seq.Add(1), 10)
		for pb.Next() {
			if _, err := l.Allow(ctx, key); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func TestSlowRateLongWindow(t *testing.T) {
	rdb := redistest.Start(t)
	l := New(rdb, ratelimit.Limit{Rate: ratelimit.Every(24 * time.Hour), Burst: 1000})
	ctx := t.Context()
	if d, err := l.AllowN(ctx, "k", 1000); err != nil || !d.Allowed {
		t.Fatalf("AllowN(burst) = %+v, %v; want allowed", d, err)
	}
	d, err := l.Allow(ctx, "k")
	if err != nil || d.Allowed || d.RetryAfter < 23*time.Hour || d.ResetAfter < 999*24*time.Hour {
		t.Errorf("Allow after a daily burst of 1000 = %+v, %v; want denied for a day, full in 1000 days", d, err)
	}
	ttl, _ := rdb.PTTL(ctx, "ratelimit:k").Result()
	if ttl < 999*24*time.Hour {
		t.Errorf("PTTL = %v; want the 1000 days until the bucket is full", ttl)
	}
	// Burst/Rate saturates (at about 73 years), which leaves one token per
	// 73 years / 2^20, about 36 minutes: the emptied bucket stays empty
	// however slowly the next call comes.
	huge := New(rdb, ratelimit.Limit{Rate: 1e-12, Burst: 1 << 20})
	if d, err := huge.AllowN(ctx, "h", 1<<20); err != nil || !d.Allowed {
		t.Fatalf("AllowN on a saturated limit = %+v, %v; want allowed", d, err)
	}
	if d, err := huge.Allow(ctx, "h"); err != nil || d.Allowed || d.ResetAfter <= 0 {
		t.Errorf("Allow on an emptied saturated limit = %+v, %v; want denied with a positive reset", d, err)
	}
}

func TestStats(t *testing.T) {
	srv := redistest.StartServer(t)
	opts := srv.Options()
	opts.MaxRetries = -1
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	l := New(rdb, ratelimit.PerHour(2))
	ctx := t.Context()
	steps := []struct {
		name string
		do   func()
		want Stats
	}{
		{"bad input", func() {
			l.Allow(ctx, "")
			l.AllowN(ctx, "k", -1)
			l.AllowN(ctx, "k", 3)
		}, Stats{}},
		{"allow twice", func() { l.Allow(ctx, "k"); l.Allow(ctx, "k") }, Stats{Calls: 2}},
		{"deny", func() { l.Allow(ctx, "k") }, Stats{Calls: 3, Denied: 1}},
		{"peek", func() { l.AllowN(ctx, "k", 0) }, Stats{Calls: 4, Denied: 1}},
		{"at most, none left", func() { l.AllowAtMost(ctx, "k", 2) }, Stats{Calls: 5, Denied: 2}},
		{"at most, some", func() { l.AllowAtMost(ctx, "k2", 5) }, Stats{Calls: 6, Denied: 2}},
		{"server killed", func() {
			srv.Kill()
			if _, err := l.Allow(ctx, "k"); err == nil {
				t.Error("Allow on a killed server succeeded")
			}
		}, Stats{Calls: 7, Denied: 2, Errors: 1}},
	}
	for _, s := range steps {
		s.do()
		if got := l.Stats(); got != s.want {
			t.Errorf("after %s: Stats = %+v; want %+v", s.name, got, s.want)
		}
	}
	for _, limit := range []ratelimit.Limit{{Rate: ratelimit.Inf}, {Rate: 0, Burst: 1}} {
		l := New(rdb, limit)
		l.Allow(ctx, "k")
		if got := l.Stats(); got != (Stats{}) {
			t.Errorf("Rate %v: Stats = %+v; want zero, no round trip", limit.Rate, got)
		}
	}
}
