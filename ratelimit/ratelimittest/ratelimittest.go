package ratelimittest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/distkit/distkit/ratelimit"
)

// slack is how far answers about time may be off on the minute scale: a
// backend's clock is read later than the client's, on a machine that may be
// busy, and rounded to microseconds.
const slack = 2 * time.Second

// Run runs the conformance suite against the limiters newLimiter returns.
// newLimiter is called once per subtest and must return a limiter with no
// state, applying limit to every key.
//
// The suite checks: the burst and the Decision fields, costs (n > 1) and
// peeks (n = 0), refill and the accuracy of RetryAfter, isolation between
// keys, concurrent clients never getting more than Rate·T + Burst, the
// sentinel errors for bad input, the zero and infinite limits, and, for
// limiters that have it, AllowAtMost (ratelimit.AtMostLimiter).
func Run(t *testing.T, newLimiter func(t *testing.T, limit ratelimit.Limit) ratelimit.Limiter) {
	t.Run("Burst", func(t *testing.T) { testBurst(t, newLimiter) })
	t.Run("Cost", func(t *testing.T) { testCost(t, newLimiter) })
	t.Run("Refill", func(t *testing.T) { testRefill(t, newLimiter) })
	t.Run("KeyIsolation", func(t *testing.T) { testKeys(t, newLimiter) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, newLimiter) })
	t.Run("BadInput", func(t *testing.T) { testBadInput(t, newLimiter) })
	t.Run("ZeroAndInf", func(t *testing.T) { testZeroAndInf(t, newLimiter) })
	t.Run("AtMost", func(t *testing.T) { testAtMost(t, newLimiter) })
}

type newFunc = func(t *testing.T, limit ratelimit.Limit) ratelimit.Limiter

func allowN(t *testing.T, l ratelimit.Limiter, key string, n int) ratelimit.Decision {
	t.Helper()
	d, err := l.AllowN(t.Context(), key, n)
	if err != nil {
		t.Fatalf("AllowN(%q, %d): %v", key, n, err)
	}
	return d
}

func near(got, want, tolerance time.Duration) bool {
	return got >= want-tolerance && got <= want+tolerance
}

func testBurst(t *testing.T, newLimiter newFunc) {
	limit := ratelimit.PerHour(5)
	l := newLimiter(t, limit)
	for i := range 5 {
		d := allowN(t, l, "burst", 1)
		if !d.Allowed || d.Remaining != 4-i || d.RetryAfter != 0 {
			t.Errorf("event %d = %+v; want allowed, Remaining %d, RetryAfter 0", i, d, 4-i)
		}
		if want := time.Duration(i+1) * 12 * time.Minute; !near(d.ResetAfter, want, slack) {
			t.Errorf("event %d ResetAfter = %v; want %v", i, d.ResetAfter, want)
		}
		if d.Limit != limit {
			t.Errorf("Decision.Limit = %+v; want %+v", d.Limit, limit)
		}
	}
	d, err := l.Allow(t.Context(), "burst")
	if err != nil || d.Allowed || d.Remaining != 0 || !near(d.RetryAfter, 12*time.Minute, slack) || !near(d.ResetAfter, time.Hour, slack) {
		t.Errorf("event after the burst = %+v, %v; want denied, RetryAfter 12m, ResetAfter 1h", d, err)
	}
}

func testCost(t *testing.T, newLimiter newFunc) {
	l := newLimiter(t, ratelimit.PerHour(10)) // a token every 6 minutes
	if d := allowN(t, l, "cost", 4); !d.Allowed || d.Remaining != 6 {
		t.Errorf("AllowN(4) = %+v; want allowed, Remaining 6", d)
	}
	d := allowN(t, l, "cost", 7)
	if d.Allowed || d.Remaining != 6 || !near(d.RetryAfter, 6*time.Minute, slack) {
		t.Errorf("AllowN(7) with 6 left = %+v; want denied, Remaining 6, RetryAfter 6m", d)
	}
	if d := allowN(t, l, "cost", 6); !d.Allowed || d.Remaining != 0 {
		t.Errorf("AllowN(6) with 6 left = %+v; want allowed, Remaining 0", d)
	}
	for range 2 {
		d := allowN(t, l, "cost", 0)
		if !d.Allowed || d.Remaining != 0 || !near(d.ResetAfter, time.Hour, slack) {
			t.Errorf("AllowN(0) on an empty bucket = %+v; want a peek: allowed, Remaining 0, ResetAfter 1h", d)
		}
	}
	if d := allowN(t, l, "fresh", 0); !d.Allowed || d.Remaining != 10 || d.ResetAfter != 0 {
		t.Errorf("AllowN(0) on a new key = %+v; want allowed, Remaining 10, ResetAfter 0", d)
	}
	if d := allowN(t, l, "fresh", 10); !d.Allowed || d.Remaining != 0 {
		t.Errorf("AllowN(10) after a peek = %+v; want allowed: the peek took nothing", d)
	}
}

