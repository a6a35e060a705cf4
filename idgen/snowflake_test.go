package idgen

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// t0 is a tick boundary well after the test layouts' epoch.
var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// tinyLayout issues 4 IDs per 1 ms tick, to reach the limits quickly.
func tinyLayout() Layout {
	return Layout{TimeBits: 41, WorkerBits: 20, SequenceBits: 2, Epoch: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), Tick: time.Millisecond}
}

func newAt(t *testing.T, now time.Time, worker int64, opts ...Option) *Snowflake {
	t.Helper()
	s, err := New(worker, append([]Option{withNow(func() time.Time { return now })}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestNewRejectsBadConfiguration(t *testing.T) {
	future := DefaultLayout()
	future.Epoch = time.Now().Add(time.Hour)
	// Ticks of a second for 2^50 seconds: a lifetime far past the 292 years
	// that nanoseconds since the epoch can span.
	ancient := Layout{TimeBits: 50, WorkerBits: 1, SequenceBits: 12, Epoch: time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC), Tick: time.Second}
	expired := Layout{TimeBits: 10, WorkerBits: 10, SequenceBits: 43, Epoch: time.Now().Add(-2 * time.Second), Tick: time.Millisecond}
	for _, tc := range []struct {
		name   string
		worker int64
		layout Layout
		want   error
		msg    string
	}{
		{"sum", 1, Layout{TimeBits: 41, WorkerBits: 10, SequenceBits: 13, Epoch: DefaultEpoch, Tick: time.Millisecond}, ErrInvalidLayout, "= 64; want 63"},
		{"zero sequence", 1, Layout{TimeBits: 53, WorkerBits: 10, SequenceBits: 0, Epoch: DefaultEpoch, Tick: time.Millisecond}, ErrInvalidLayout, "at least 1"},
		{"negative worker bits", 1, Layout{TimeBits: 53, WorkerBits: -1, SequenceBits: 11, Epoch: DefaultEpoch, Tick: time.Millisecond}, ErrInvalidLayout, "at least 0"},
		{"tick", 1, Layout{TimeBits: 41, WorkerBits: 10, SequenceBits: 12, Epoch: DefaultEpoch}, ErrInvalidLayout, "tick"},
		{"epoch unset", 1, Layout{TimeBits: 41, WorkerBits: 10, SequenceBits: 12, Tick: time.Millisecond}, ErrInvalidLayout, "epoch not set"},
		{"epoch in future", 1, future, ErrInvalidLayout, "in the future"},
		{"lifetime over", 1, expired, ErrLayoutExpired, "lifetime"},
		{"epoch too old", 1, ancient, ErrInvalidLayout, "more than"},
		{"worker too big", 1024, DefaultLayout(), ErrWorkerRange, "want 0..1023"},
		{"worker negative", -1, DefaultLayout(), ErrWorkerRange, "worker -1"},
	} {
		s, err := New(tc.worker, WithLayout(tc.layout))
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: New = %v, %v; want error wrapping %v containing %q", tc.name, s, err, tc.want, tc.msg)
		}
	}
	if _, err := New(1023); err != nil {
		t.Errorf("New(1023) with the default layout = %v; want nil", err)
	}
}

func TestOptionsPanicOnNegative(t *testing.T) {
	for name, f := range map[string]func(){
		"WithMaxLead": func() { WithMaxLead(-1) },
		"WithMaxSkew": func() { WithMaxSkew(-1) },
		"WithMaxWait": func() { WithMaxWait(-1) },
	} {
		func() {
			defer func() {
				if r := recover(); r == nil {
					t.Errorf("%s(-1) did not panic", name)
				}
			}()
			f()
		}()
	}
}

func TestDefaultLayoutLifetime(t *testing.T) {
	l := DefaultLayout()
	if err := l.Validate(); err != nil {
		t.Fatal(err)
	}
	if got, want := l.Lifetime(), time.Duration(1<<41)*time.Millisecond; got != want {
		t.Errorf("Lifetime = %v; want %v", got, want)
	}
	if end := l.Epoch.Add(l.Lifetime()); end.Year() != 2093 {
		t.Errorf("default layout ends %v; want in 2093 as documented", end)
	}
	if got := (Layout{TimeBits: 63, Tick: time.Second}).Lifetime(); got != 1<<63-1 {
		t.Errorf("Lifetime of 63 time bits = %v; want the largest Duration", got)
	}
}

func TestNextAtFillsTicksInOrder(t *testing.T) {
	s := newAt(t, t0, 7, WithLayout(tinyLayout()), WithMaxLead(0))
	var prev ID
	for i := range 4 {
		id, err := s.NextAt(t0)
		if err != nil {
			t.Fatalf("NextAt #%d = %v", i, err)
		}
		p := s.Decode(id)
		if id <= prev || !p.Time.Equal(t0) || p.Worker != 7 || p.Sequence != int64(i) {
			t.Fatalf("NextAt #%d = %v = %+v; want > %v at %v, worker 7, sequence %d", i, id, p, prev, t0, i)
		}
		prev = id
	}
	if id, err := s.NextAt(t0); !errors.Is(err, ErrExhausted) {
		t.Fatalf("NextAt after 4 IDs in a tick with no lead = %v, %v; want ErrExhausted", id, err)
	}
	id, err := s.NextAt(t0.Add(time.Millisecond))
	if p := s.Decode(id); err != nil || p.Sequence != 0 || !p.Time.Equal(t0.Add(time.Millisecond)) {
		t.Fatalf("NextAt(t0+1ms) = %+v, %v; want sequence 0 at t0+1ms", p, err)
	}
}

func TestNextAtBorrowsUpToMaxLead(t *testing.T) {
	s := newAt(t, t0, 1, WithLayout(tinyLayout()), WithMaxLead(2*time.Millisecond))
	var prev ID
	for i := range 12 { // 3 ticks of 4: t0, t0+1ms, t0+2ms
		id, err := s.NextAt(t0)
		if err != nil {
			t.Fatalf("NextAt #%d = %v; want an ID borrowed from a later tick", i, err)
		}
		p := s.Decode(id)
		if want := t0.Add(time.Duration(i/4) * time.Millisecond); id <= prev || !p.Time.Equal(want) {
			t.Fatalf("NextAt #%d at %v; want %v, increasing", i, p.Time, want)
		}
		prev = id
	}
	if _, err := s.NextAt(t0); !errors.Is(err, ErrExhausted) {
		t.Fatalf("NextAt beyond the 2 ms lead = %v; want ErrExhausted", err)
	}
	// Half a tick later is still the same tick: nothing new to borrow.
	if _, err := s.NextAt(t0.Add(time.Millisecond / 2)); !errors.Is(err, ErrExhausted) {
		t.Fatalf("NextAt(t0+0.5ms) = %v; want ErrExhausted", err)
	}
	id, err := s.NextAt(t0.Add(time.Millisecond))
	if p := s.Decode(id); err != nil || !p.Time.Equal(t0.Add(3*time.Millisecond)) || id <= prev {
		t.Fatalf("NextAt(t0+1ms) = %+v, %v; want the tick t0+3ms", p, err)
	}
}

func TestNextAtClockBackwards(t *testing.T) {
	s := newAt(t, t0, 1, WithLayout(tinyLayout()), WithMaxSkew(5*time.Millisecond), WithMaxLead(0))
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	first, err := s.NextAt(at(10 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	// 5 ms back: within the skew, the logical clock stays at t0+10ms.
	prev := first
	for i := range 3 {
		id, err := s.NextAt(at(5 * time.Millisecond))
		if p := s.Decode(id); err != nil || id <= prev || !p.Time.Equal(at(10*time.Millisecond)) {
			t.Fatalf("NextAt(t0+5ms) #%d after t0+10ms = %+v, %v; want an ID > %v at t0+10ms", i, p, err, prev)
		}
		prev = id
	}
	// The tick is used up and the logical clock does not move: no borrowing.
	if _, err := s.NextAt(at(5 * time.Millisecond)); !errors.Is(err, ErrExhausted) {
		t.Fatalf("NextAt with a used-up logical tick = %v; want ErrExhausted", err)
	}
	// 6 ms back is beyond the skew.
	if id, err := s.NextAt(at(4 * time.Millisecond)); !errors.Is(err, ErrClockBackwards) {
		t.Fatalf("NextAt(t0+4ms) after t0+10ms = %v, %v; want ErrClockBackwards", id, err)
	}
	// Before the epoch altogether.
	if _, err := s.NextAt(time.Date(1980, 1, 1, 0, 0, 0, 1, time.UTC)); !errors.Is(err, ErrClockBackwards) {
		t.Fatalf("NextAt(before epoch) = %v; want ErrClockBackwards", err)
	}
	// The clock catches up.
	id, err := s.NextAt(at(11 * time.Millisecond))
	if p := s.Decode(id); err != nil || id <= prev || p.Sequence != 0 || !p.Time.Equal(at(11*time.Millisecond)) {
		t.Fatalf("NextAt(t0+11ms) = %+v, %v; want sequence 0 at t0+11ms", p, err)
	}
}

func TestSetExpiry(t *testing.T) {
	s := newAt(t, t0, 1)
	s.SetExpiry(t0.Add(5 * time.Millisecond))
	if _, err := s.NextAt(t0.Add(4 * time.Millisecond)); err != nil {
		t.Fatalf("NextAt before the expiry = %v", err)
	}
	if _, err := s.NextAt(t0.Add(5 * time.Millisecond)); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("NextAt at the expiry = %v; want ErrLeaseLost", err)
	}
	s.SetExpiry(t0.Add(10 * time.Millisecond))
	if _, err := s.NextAt(t0.Add(5 * time.Millisecond)); err != nil {
		t.Fatalf("NextAt after the expiry moved = %v", err)
	}
	s.SetExpiry(time.Time{})
	if _, err := s.Next(); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("Next after SetExpiry(zero) = %v; want ErrLeaseLost", err)
	}
}

func TestLayoutLifetimeEnds(t *testing.T) {
	// 10 bits of 1 ms ticks last 1.024 s.
	l := Layout{TimeBits: 10, WorkerBits: 10, SequenceBits: 43, Epoch: t0, Tick: time.Millisecond}
	s := newAt(t, t0.Add(time.Second), 1, WithLayout(l), WithMaxSkew(0))
	if _, err := s.NextAt(t0.Add(1023 * time.Millisecond)); err != nil {
		t.Fatalf("NextAt in the last tick = %v", err)
	}
	if _, err := s.NextAt(t0.Add(1024 * time.Millisecond)); !errors.Is(err, ErrLayoutExpired) {
		t.Fatalf("NextAt past the lifetime = %v; want ErrLayoutExpired", err)
	}
	// A reading past the lifetime does not count as the latest time seen.
	if _, err := s.NextAt(t0.Add(1023 * time.Millisecond)); err != nil {
		t.Fatalf("NextAt in the last tick after a reading past the lifetime = %v", err)
	}
	// Borrowing past the last tick is refused too.
	l = Layout{TimeBits: 10, WorkerBits: 51, SequenceBits: 2, Epoch: t0, Tick: time.Millisecond}
	s = newAt(t, t0.Add(time.Second), 1, WithLayout(l))
	last := t0.Add(1023 * time.Millisecond)
	for range 4 {
		if _, err := s.NextAt(last); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.NextAt(last); !errors.Is(err, ErrLayoutExpired) {
		t.Fatalf("NextAt borrowing past the lifetime = %v; want ErrLayoutExpired", err)
	}
}

func TestNextWaitsForTheNextTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(3, WithLayout(tinyLayout()), WithMaxLead(0))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		var prev ID
		for i := range 9 {
			id, err := s.Next()
			if err != nil || id <= prev {
				t.Fatalf("Next #%d = %v, %v; want an ID > %v", i, id, err, prev)
			}
			prev = id
		}
		// 9 IDs at 4 per tick: the 5th waited for tick 1, the 9th for tick 2.
		if got, want := time.Since(start), 2*time.Millisecond; got != want {
			t.Errorf("9 IDs took %v; want %v", got, want)
		}
		if p := s.Decode(prev); !p.Time.Equal(start.Add(2*time.Millisecond)) || p.Sequence != 0 {
			t.Errorf("9th ID = %+v; want sequence 0 at start+2ms", p)
		}
	})
}

func TestNextBorrowsBeforeWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(3, WithLayout(tinyLayout()), WithMaxLead(10*time.Millisecond), WithMaxWait(0))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		for i := range 44 { // 11 ticks of 4, none waiting
			if _, err := s.Next(); err != nil {
				t.Fatalf("Next #%d = %v; want an ID borrowed within the lead", i, err)
			}
		}
		if _, err := s.Next(); !errors.Is(err, ErrExhausted) {
			t.Fatalf("Next beyond the lead with no wait allowed = %v; want ErrExhausted", err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("Next waited %v with WithMaxWait(0)", d)
		}
	})
}

func TestNextWaitsOutClockBackwards(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var back atomic.Int64
		start := time.Now()
		clock := func() int64 { return int64(time.Since(start)) - back.Load() }
		s, err := New(3, WithLayout(tinyLayout()), withClock(clock),
			WithMaxSkew(time.Millisecond), WithMaxWait(3*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
		prev, err := s.Next()
		if err != nil {
			t.Fatal(err)
		}
		back.Store(int64(5 * time.Millisecond)) // the clock steps back 5 ms
		if id, err := s.Next(); !errors.Is(err, ErrClockBackwards) {
			t.Fatalf("Next 5 ms back with 1 ms skew and 3 ms wait = %v, %v; want ErrClockBackwards", id, err)
		}
		if d := time.Since(start); d != 10*time.Millisecond {
			t.Fatalf("Next waited %v before ErrClockBackwards; want no wait", d)
		}
		back.Store(int64(3 * time.Millisecond)) // 3 ms back: wait 2 ms
		id, err := s.Next()
		if err != nil || id <= prev {
			t.Fatalf("Next 3 ms back = %v, %v; want an ID > %v", id, err, prev)
		}
		if d := time.Since(start); d != 12*time.Millisecond {
			t.Errorf("Next returned at %v; want after waiting 2 ms, at 12ms", d)
		}
	})
}

func TestCoarseClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(3, WithLayout(tinyLayout()), WithCoarseClock(true), WithMaxLead(0))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		var prev ID
		for i := range 9 {
			id, err := s.Next()
			if err != nil || id <= prev {
				t.Fatalf("Next #%d = %v, %v; want an ID > %v", i, id, err, prev)
			}
			prev = id
		}
		if got, want := time.Since(start), 2*time.Millisecond; got != want {
			t.Errorf("9 coarse IDs took %v; want %v", got, want)
		}
		time.Sleep(10 * time.Millisecond)
		id, err := s.Next()
		if p := s.Decode(id); err != nil || p.Time.Before(start.Add(11*time.Millisecond)) {
			t.Errorf("coarse Next 10 ms later = %+v, %v; want a time within a tick of start+12ms", p, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second Close = %v", err)
		}
		time.Sleep(5 * time.Millisecond)
		id2, err := s.Next()
		if p := s.Decode(id2); err != nil || id2 <= id || !p.Time.Equal(start.Add(17*time.Millisecond)) {
			t.Errorf("Next after Close = %+v, %v; want the precise tick start+17ms", p, err)
		}
	})
}

func TestNextDoesNotAllocate(t *testing.T) {
	s, err := New(1, WithCoarseClock(true))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, _ := New(2)
	now := time.Now()
	for name, f := range map[string]func(){
		"Next":        func() { p.Next() },
		"NextAt":      func() { p.NextAt(now) },
		"coarse Next": func() { s.Next() },
	} {
		if n := testing.AllocsPerRun(1000, f); n != 0 {
			t.Errorf("%s allocates %v times per call; want 0", name, n)
		}
	}
}

