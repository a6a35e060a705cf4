package lock_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/distkit/distkit/lock"
)

// TryLock and Release allocate the Lease, the grant behind it and the key's
// entry (removed again by Release), nothing else.
func TestLocalTryLockReleaseAllocs(t *testing.T) {
	l := lock.NewLocal()
	ctx := context.Background()
	n := testing.AllocsPerRun(100, func() {
		le, _ := l.TryLock(ctx, "k", time.Minute)
		le.Release(ctx)
	})
	if n > 4 {
		t.Errorf("TryLock+Release allocates %v times; want at most 4 (lease, grant, key entry and its map slot)", n)
	}
}

func TestLeaseAccessorsDoNotAllocate(t *testing.T) {
	l := lock.NewLocal()
	ctx := context.Background()
	le, _ := l.TryLock(ctx, "k", time.Minute)
	le.Done()
	var sink uint64
	if n := testing.AllocsPerRun(100, func() {
		sink += le.Token()
		sink += uint64(le.Expiry().Unix())
		sink += uint64(cap(le.Done()))
	}); n != 0 {
		t.Errorf("Token/Expiry/Done allocate %v times; want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { le.Refresh(ctx) }); n != 0 {
		t.Errorf("Refresh allocates %v times; want 0", n)
	}
}

func BenchmarkLocalTryLockRelease(b *testing.B) {
	l := lock.NewLocal()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		le, err := l.TryLock(ctx, "k", time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		le.Release(ctx)
	}
}

func BenchmarkLocalTryLockReleaseParallel(b *testing.B) {
	l := lock.NewLocal()
	ctx := context.Background()
	var id atomic.Int64
	b.ReportAllocs()
	b.ResetTimer() // RunParallel, unlike b.Loop, does not leave out the setup
	b.RunParallel(func(pb *testing.PB) {
		key := strconv.FormatInt(id.Add(1), 10) // one key per goroutine: no contention on the key
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

func BenchmarkLocalRefresh(b *testing.B) {
	l := lock.NewLocal()
	ctx := context.Background()
	le, _ := l.TryLock(ctx, "k", time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		le.Refresh(ctx)
	}
}

// BenchmarkLocalContended has every goroutine lock and release one key: each
// operation after the first waits in line and is handed the key by a Release.
func BenchmarkLocalContended(b *testing.B) {
	l := lock.NewLocal()
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			le, err := l.Lock(ctx, "k", time.Minute)
			if err != nil {
				b.Error(err)
				return
			}
			le.Release(ctx)
		}
	})
}
