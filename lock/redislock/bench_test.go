package redislock_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/distkit/distkit/internal/redistest"
	"github.com/distkit/distkit/lock/redislock"
)

// BenchmarkTryLockRelease is one uncontended acquire and release: two round
// trips, fencing token included.
func BenchmarkTryLockRelease(b *testing.B) {
	l := redislock.New(redistest.Start(b))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		le, err := l.TryLock(ctx, "k", time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		if err := le.Release(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTryLockReleaseParallel(b *testing.B) {
	l := redislock.New(redistest.Start(b))
	ctx := context.Background()
	var id atomic.Int64
	b.ReportAllocs()
	b.ResetTimer() // RunParallel, unlike b.Loop, does not leave out the setup
	b.RunParallel(func(pb *testing.PB) {
		key := strconv.FormatInt(id.Add(1), 10)
		for pb.Next() {
			le, err := l.TryLock(ctx, key, time.Minute)
			if err != nil {
				b.Error(err)
				return
			}
			le.Release(ctx)
		}
	})
}

func BenchmarkRefresh(b *testing.B) {
	l := redislock.New(redistest.Start(b))
	ctx := context.Background()
	le, err := l.TryLock(ctx, "k", time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := le.Refresh(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandOver measures the hand-over latency: from the start of
// Release to the return of Lock in a second client blocked on the key.
func BenchmarkHandOver(b *testing.B) {
	srv := redistest.StartServer(b)
	holder, waiter := redislock.New(srv.Client()), redislock.New(srv.Client())
	probe := srv.Client()
	ctx := context.Background()
	var total time.Duration
	b.ReportAllocs()
	for b.Loop() {
		le, err := holder.TryLock(ctx, "k", time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		got := make(chan time.Time)
		released := make(chan struct{})
		go func() {
			defer close(released)
			w, err := waiter.Lock(ctx, "k", time.Minute)
			if err != nil {
				b.Error(err)
				close(got)
				return
			}
			got <- time.Now()
			w.Release(ctx)
		}()
		// Release once the waiter is queued.
		for {
			if n, _ := probe.HLen(ctx, "lock:{k}:waiters").Result(); n == 1 {
				break
			}
		}
		start := time.Now()
		le.Release(ctx)
		total += (<-got).Sub(start)
		<-released
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N), "handover-µs")
}
