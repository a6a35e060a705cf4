package circuitbreaker

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestTimeWindowTicks checks, on the fake clock, that calls at the present
// land in the right bucket without reading the clock while the timer ticks,
// that the timer stops after an empty bucket, and that the first call after
// that reads the clock and starts it again.
func TestTimeWindowTicks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		b := New(WithTimeWindow(10*time.Second, 10, 1000)) // never trips
		w := b.win.(*timeWindow)
		fail := func(context.Context) (int, error) { return 0, errFail }
		var reads atomic.Int64 // the timer's goroutine reads the clock too
		clock := w.clock
		w.clock = func() int64 { reads.Add(1); return clock() }
		state := func() (int64, bool) { c := w.cur.Load(); return c >> 1, c&ticking != 0 }

		Execute(ctx, b, fail) // t=0: reads the clock, starts the timer
		time.Sleep(500 * time.Millisecond)
		Execute(ctx, b, fail) // t=0.5s: bucket 0, no clock
		if c, tk := state(); c != 0 || !tk || reads.Load() != 1 {
			t.Fatalf("at 0.5s: bucket %d, ticking %v, %d clock reads; want 0, true, 1", c, tk, reads.Load())
		}
		time.Sleep(time.Second)
		Execute(ctx, b, fail)                                     // t=1.5s: the timer moved to bucket 1
		if c, tk := state(); c != 1 || !tk || reads.Load() != 2 { // the tick read the clock
			t.Fatalf("at 1.5s: bucket %d, ticking %v, %d clock reads; want 1, true, 2", c, tk, reads.Load())
		}
		time.Sleep(1700 * time.Millisecond) // ticks at 2s (bucket 1 had a call) and 3s (bucket 2 empty: stop)
		if c, tk := state(); c != 3 || tk {
			t.Fatalf("at 3.2s: bucket %d, ticking %v; want 3, stopped", c, tk)
		}
		time.Sleep(2300 * time.Millisecond)
		reads.Store(0)
		Execute(ctx, b, fail) // t=5.5s: reads the clock once, restarts
		if c, tk := state(); c != 5 || !tk || reads.Load() != 1 {
			t.Fatalf("at 5.5s: bucket %d, ticking %v, %d clock reads; want 5, true, 1", c, tk, reads.Load())
		}
		if s := b.Stats(); s.Calls != 4 || s.Failures != 4 {
			t.Errorf("Stats at 5.5s = %+v; want 4 calls, 4 failures", s)
		}
		time.Sleep(5 * time.Second) // t=10.5s: bucket 0 (two calls) left the window
		if s := b.Stats(); s.Calls != 2 {
			t.Errorf("Stats at 10.5s = %+v; want 2 calls", s)
		}
		time.Sleep(time.Second) // t=11.5s: bucket 1 left too
		if s := b.Stats(); s.Calls != 1 {
			t.Errorf("Stats at 11.5s = %+v; want 1 call", s)
		}
		if _, tk := state(); tk {
			t.Errorf("the timer still ticks after idle buckets")
		}
	})
}

// TestTimeWindowTicksTrip checks that a time window trips on calls at the
// present and that Reset leaves it usable.
func TestTimeWindowTicksTrip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		b := New(WithTimeWindow(10*time.Second, 10, 4), WithFailureRate(0.5), WithOpenDuration(time.Minute))
		ok := func(context.Context) (int, error) { return 1, nil }
		fail := func(context.Context) (int, error) { return 0, errFail }
		Execute(ctx, b, ok)
		Execute(ctx, b, ok)
		time.Sleep(3 * time.Second)
		Execute(ctx, b, fail)
		if b.State() != Closed {
			t.Fatalf("state %v after 3 calls; want closed (min calls 4)", b.State())
		}
		Execute(ctx, b, fail) // 2 of 4 failed
		if b.State() != Open {
			t.Fatalf("state %v after 2 failures in 4 calls; want open", b.State())
		}
		b.Reset()
		time.Sleep(20 * time.Second)
		for range 3 {
			Execute(ctx, b, fail)
		}
		if s := b.Stats(); s.State != Closed || s.Calls != 3 {
			t.Errorf("after Reset and 3 failures: %+v; want closed with 3 calls", s)
		}
	})
}
