package ratelimit

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

var t0 = time.Now()

func at(d time.Duration) time.Time { return t0.Add(d) }

func TestTokenBucketBurstThenRate(t *testing.T) {
	tb := NewTokenBucket(10, 3)
	steps := []struct {
		at   time.Duration
		n    int
		want bool
	}{
		{0, 1, true}, {0, 2, true}, {0, 1, false},
		{50 * time.Millisecond, 1, false},
		{100 * time.Millisecond, 1, true},
		{100 * time.Millisecond, 1, false},
		{400 * time.Millisecond, 3, true},
		{400 * time.Millisecond, 4, false}, // n > burst
		{10 * time.Second, 0, true},
	}
	for _, s := range steps {
		if got := tb.AllowN(at(s.at), s.n); got != s.want {
			t.Errorf("AllowN(t0+%v, %d) = %v; want %v", s.at, s.n, got, s.want)
		}
	}
}

func TestTokenBucketAllowUsesNow(t *testing.T) {
	tb := NewTokenBucket(Every(time.Hour), 2)
	got := 0
	for range 5 {
		if tb.Allow() {
			got++
		}
	}
	if got != 2 {
		t.Errorf("Allow allowed %d of 5 events; want the burst of 2", got)
	}
}

func TestTokenBucketInfAndZero(t *testing.T) {
	inf := NewTokenBucket(Inf, 0)
	for i := range 100 {
		if !inf.AllowN(t0, 1000) || !inf.Allow() {
			t.Fatalf("Inf bucket denied event %d", i)
		}
	}
	if r := inf.ReserveN(t0, 5); !r.OK() || r.DelayFrom(t0) != 0 {
		t.Errorf("Inf ReserveN = %+v; want OK with no delay", r)
	}
	if got := inf.TokensAt(t0); got != 0 {
		t.Errorf("Inf TokensAt = %v; want the burst 0", got)
	}

	zero := NewTokenBucket(0, 3)
	got := 0
	for i := range 10 {
		if zero.AllowN(at(time.Duration(i)*time.Hour), 1) {
			got++
		}
	}
	if got != 3 {
		t.Errorf("zero rate with burst 3 allowed %d events over 10h; want 3", got)
	}
	if zero.Allow() {
		t.Error("zero rate allowed after the burst was used")
	}
	if r := zero.ReserveN(t0, 1); r.OK() || r.DelayFrom(t0) != InfDuration {
		t.Errorf("zero rate ReserveN = OK %v, delay %v; want not OK, InfDuration", r.OK(), r.DelayFrom(t0))
	}
}

func TestEvery(t *testing.T) {
	if got := Every(100 * time.Millisecond); math.Abs(float64(got)-10) > 1e-9 {
		t.Errorf("Every(100ms) = %v; want 10", got)
	}
	if Every(0) != Inf || Every(-time.Second) != Inf {
		t.Error("Every(<=0) is not Inf")
	}
}

// TestTokenBucketOutOfOrder is the scenario of golang/go#65508: at 10/s with
// burst 10, events stamped alternately now and half a second ago. x/time/rate
// admits about 200 of them in a second; at most rate·T + burst may pass.
func TestTokenBucketOutOfOrder(t *testing.T) {
	const rate, burst = 10, 10
	tb := NewTokenBucket(rate, burst)
	var admitted []time.Duration
	for i := range 2000 { // 2 s of events, one per millisecond
		now := time.Duration(i) * time.Millisecond
		stamp := now
		if i%2 == 1 {
			stamp -= 500 * time.Millisecond
		}
		if tb.AllowN(at(stamp), 1) {
			admitted = append(admitted, stamp)
		}
	}
	// Every window [a, a+T] of the stamps, for T from 0 to the whole run.
	for _, a := range admitted {
		for _, T := range []time.Duration{0, 100 * time.Millisecond, 500 * time.Millisecond, time.Second, 2500 * time.Millisecond} {
			n := 0
			for _, s := range admitted {
				if s >= a && s <= a+T {
					n++
				}
			}
			if limit := rate*T.Seconds() + burst; float64(n) > limit {
				t.Fatalf("admitted %d events stamped in [%v, %v]; at most %v allowed", n, a, a+T, limit)
			}
		}
	}
	if len(admitted) > 35 { // whole span: 2.5 s of stamps
		t.Errorf("admitted %d events stamped over 2.5 s; want at most 35", len(admitted))
	}
	if len(admitted) < 25 {
		t.Errorf("admitted %d events; want at least the burst plus 1.5 s of refill", len(admitted))
	}
}

