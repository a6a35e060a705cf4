package ratelimit

import (
	"context"
	"errors"
	"hash/maphash"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestLocalDecisions(t *testing.T) {
	l := NewLocal(PerSecond(10).WithBurst(3))
	steps := []struct {
		at   time.Duration
		n    int
		want Decision
	}{
		{0, 1, Decision{Allowed: true, Remaining: 2, ResetAfter: 100 * time.Millisecond}},
		{0, 2, Decision{Allowed: true, Remaining: 0, ResetAfter: 300 * time.Millisecond}},
		{0, 1, Decision{Remaining: 0, RetryAfter: 100 * time.Millisecond, ResetAfter: 300 * time.Millisecond}},
		{50 * time.Millisecond, 1, Decision{RetryAfter: 50 * time.Millisecond, ResetAfter: 250 * time.Millisecond}},
		{50 * time.Millisecond, 0, Decision{Allowed: true, ResetAfter: 250 * time.Millisecond}},
		{100 * time.Millisecond, 1, Decision{Allowed: true, ResetAfter: 300 * time.Millisecond}},
		{300 * time.Millisecond, 3, Decision{RetryAfter: 100 * time.Millisecond, Remaining: 2, ResetAfter: 100 * time.Millisecond}},
		{time.Hour, 0, Decision{Allowed: true, Remaining: 3}},
	}
	for _, s := range steps {
		s.want.Limit = l.Limit()
		got, err := l.AllowNAt(at(s.at), "k", s.n)
		if err != nil || got != s.want {
			t.Errorf("AllowNAt(t0+%v, %d) = %+v, %v; want %+v", s.at, s.n, got, err, s.want)
		}
	}
}

func TestLocalBadInput(t *testing.T) {
	l := NewLocal(PerSecond(2))
	for _, c := range []struct {
		key  string
		n    int
		want error
	}{{"", 1, ErrEmptyKey}, {"k", -1, ErrNegativeN}, {"k", 3, ErrExceedsBurst}} {
		d, err := l.AllowNAt(t0, c.key, c.n)
		if !errors.Is(err, c.want) || d.Allowed {
			t.Errorf("AllowNAt(%q, %d) = %+v, %v; want %v", c.key, c.n, d, err, c.want)
		}
	}
	if _, err := NewLocal(Limit{}).Allow(context.Background(), "k"); !errors.Is(err, ErrExceedsBurst) {
		t.Errorf("zero Limit Allow = %v; want ErrExceedsBurst", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("NewLocal with a negative burst did not panic")
		}
	}()
	NewLocal(Limit{Rate: 1, Burst: -1})
}

func TestLocalZeroAndInfRate(t *testing.T) {
	none := NewLocal(Limit{Rate: 0, Burst: 5})
	d, err := none.AllowAt(t0, "k")
	if err != nil || d.Allowed || d.RetryAfter != InfDuration {
		t.Errorf("zero rate AllowAt = %+v, %v; want denied, RetryAfter InfDuration", d, err)
	}
	if d, _ := none.AllowNAt(t0, "k", 0); !d.Allowed {
		t.Errorf("zero rate peek = %+v; want allowed", d)
	}
	if none.Len() != 0 {
		t.Errorf("zero rate stored %d keys; want 0", none.Len())
	}
	inf := NewLocal(Limit{Rate: Inf, Burst: 1})
	for range 10 {
		if d, err := inf.AllowNAt(t0, "k", 100); err != nil || !d.Allowed {
			t.Fatalf("Inf AllowNAt = %+v, %v; want allowed", d, err)
		}
	}
}

func TestLocalKeyIsolationAndOutOfOrder(t *testing.T) {
	l := NewLocal(PerSecond(1))
	if d, _ := l.AllowAt(at(time.Second), "a"); !d.Allowed {
		t.Fatal("first event for a denied")
	}
	if d, _ := l.AllowAt(at(time.Second), "b"); !d.Allowed {
		t.Error("b denied after a used its budget")
	}
	for i := range 5 {
		if d, _ := l.AllowAt(at(-time.Duration(i)*time.Hour), "a"); d.Allowed {
			t.Errorf("event for a stamped %dh before the last one was allowed", i)
		}
	}
	if d, _ := l.Allow(context.Background(), "c"); !d.Allowed {
		t.Error("Allow on a new key denied")
	}
}

func TestLocalForgetsFullBuckets(t *testing.T) {
	l := NewLocal(PerSecond(10))
	for i := range 2000 {
		l.AllowAt(t0, "old"+strconv.Itoa(i))
	}
	if got := l.Len(); got != 2000 {
		t.Fatalf("Len = %d after 2000 keys; want 2000", got)
	}
	// A second later every old bucket is full again; new keys sweep them out.
	for i := range 2000 {
		l.AllowAt(at(2*time.Second), "new"+strconv.Itoa(i))
	}
	if got := l.Len(); got > 2400 {
		t.Errorf("Len = %d after 2000 more keys once the first 2000 were full; want <= 2400", got)
	}
}

func TestLocalMaxKeys(t *testing.T) {
	l := NewLocal(PerSecond(1), WithMaxKeys(100))
	for i := range 10000 {
		l.AllowAt(t0, strconv.Itoa(i))
	}
	if got := l.Len(); got > 100 {
		t.Errorf("Len = %d with WithMaxKeys(100); want <= 100", got)
	}

	// One shard holding 3 keys: the one nearest to full is evicted.
	one := NewLocal(PerSecond(1).WithBurst(5), WithMaxKeys(1))
	one.perCap = 3
	one.AllowNAt(t0, "a", 3)
	one.AllowNAt(t0, "b", 1) // nearest to full
	one.AllowNAt(t0, "c", 2)
	one.AllowNAt(t0, "d", 1)
	for _, k := range []string{"a", "c", "d"} {
		if d, _ := one.AllowNAt(t0, k, 0); d.Remaining == 5 {
			t.Errorf("key %s was evicted; want b, the one nearest to full, evicted", k)
		}
	}
	if d, _ := one.AllowNAt(t0, "b", 0); d.Remaining != 5 || one.Len() != 3 {
		t.Errorf("b has %d remaining and the shard %d keys; want b evicted (5) and 3 keys", d.Remaining, one.Len())
	}
	defer func() {
		if recover() == nil {
			t.Error("WithMaxKeys(0) did not panic")
		}
	}()
	WithMaxKeys(0)
}

func TestLocalConcurrentNeverOverAdmits(t *testing.T) {
	l := NewLocal(PerMinute(50))
	var got [4]atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range 400 {
				k := i % 4
				if d, _ := l.AllowAt(t0, "k"+strconv.Itoa(k)); d.Allowed {
					got[k].Add(1)
				}
			}
		})
	}
	wg.Wait()
	for k := range got {
		if n := got[k].Load(); n != 50 {
			t.Errorf("key %d got %d events at one instant; want the burst 50", k, n)
		}
	}
}