// wait lets real time pass: the backend's clock is what refills.
func wait(d time.Duration) {
	timer := time.NewTimer(d)
	<-timer.C
}

func testRefill(t *testing.T, newLimiter newFunc) {
	const interval = 200 * time.Millisecond
	l := newLimiter(t, ratelimit.Limit{Rate: 5, Burst: 2})
	burst := time.Now()
	allowN(t, l, "refill", 2)
	start := time.Now()
	d := allowN(t, l, "refill", 1)
	// The token spent first comes back interval after it was taken.
	if early := interval - time.Since(burst) - 20*time.Millisecond; d.Allowed || d.RetryAfter < early || d.RetryAfter > interval {
		t.Fatalf("event after the burst = %+v; want denied with RetryAfter in [%v, %v]", d, early, interval)
	}
	retry := d.RetryAfter
	wait(retry / 2)
	if elapsed := time.Since(start); elapsed < retry-20*time.Millisecond {
		if d := allowN(t, l, "refill", 1); d.Allowed {
			t.Errorf("allowed %v after a denial that said RetryAfter %v", elapsed, retry)
		}
	}
	wait(retry - time.Since(start) + 20*time.Millisecond)
	if d := allowN(t, l, "refill", 1); !d.Allowed {
		t.Errorf("denied %v after a denial that said RetryAfter %v: %+v", time.Since(start), retry, d)
	}
	refilled := time.Now()
	d = allowN(t, l, "refill", 1)
	if time.Since(refilled) < interval/2 && d.Allowed {
		t.Errorf("a second event right after the refill was allowed: %+v", d)
	}
}

func testKeys(t *testing.T, newLimiter newFunc) {
	l := newLimiter(t, ratelimit.PerHour(1))
	keys := []string{"a", "b", "a{b}", "{a}", "a:b", "ключ", strings.Repeat("k", 1000)}
	for _, k := range keys {
		if d := allowN(t, l, k, 1); !d.Allowed {
			t.Errorf("first event for %.20q denied: %+v", k, d)
		}
	}
	for _, k := range keys {
		if d := allowN(t, l, k, 1); d.Allowed {
			t.Errorf("second event for %.20q allowed: %+v", k, d)
		}
	}
}

