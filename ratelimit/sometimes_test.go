package ratelimit

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// runs returns the numbers of the calls, from 1, among n calls of s.Do that
// ran the action.
func runs(s *Sometimes, n int) []int {
	var got []int
	for i := 1; i <= n; i++ {
		s.Do(func() { got = append(got, i) })
	}
	return got
}

func TestSometimesCounts(t *testing.T) {
	for _, c := range []struct {
		name string
		s    *Sometimes
		want []int
	}{
		{"zero value", &Sometimes{}, []int{1}},
		{"First 3", &Sometimes{First: 3}, []int{1, 2, 3}},
		{"Every 4", &Sometimes{Every: 4}, []int{1, 5, 9}},
		{"First 2, Every 5", &Sometimes{First: 2, Every: 5}, []int{1, 2, 6, 11}},
		{"Every 1", &Sometimes{Every: 1}, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
	} {
		if got := runs(c.s, 12); !slices.Equal(got, c.want) {
			t.Errorf("%s: 12 calls ran the action on calls %v; want %v", c.name, got, c.want)
		}
	}
}

func TestSometimesInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &Sometimes{Interval: time.Second}
		var got []time.Duration
		start := time.Now()
		for range 25 {
			s.Do(func() { got = append(got, time.Since(start)) })
			time.Sleep(100 * time.Millisecond)
		}
		want := []time.Duration{0, time.Second, 2 * time.Second}
		if !slices.Equal(got, want) {
			t.Errorf("Interval 1s, a call every 100ms for 2.5s: ran at %v; want %v", got, want)
		}
		// With First, the union: the first two calls, then by interval.
		s = &Sometimes{First: 2, Interval: time.Second}
		got = got[:0]
		start = time.Now()
		for range 15 {
			s.Do(func() { got = append(got, time.Since(start)) })
			time.Sleep(100 * time.Millisecond)
		}
		want = []time.Duration{0, 100 * time.Millisecond, 1100 * time.Millisecond}
		if !slices.Equal(got, want) {
			t.Errorf("First 2, Interval 1s: ran at %v; want %v", got, want)
		}
	})
}

func TestSometimesConcurrent(t *testing.T) {
	s := &Sometimes{Every: 10, Interval: time.Hour}
	var ran, running atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				s.Do(func() {
					if running.Add(1) != 1 {
						t.Error("two runs of the action overlapped")
					}
					ran.Add(1)
					running.Add(-1)
				})
			}
		})
	}
	wg.Wait()
	if got := ran.Load(); got != 800 {
		t.Errorf("8000 calls with Every 10 ran the action %d times; want 800", got)
	}
}

// BenchmarkSometimes is a call that does not run the action, the common
// one, with and without an Interval to check.
func BenchmarkSometimes(b *testing.B) {
	for _, c := range []struct {
		name string
		s    *Sometimes
	}{
		{"every", &Sometimes{Every: 1 << 30}},
		{"interval", &Sometimes{Interval: time.Hour}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.s.Do(func() {})
			}
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c.s.Do(func() {})
				}
			})
		})
	}
}