func TestLocalDoesNotAllocate(t *testing.T) {
	l := NewLocal(Limit{Rate: 1e9, Burst: 1 << 20})
	ctx := context.Background()
	key := string([]byte("some-client-key"))
	l.Allow(ctx, key)
	if n := testing.AllocsPerRun(100, func() { l.AllowAt(t0, key) }); n != 0 {
		t.Errorf("AllowAt on a known key allocates %v times per call; want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { l.Allow(ctx, key) }); n != 0 {
		t.Errorf("Allow on a known key allocates %v times per call; want 0", n)
	}
}

func BenchmarkLocalAllow(b *testing.B) {
	for _, n := range []int{1, 10000} {
		keys := make([]string, n)
		for i := range keys {
			keys[i] = "client-" + strconv.Itoa(i)
		}
		b.Run("keys="+strconv.Itoa(n), func(b *testing.B) {
			l := NewLocal(Limit{Rate: 1, Burst: 1 << 30}) // no bucket ever full: keys stay
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				l.Allow(ctx, keys[i%n])
				i++
			}
		})
		b.Run("keys="+strconv.Itoa(n)+"/parallel", func(b *testing.B) {
			l := NewLocal(Limit{Rate: 1, Burst: 1 << 30})
			ctx := context.Background()
			b.ReportAllocs()
			var seq atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				i := int(seq.Add(7919))
				for pb.Next() {
					l.Allow(ctx, keys[i%n])
					i++
				}
			})
		})
		if n == 1 {
			continue
		}
		// The same with each goroutine on keys of its own shards: what
		// remains when no cache line of a shard moves between cores. The gap
		// to parallel above, large only when the goroutines truly run at
		// once, is the cost of sharing a shard's lock and table between cores.
		b.Run("keys="+strconv.Itoa(n)+"/parallel-own-shards", func(b *testing.B) {
			l := NewLocal(Limit{Rate: 1, Burst: 1 << 30})
			procs := runtime.GOMAXPROCS(0)
			own := make([][]string, procs)
			for _, k := range keys {
				p := int(l.shardIndex(maphash.String(l.seed, k))) % procs
				own[p] = append(own[p], k)
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			var seq atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				ks := own[int(seq.Add(1)-1)%procs]
				i := 0
				for pb.Next() {
					l.Allow(ctx, ks[i%len(ks)])
					i++
				}
			})
		})
	}
}