func testConcurrent(t *testing.T, newLimiter newFunc) {
	const rate, burst = 20, 20
	l := newLimiter(t, ratelimit.Limit{Rate: rate, Burst: burst})
	var allowed atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	start := time.Now()
	for range 8 {
		wg.Go(func() {
			for range 40 {
				d, err := l.Allow(context.Background(), "shared")
				if err != nil {
					errc <- err
					return
				}
				if d.Allowed {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errc)
	for err := range errc {
		t.Fatalf("Allow: %v", err)
	}
	most := burst + int64(rate*elapsed.Seconds()) + 1
	if n := allowed.Load(); n < burst || n > most {
		t.Errorf("8 clients got %d events in %v; want between the burst %d and %d", n, elapsed, burst, most)
	}
}

func testBadInput(t *testing.T, newLimiter newFunc) {
	l := newLimiter(t, ratelimit.PerSecond(3))
	ctx := t.Context()
	for _, c := range []struct {
		key  string
		n    int
		want error
	}{
		{"", 1, ratelimit.ErrEmptyKey},
		{"", 0, ratelimit.ErrEmptyKey},
		{"k", -1, ratelimit.ErrNegativeN},
		{"k", 4, ratelimit.ErrExceedsBurst},
	} {
		d, err := l.AllowN(ctx, c.key, c.n)
		if !errors.Is(err, c.want) || d.Allowed {
			t.Errorf("AllowN(%q, %d) = %+v, %v; want %v", c.key, c.n, d, err, c.want)
		}
	}
	if d, err := l.Allow(ctx, ""); !errors.Is(err, ratelimit.ErrEmptyKey) || d.Allowed {
		t.Errorf(`Allow("") = %+v, %v; want ErrEmptyKey`, d, err)
	}
	// Bad input consumed nothing.
	if d := allowN(t, l, "k", 3); !d.Allowed {
		t.Errorf("AllowN(3) after rejected calls = %+v; want allowed", d)
	}
}

func testZeroAndInf(t *testing.T, newLimiter newFunc) {
	ctx := t.Context()
	zero := newLimiter(t, ratelimit.Limit{})
	if d, err := zero.Allow(ctx, "k"); !errors.Is(err, ratelimit.ErrExceedsBurst) || d.Allowed {
		t.Errorf("zero Limit: Allow = %+v, %v; want ErrExceedsBurst", d, err)
	}
	none := newLimiter(t, ratelimit.Limit{Rate: 0, Burst: 3})
	for range 3 {
		d, err := none.Allow(ctx, "k")
		if err != nil || d.Allowed || d.RetryAfter != ratelimit.InfDuration {
			t.Errorf("zero Rate: Allow = %+v, %v; want denied, RetryAfter InfDuration", d, err)
		}
	}
	inf := newLimiter(t, ratelimit.Limit{Rate: ratelimit.Inf, Burst: 1})
	for range 3 {
		if d, err := inf.AllowN(ctx, "k", 100); err != nil || !d.Allowed {
			t.Errorf("Inf: AllowN(100) = %+v, %v; want allowed", d, err)
		}
	}
}

func testAtMost(t *testing.T, newLimiter newFunc) {
	l, ok := newLimiter(t, ratelimit.PerHour(10)).(ratelimit.AtMostLimiter) // a token every 6 minutes
	if !ok {
		t.Skip("the limiter has no AllowAtMost")
	}
	ctx := t.Context()
	call := func(key string, n int) (int, ratelimit.Decision) {
		t.Helper()
		k, d, err := l.AllowAtMost(ctx, key, n)
		if err != nil {
			t.Fatalf("AllowAtMost(%q, %d): %v", key, n, err)
		}
		return k, d
	}
	if k, d := call("part", 4); k != 4 || !d.Allowed || d.Remaining != 6 {
		t.Errorf("AllowAtMost(4) on a new key = %d, %+v; want 4 admitted, Remaining 6", k, d)
	}
	if k, d := call("part", 9); k != 6 || !d.Allowed || d.Remaining != 0 || !near(d.ResetAfter, time.Hour, slack) {
		t.Errorf("AllowAtMost(9) with 6 left = %d, %+v; want 6 admitted, Remaining 0, ResetAfter 1h", k, d)
	}
	if k, d := call("part", 3); k != 0 || d.Allowed || d.Remaining != 0 || !near(d.RetryAfter, 6*time.Minute, slack) {
		t.Errorf("AllowAtMost(3) on an empty bucket = %d, %+v; want none admitted, RetryAfter 6m", k, d)
	}
	if k, d := call("big", 100); k != 10 || !d.Allowed || d.Remaining != 0 {
		t.Errorf("AllowAtMost(100) with a burst of 10 = %d, %+v; want 10 admitted, Remaining 0", k, d)
	}
	if k, d := call("peek", 0); k != 0 || !d.Allowed || d.Remaining != 10 {
		t.Errorf("AllowAtMost(0) on a new key = %d, %+v; want a peek: none admitted, allowed, Remaining 10", k, d)
	}
	// AllowN and AllowAtMost draw on one budget.
	allowN(t, l, "shared", 7)
	if k, _ := call("shared", 5); k != 3 {
		t.Errorf("AllowAtMost(5) after AllowN(7) = %d admitted; want 3", k)
	}
	if d := allowN(t, l, "shared", 1); d.Allowed {
		t.Errorf("AllowN(1) after AllowAtMost took the rest = %+v; want denied", d)
	}
	for _, c := range []struct {
		key  string
		n    int
		want error
	}{
		{"", 1, ratelimit.ErrEmptyKey},
		{"k", -1, ratelimit.ErrNegativeN},
	} {
		if k, d, err := l.AllowAtMost(ctx, c.key, c.n); !errors.Is(err, c.want) || k != 0 || d.Allowed {
			t.Errorf("AllowAtMost(%q, %d) = %d, %+v, %v; want %v", c.key, c.n, k, d, err, c.want)
		}
	}
	zero := newLimiter(t, ratelimit.Limit{Rate: 1}).(ratelimit.AtMostLimiter)
	if k, d, err := zero.AllowAtMost(ctx, "k", 1); !errors.Is(err, ratelimit.ErrExceedsBurst) || k != 0 || d.Allowed {
		t.Errorf("Burst 0: AllowAtMost(1) = %d, %+v, %v; want ErrExceedsBurst", k, d, err)
	}
	none := newLimiter(t, ratelimit.Limit{Rate: 0, Burst: 3}).(ratelimit.AtMostLimiter)
	if k, d, err := none.AllowAtMost(ctx, "k", 2); err != nil || k != 0 || d.Allowed || d.RetryAfter != ratelimit.InfDuration {
		t.Errorf("zero Rate: AllowAtMost(2) = %d, %+v, %v; want none admitted, RetryAfter InfDuration", k, d, err)
	}
	inf := newLimiter(t, ratelimit.Limit{Rate: ratelimit.Inf, Burst: 1}).(ratelimit.AtMostLimiter)
	if k, d, err := inf.AllowAtMost(ctx, "k", 100); err != nil || k != 100 || !d.Allowed {
		t.Errorf("Inf: AllowAtMost(100) = %d, %+v, %v; want 100 admitted", k, d, err)
	}
}