// TestConcurrentGeneratorsNoDuplicates runs 8 generators with distinct
// worker IDs, 4 goroutines each, for 2 s. A layout of 256 IDs per ms keeps
// every generator at its cap (borrowing, then waiting) while keeping the
// number of IDs held for the check in the millions; the default layout runs
// for 300 ms, for the same reason.
func TestConcurrentGeneratorsNoDuplicates(t *testing.T) {
	capped := Layout{TimeBits: 45, WorkerBits: 10, SequenceBits: 8, Epoch: DefaultEpoch, Tick: time.Millisecond}
	t.Run("layout=45/10/8", func(t *testing.T) { concurrentNoDuplicates(t, capped, 2*time.Second) })
	t.Run("layout=default", func(t *testing.T) { concurrentNoDuplicates(t, DefaultLayout(), 300*time.Millisecond) })
}

func concurrentNoDuplicates(t *testing.T, l Layout, duration time.Duration) {
	const gens, per = 8, 4
	if testing.Short() {
		duration /= 10
	}
	var got [gens][per][]ID
	var wg sync.WaitGroup
	deadline := time.Now().Add(duration)
	for g := range gens {
		// Four goroutines far above the cap take turns at each freed tick;
		// on a loaded machine one can lose many turns in a row, so the wait
		// bound (tested elsewhere) is lifted: this test is about uniqueness.
		s, err := New(int64(100+g), WithLayout(l), WithMaxLead(100*time.Millisecond), WithMaxWait(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		for w := range per {
			wg.Go(func() {
				ids := make([]ID, 0, 1<<16)
				var prev ID
				for i := 0; ; i++ {
					if i%256 == 0 && time.Now().After(deadline) {
						break
					}
					id, err := s.Next()
					if err != nil {
						t.Errorf("generator %d goroutine %d: Next = %v", g, w, err)
						return
					}
					if id <= prev {
						t.Errorf("generator %d goroutine %d: %v after %v; want increasing", g, w, id, prev)
						return
					}
					prev = id
					ids = append(ids, id)
				}
				got[g][w] = ids
			})
		}
	}
	wg.Wait()
	var all []ID
	for g := range gens {
		var ids []ID
		for w := range per {
			ids = append(ids, got[g][w]...)
		}
		slices.Sort(ids)
		for i := 1; i < len(ids); i++ {
			if ids[i] == ids[i-1] {
				t.Fatalf("generator %d issued %v twice", g, ids[i])
			}
		}
		for _, id := range ids {
			if w := l.Decode(id).Worker; w != int64(100+g) {
				t.Fatalf("generator %d issued %v with worker %d", g, id, w)
			}
		}
		all = append(all, ids...)
	}
	slices.Sort(all)
	if i := len(slices.Compact(slices.Clone(all))); i != len(all) {
		t.Fatalf("%d duplicates among %d IDs", len(all)-i, len(all))
	}
	if len(all) < gens*per {
		t.Fatalf("only %d IDs issued", len(all))
	}
	t.Logf("%d IDs from %d generators × %d goroutines in %v, no duplicate", len(all), gens, per, duration)
}

// TestConcurrentNextUniqueIncreasing runs goroutines through every path of
// Next and NextAt at once (the atomic add within a tick, new ticks, borrowed
// ticks, states taken beyond the lead and given back, ErrExhausted) with a
// clock that jumps at random, and checks that no ID is issued twice, that
// each goroutine's IDs increase, and that none is more than the lead ahead of
// the clock.
func TestConcurrentNextUniqueIncreasing(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	for _, l := range []Layout{tinyLayout(), DefaultLayout()} {
		t.Run(fmt.Sprintf("sequence=%d", l.SequenceBits), func(t *testing.T) {
			concurrentUniqueIncreasing(t, l, rand.New(rand.NewPCG(seed, uint64(l.SequenceBits))))
		})
	}
}

func concurrentUniqueIncreasing(t *testing.T, l Layout, r *rand.Rand) {
	const goroutines, calls, lead = 4, 20000, 3
	var clock atomic.Int64
	// The clock does not step back, but a goroutine's reading may be far
	// behind one another goroutine made since: no skew limit.
	s := newAt(t, t0, 1, WithLayout(l), withClock(clock.Load),
		WithMaxLead(lead*l.Tick), WithMaxWait(0), WithMaxSkew(time.Hour))
	tick := int64(l.Tick)
	mean := tick / 2 >> l.SequenceBits
	var got [goroutines][]ID
	var wg sync.WaitGroup
	for g := range goroutines {
		seed := r.Uint64()
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, 0))
			var prev ID
			for range calls {
				var id ID
				var err error
				if r.IntN(4) == 0 {
					id, err = s.NextAt(t0.Add(time.Duration(clock.Load())))
				} else {
					id, err = s.Next()
				}
				after := clock.Load()
				// The clock gives an ID for every 2 calls, so that the lead
				// fills up and the sequence runs out; now and then it jumps.
				if r.IntN(25<<l.SequenceBits) == 0 {
					clock.Add(r.Int64N(3 * tick))
				} else {
					clock.Add(r.Int64N(2 * mean))
				}
				if errors.Is(err, ErrExhausted) {
					continue
				}
				if err != nil {
					t.Errorf("goroutine %d: %v", g, err)
					return
				}
				if id <= prev {
					t.Errorf("goroutine %d: %v after %v; want increasing", g, id, prev)
					return
				}
				if ahead := int64(id)>>s.wsBits - s.tickOf(after); ahead > lead {
					t.Errorf("goroutine %d: %v is %d ticks ahead of the clock; want at most %d", g, id, ahead, lead)
					return
				}
				prev = id
				got[g] = append(got[g], id)
			}
		})
	}
	wg.Wait()
	var all []ID
	for g := range goroutines {
		all = append(all, got[g]...)
	}
	slices.Sort(all)
	if n := len(slices.Compact(slices.Clone(all))); n != len(all) {
		t.Fatalf("%d duplicates among %d IDs", len(all)-n, len(all))
	}
	t.Logf("%d unique IDs over %d ticks, %+v", len(all), s.tickOf(clock.Load())-s.tickOf(0), s.Stats())
}