func TestTokenBucketClockStepsBack(t *testing.T) {
	tb := NewTokenBucket(1, 1)
	if !tb.AllowN(at(time.Second), 1) {
		t.Fatal("first event denied")
	}
	for i := range 10 {
		if tb.AllowN(at(-time.Duration(i)*time.Hour), 1) {
			t.Fatalf("an event stamped %dh in the past was allowed after the bucket was empty", i)
		}
	}
	if !tb.AllowN(at(2*time.Second), 1) {
		t.Error("event one interval later denied")
	}
}

func TestTokenBucketTokens(t *testing.T) {
	tb := NewTokenBucket(2, 4)
	if got := tb.TokensAt(t0); got != 4 {
		t.Errorf("TokensAt(t0) on a new bucket = %v; want 4", got)
	}
	tb.AllowN(t0, 3)
	if got := tb.TokensAt(t0); got != 1 {
		t.Errorf("TokensAt(t0) after 3 = %v; want 1", got)
	}
	if got := tb.TokensAt(at(time.Second)); got != 3 {
		t.Errorf("TokensAt(t0+1s) = %v; want 3", got)
	}
	r := tb.ReserveN(t0, 4)
	if got := tb.TokensAt(t0); got != -3 {
		t.Errorf("TokensAt(t0) after reserving 4 = %v; want -3", got)
	}
	if got, want := r.DelayFrom(t0), 1500*time.Millisecond; got != want {
		t.Errorf("DelayFrom(t0) = %v; want %v", got, want)
	}
	if tb.Tokens() > 4 || tb.Limit() != 2 || tb.Burst() != 4 {
		t.Errorf("Tokens %v, Limit %v, Burst %v; want <= 4, 2, 4", tb.Tokens(), tb.Limit(), tb.Burst())
	}
}

func TestReservation(t *testing.T) {
	tb := NewTokenBucket(10, 2)
	r1 := tb.ReserveN(t0, 2)
	if !r1.OK() || r1.DelayFrom(t0) != 0 {
		t.Fatalf("ReserveN(t0, 2) = OK %v delay %v; want OK, 0", r1.OK(), r1.DelayFrom(t0))
	}
	r2 := tb.ReserveN(t0, 1)
	if got, want := r2.DelayFrom(t0), 100*time.Millisecond; got != want {
		t.Errorf("second reservation delay = %v; want %v", got, want)
	}
	if got := r2.DelayFrom(at(time.Second)); got != 0 {
		t.Errorf("DelayFrom after its time = %v; want 0", got)
	}
	r3 := tb.ReserveN(t0, 1)
	if got, want := r3.DelayFrom(t0), 200*time.Millisecond; got != want {
		t.Errorf("third reservation delay = %v; want %v", got, want)
	}
	// Cancelling r2 gives back nothing: r3 counted on its token.
	r2.CancelAt(t0)
	if got := tb.TokensAt(t0); got != -2 {
		t.Errorf("TokensAt after cancelling a counted-on reservation = %v; want -2", got)
	}
	// Cancelling the last one gives its token back, once.
	r3.CancelAt(t0)
	r3.CancelAt(t0)
	if got := tb.TokensAt(t0); got != -1 {
		t.Errorf("TokensAt after cancelling the last reservation twice = %v; want -1", got)
	}
	if r := tb.ReserveN(t0, 3); r.OK() || r.Delay() != InfDuration {
		t.Error("ReserveN(n > burst) is OK")
	}
	var zero Reservation
	zero.Cancel()
	if zero.OK() {
		t.Error("zero Reservation is OK")
	}
	slow := NewTokenBucket(1, 1)
	slow.Allow()
	r4 := slow.Reserve()
	if !r4.OK() || r4.Delay() <= 0 {
		t.Errorf("Reserve on an empty bucket = OK %v delay %v; want OK with a delay", r4.OK(), r4.Delay())
	}
	// A past reservation is not cancelled.
	r5 := tb.ReserveN(at(time.Hour), 1)
	before := tb.TokensAt(at(time.Hour))
	r5.CancelAt(at(2 * time.Hour))
	if got := tb.TokensAt(at(time.Hour)); got != before {
		t.Errorf("cancelling after the events' time changed tokens from %v to %v", before, got)
	}
	// After SetLimit, Cancel restores nothing.
	r6 := tb.ReserveN(at(time.Hour), 1)
	tb.SetLimitAt(at(time.Hour), 10)
	before = tb.TokensAt(at(time.Hour))
	r6.CancelAt(at(time.Hour))
	if got := tb.TokensAt(at(time.Hour)); got != before {
		t.Errorf("cancelling across SetLimit changed tokens from %v to %v", before, got)
	}
}

