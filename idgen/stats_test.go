package idgen

import (
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestStatsNextAt(t *testing.T) {
	s := newAt(t, t0, 1, WithLayout(tinyLayout()), WithMaxLead(2*time.Millisecond), WithMaxSkew(5*time.Millisecond))
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	var want Stats
	check := func(step string) {
		t.Helper()
		if got := s.Stats(); got != want {
			t.Errorf("after %s: Stats = %+v; want %+v", step, got, want)
		}
	}
	check("New")
	for range 4 {
		if _, err := s.NextAt(at(0)); err != nil {
			t.Fatal(err)
		}
	}
	check("one tick's IDs")
	for range 8 {
		if _, err := s.NextAt(at(0)); err != nil {
			t.Fatal(err)
		}
	}
	want.BorrowedTicks, want.Lead = 2, 2*time.Millisecond
	check("two borrowed ticks")
	if _, err := s.NextAt(at(0)); !errors.Is(err, ErrExhausted) {
		t.Fatalf("NextAt beyond the lead = %v; want ErrExhausted", err)
	}
	want.Exhausted++
	check("ErrExhausted")

	if _, err := s.NextAt(at(3 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	want.Lead = 0
	check("a new tick")
	if _, err := s.NextAt(at(time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	want.ClockRegressions++
	check("2ms back")
	if _, err := s.NextAt(at(-3 * time.Millisecond)); !errors.Is(err, ErrClockBackwards) {
		t.Fatalf("NextAt 6ms back = %v; want ErrClockBackwards", err)
	}
	want.ClockBackwards++
	check("6ms back")
	s.SetExpiry(time.Time{})
	if _, err := s.NextAt(at(3 * time.Millisecond)); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("NextAt after SetExpiry(zero) = %v; want ErrLeaseLost", err)
	}
	check("ErrLeaseLost")
}

func TestStatsNext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(3, WithLayout(tinyLayout()), WithMaxLead(2*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		for range 12 { // ticks 0, 1 and 2: two borrowed
			if _, err := s.Next(); err != nil {
				t.Fatal(err)
			}
		}
		if got, want := s.Stats(), (Stats{BorrowedTicks: 2, Lead: 2 * time.Millisecond}); got != want {
			t.Errorf("after 12 IDs: Stats = %+v; want %+v", got, want)
		}
		if _, err := s.Next(); err != nil { // waits 1ms, then borrows tick 3
			t.Fatal(err)
		}
		if got, want := s.Stats(), (Stats{Waits: 1, Waited: time.Millisecond, BorrowedTicks: 3, Lead: 2 * time.Millisecond}); got != want {
			t.Errorf("after a wait: Stats = %+v; want %+v", got, want)
		}
		time.Sleep(5 * time.Millisecond)
		if got, want := s.Stats(), (Stats{Waits: 1, Waited: time.Millisecond, BorrowedTicks: 3}); got != want {
			t.Errorf("once the clock caught up: Stats = %+v; want %+v", got, want)
		}

		s, err = New(3, WithLayout(tinyLayout()), WithMaxLead(0), WithMaxWait(0))
		if err != nil {
			t.Fatal(err)
		}
		for range 4 {
			s.Next()
		}
		if _, err := s.Next(); !errors.Is(err, ErrExhausted) {
			t.Fatalf("Next with no lead and no wait = %v; want ErrExhausted", err)
		}
		if got, want := s.Stats(), (Stats{Exhausted: 1}); got != want {
			t.Errorf("after ErrExhausted: Stats = %+v; want %+v", got, want)
		}
	})
}

func TestStatsCoarseClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(3, WithLayout(tinyLayout()), WithCoarseClock(true), WithMaxLead(0))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for range 4 {
			if _, err := s.Next(); err != nil {
				t.Fatal(err)
			}
		}
		if got, want := s.Stats(), (Stats{}); got != want {
			t.Errorf("after a tick's IDs: Stats = %+v; want %+v", got, want)
		}
		if _, err := s.Next(); err != nil { // the coarse tick is used up: read the clock, wait
			t.Fatal(err)
		}
		if got, want := s.Stats(), (Stats{Waits: 1, Waited: time.Millisecond, CoarseMisses: 1}); got != want {
			t.Errorf("after the coarse clock missed: Stats = %+v; want %+v", got, want)
		}
	})
}

// Counting does not disturb concurrent issuing: every borrowed tick is
// counted once.
func TestStatsConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(3, WithLayout(tinyLayout()), WithMaxLead(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 1000 {
					if _, err := s.Next(); err != nil {
						t.Error(err)
						return
					}
					s.Stats()
				}
			})
		}
		wg.Wait()
		// 4000 IDs at 4 per tick, with the clock standing still: tick 0 and
		// 999 borrowed ones.
		if got, want := s.Stats(), (Stats{BorrowedTicks: 999, Lead: 999 * time.Millisecond}); got != want {
			t.Errorf("Stats = %+v; want %+v", got, want)
		}
	})
}

func TestStatsDoesNotAllocate(t *testing.T) {
	s, err := New(1)
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { s.Stats() }); n != 0 {
		t.Errorf("Stats allocates %v times per call; want 0", n)
	}
}