// TestNextUsedUpConcurrently checks that goroutines calling Next while the
// sequence is used up to the lead take (and so lose) at most one state each
// beyond it: the next tick still issues nearly all its IDs.
func TestNextUsedUpConcurrently(t *testing.T) {
	const goroutines = 4
	var clock atomic.Int64
	s := newAt(t, t0, 1, withClock(clock.Load), WithMaxLead(0), WithMaxWait(0))
	var issued atomic.Int64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range 20000 {
				if _, err := s.Next(); err == nil {
					issued.Add(1)
				} else if !errors.Is(err, ErrExhausted) {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got, want := issued.Load(), int64(1<<12); got != want {
		t.Fatalf("%d goroutines issued %d IDs in one tick with no lead; want %d", goroutines, got, want)
	}
	clock.Add(int64(time.Millisecond))
	n := 0
	for ; ; n++ {
		if _, err := s.Next(); err != nil {
			break
		}
	}
	if n < 1<<12-goroutines {
		t.Errorf("the following tick issued %d IDs; want at least %d", n, 1<<12-goroutines)
	}
}

// TestNextSkipsATickTheClockLeft takes Next through the state it skips: the
// atomic add lands in a tick older than the highest seen, which another
// goroutine has raised without having moved the state yet.
func TestNextSkipsATickTheClockLeft(t *testing.T) {
	var clock atomic.Int64
	s := newAt(t, t0, 1, withClock(clock.Load))
	first, err := s.Next()
	if err != nil {
		t.Fatal(err)
	}
	clock.Store(int64(time.Millisecond))
	s.high.Add(1)
	id, err := s.Next()
	if p := s.Decode(id); err != nil || id <= first || p.Sequence != 0 || !p.Time.Equal(t0.Add(time.Millisecond)) {
		t.Errorf("Next in a tick raised by another goroutine = %+v, %v; want sequence 0 at t0+1ms, > %v", p, err, first)
	}
}