func TestSetLimitAndBurstKeepTokens(t *testing.T) {
	tb := NewTokenBucket(10, 10)
	tb.AllowN(t0, 6) // 4 left
	tb.SetLimitAt(t0, 1)
	if got := tb.TokensAt(t0); math.Abs(got-4) > 1e-6 {
		t.Errorf("TokensAt after SetLimitAt = %v; want 4", got)
	}
	if got := tb.TokensAt(at(time.Second)); math.Abs(got-5) > 1e-6 {
		t.Errorf("TokensAt 1s after SetLimitAt(1) = %v; want 5", got)
	}
	tb.SetBurstAt(t0, 20)
	if got := tb.TokensAt(t0); math.Abs(got-4) > 1e-6 || tb.Burst() != 20 {
		t.Errorf("TokensAt after SetBurstAt(20) = %v, burst %d; want 4, 20", got, tb.Burst())
	}
	tb.SetBurstAt(t0, 2)
	if got := tb.TokensAt(t0); got != 2 {
		t.Errorf("TokensAt after SetBurstAt(2) = %v; want 2", got)
	}
	tb.SetLimitAt(t0, 0)
	if !tb.AllowN(at(time.Hour), 2) || tb.AllowN(at(2*time.Hour), 1) {
		t.Error("after SetLimit(0) the bucket did not allow exactly its 2 tokens")
	}
	tb.SetLimitAt(at(time.Hour), Inf)
	if !tb.AllowN(at(time.Hour), 100) {
		t.Error("after SetLimit(Inf) an event was denied")
	}
	tb.SetLimitAt(at(time.Hour), 1)
	if got := tb.TokensAt(at(time.Hour)); got != 2 {
		t.Errorf("TokensAt after leaving Inf = %v; want the full burst 2", got)
	}
	tb.SetLimit(5)
	tb.SetBurst(5)
	if tb.Limit() != 5 || tb.Burst() != 5 {
		t.Errorf("Limit, Burst = %v, %v; want 5, 5", tb.Limit(), tb.Burst())
	}
	neg := NewTokenBucket(1, -3)
	if neg.Burst() != 0 || neg.AllowN(t0, 1) || !neg.AllowN(t0, 0) {
		t.Error("a negative burst does not behave as 0")
	}
	fast := NewTokenBucket(1e12, 1)
	if !fast.AllowN(t0, 1) || !fast.AllowN(at(time.Nanosecond), 1) {
		t.Error("rate above 1e9/s does not allow one event per nanosecond")
	}
	slow := NewTokenBucket(Every(24*time.Hour), 1000)
	if !slow.AllowN(t0, 1000) || slow.AllowN(at(23*time.Hour), 1) || !slow.AllowN(at(24*time.Hour), 1) {
		t.Error("a daily rate with burst 1000 did not allow 1000, then one a day later")
	}
	tiny := NewTokenBucket(1e-30, math.MaxInt)
	if !tiny.AllowN(t0, 1) || tiny.AllowN(at(time.Hour), 1) {
		t.Error("a saturated bucket did not allow one event then deny")
	}
}

func TestTokenBucketConcurrentNeverOverAdmits(t *testing.T) {
	tb := NewTokenBucket(1, 100)
	var n atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if tb.AllowN(t0, 1) {
					n.Add(1)
				}
				r := tb.ReserveN(t0, 1)
				if r.OK() && r.DelayFrom(t0) == 0 {
					n.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n.Load() != 100 {
		t.Errorf("8 goroutines got %d events at one instant; want exactly the burst 100", n.Load())
	}
}

func TestWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tb := NewTokenBucket(10, 2)
		start := time.Now()
		for range 4 {
			if err := tb.Wait(t.Context()); err != nil {
				t.Fatalf("Wait = %v", err)
			}
		}
		if got, want := time.Since(start), 200*time.Millisecond; got != want {
			t.Errorf("4 Waits at 10/s burst 2 took %v; want %v", got, want)
		}
	})
}

func TestWaitErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tb := NewTokenBucket(1, 2)
		if err := tb.WaitN(t.Context(), 3); !errors.Is(err, ErrExceedsBurst) {
			t.Errorf("WaitN(3) with burst 2 = %v; want ErrExceedsBurst", err)
		}
		tb.AllowN(time.Now(), 2)
		ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		if err := tb.Wait(ctx); !errors.Is(err, ErrWouldExceedDeadline) || time.Since(start) != 0 {
			t.Errorf("Wait with a too-near deadline = %v after %v; want ErrWouldExceedDeadline at once", err, time.Since(start))
		}

		ctx2, cancel2 := context.WithCancel(t.Context())
		go func() {
			time.Sleep(300 * time.Millisecond)
			cancel2()
		}()
		if err := tb.Wait(ctx2); !errors.Is(err, context.Canceled) {
			t.Errorf("Wait cancelled midway = %v; want context.Canceled", err)
		}
		// The cancelled wait gave its token back: one arrives after 1 s.
		if got := tb.TokensAt(time.Now().Add(700 * time.Millisecond)); math.Abs(got-1) > 1e-6 {
			t.Errorf("tokens after the cancelled wait = %v; want 1 at t0+1s", got)
		}
		if err := tb.Wait(ctx2); !errors.Is(err, context.Canceled) {
			t.Errorf("Wait on a done ctx = %v; want context.Canceled", err)
		}
		zero := NewTokenBucket(0, 1)
		zero.Allow()
		if err := zero.Wait(t.Context()); !errors.Is(err, ErrWouldExceedDeadline) {
			t.Errorf("Wait on an empty zero-rate bucket = %v; want ErrWouldExceedDeadline", err)
		}
	})
}

func TestTokenBucketDoesNotAllocate(t *testing.T) {
	tb := NewTokenBucket(1e9, 1<<20)
	now := time.Now()
	for name, f := range map[string]func(){
		"Allow":     func() { tb.Allow() },
		"AllowN":    func() { tb.AllowN(now, 1) },
		"Reserve":   func() { r := tb.Reserve(); r.Cancel() },
		"ReserveN":  func() { tb.ReserveN(now, 1).DelayFrom(now) },
		"TokensAt":  func() { tb.TokensAt(now) },
		"WaitReady": func() { tb.Wait(context.Background()) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s allocates %v times per call; want 0", name, n)
		}
	}
}

func BenchmarkTokenBucketAllow(b *testing.B) {
	tb := NewTokenBucket(1e9, 1<<20)
	b.ReportAllocs()
	for b.Loop() {
		tb.Allow()
	}
}

func BenchmarkTokenBucketAllowParallel(b *testing.B) {
	tb := NewTokenBucket(1e9, 1<<20)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tb.Allow()
		}
	})
}

func BenchmarkTokenBucketAllowDenied(b *testing.B) {
	tb := NewTokenBucket(1, 1)
	b.ReportAllocs()
	for b.Loop() {
		tb.Allow()
	}
}

func BenchmarkTokenBucketReserve(b *testing.B) {
	tb := NewTokenBucket(1e9, 1<<20)
	b.ReportAllocs()
	for b.Loop() {
		r := tb.Reserve()
		r.Cancel()
	}
}

func BenchmarkTokenBucketReserveParallel(b *testing.B) {
	tb := NewTokenBucket(1e9, 1<<20)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tb.Reserve()
		}
	})
}

func TestSetLimitConcurrentWithAllow(t *testing.T) {
	tb := NewTokenBucket(1000, 10)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					tb.Allow()
					r := tb.Reserve()
					r.Cancel()
				}
			}
		})
	}
	for i := range 200 {
		tb.SetLimit(Rate(100 + i%3*1000))
		tb.SetBurst(5 + i%10)
	}
	close(stop)
	wg.Wait()
	if got := tb.Burst(); got != 5+199%10 {
		t.Errorf("Burst = %d after the last SetBurst; want %d", got, 5+199%10)
	}
	if tok := tb.Tokens(); tok > float64(tb.Burst()) {
		t.Errorf("Tokens = %v; more than the burst %d", tok, tb.Burst())
	}
}

func TestTokenBucketZeroValue(t *testing.T) {
	var tb TokenBucket
	tb.SetLimit(10)
	tb.SetBurst(10)
	if tb.Allow() || tb.AllowN(time.Now(), 1) || tb.Reserve().OK() || tb.Tokens() != 0 || tb.Limit() != 0 || tb.Burst() != 0 {
		t.Error("a zero TokenBucket allowed an event or reports a limit")
	}
	if err := tb.Wait(context.Background()); !errors.Is(err, ErrExceedsBurst) {
		t.Errorf("Wait on a zero TokenBucket = %v; want ErrExceedsBurst", err)
	}
}