func TestLocalZeroValue(t *testing.T) {
	var l Local
	if d, err := l.AllowN(context.Background(), "k", 0); err != nil || !d.Allowed {
		t.Errorf("zero Local peek = %+v, %v; want allowed, nil", d, err)
	}
	if d, err := l.Allow(context.Background(), "k"); !errors.Is(err, ErrExceedsBurst) || d.Allowed {
		t.Errorf("zero Local Allow = %+v, %v; want ErrExceedsBurst", d, err)
	}
}

func TestGCRAEventsMatchesDivision(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ivs := []int64{1, 2, 3, 7, 1000, 999_999_937, 1e9, 3_600_000_000_000, maxNanos / 3, maxNanos}
	for range 2000 {
		ivs = append(ivs, 1+r.Int64N(maxNanos))
	}
	for _, iv := range ivs {
		g := gcra{iv: iv, inv: math.MaxUint64 / uint64(iv)}
		xs := []int64{0, 1, iv - 1, iv, iv + 1, 2*iv - 1, maxNanos, maxNanos - 1, 1<<62 - 1, 1 << 62, -1, -iv - 1}
		for range 50 {
			xs = append(xs, r.Int64N(maxNanos+1), r.Int64N(1<<62))
		}
		for _, x := range xs {
			if got, want := g.events(x), int(x/iv); got != want {
				t.Fatalf("events(%d) with iv %d = %d; want %d", x, iv, got, want)
			}
		}
	}
}

func TestLocalAllowAtMostAt(t *testing.T) {
	l := NewLocal(Limit{Rate: 10, Burst: 10}) // one event every 100ms
	t0 := time.Now()
	at := func(ms, n, want int, wantRetry time.Duration) {
		t.Helper()
		k, d, err := l.AllowAtMostAt(t0.Add(time.Duration(ms)*time.Millisecond), "k", n)
		if err != nil || k != want || d.Allowed != (want > 0) || d.RetryAfter != wantRetry {
			t.Errorf("AllowAtMostAt(+%dms, %d) = %d, %+v, %v; want %d admitted, RetryAfter %v", ms, n, k, d, err, want, wantRetry)
		}
	}
	at(0, 4, 4, 0)
	at(0, 25, 6, 0)                   // the rest of the burst
	at(50, 1, 0, 50*time.Millisecond) // none yet: one fits at +100ms
	at(350, 10, 3, 0)                 // three have come back
	at(350, 1, 0, 50*time.Millisecond)
	if st := l.Stats(); st.Allowed != 3 || st.Denied != 2 {
		t.Errorf("Stats = %+v; want 3 allowed and 2 denied decisions", st)
	}
}
