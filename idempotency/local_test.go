package idempotency_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/distkit/distkit/idempotency"
	"github.com/distkit/distkit/idempotency/idempotencytest"
)

func TestLocalConformance(t *testing.T) {
	idempotencytest.Run(t, func(t *testing.T) idempotency.Store { return idempotency.NewLocal() })
}

var t0 = time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)

func TestLocalExpiresAt(t *testing.T) {
	l := idempotency.NewLocal()
	c, err := l.BeginAt(t0, "k", "fp", time.Second)
	if err != nil || !c.Owned() {
		t.Fatalf("BeginAt(t0) = %+v, %v; want owned", c, err)
	}
	steps := []struct {
		at   time.Duration
		want error
	}{
		{0, idempotency.ErrInProgress},
		{999 * time.Millisecond, idempotency.ErrInProgress},
		{time.Second, nil}, // the lock expired: a retry owns the key
	}
	for _, s := range steps {
		_, err := l.BeginAt(t0.Add(s.at), "k", "fp", time.Second)
		if !errors.Is(err, s.want) {
			t.Fatalf("BeginAt(t0+%v) error = %v; want %v", s.at, err, s.want)
		}
	}
	if err := l.CompleteAt(t0.Add(time.Second), "k", c.Token, nil, time.Hour); !errors.Is(err, idempotency.ErrNotHeld) {
		t.Fatalf("CompleteAt(stale token) = %v; want ErrNotHeld", err)
	}
}

func TestLocalEvictsCompletedFirst(t *testing.T) {
	l := idempotency.NewLocal(idempotency.WithCapacity(3))
	// Two completed records, one expiring before the other, and one running.
	for i, k := range []string{"late", "early"} {
		c, _ := l.BeginAt(t0, k, "", time.Minute)
		if err := l.CompleteAt(t0, k, c.Token, []byte(k), time.Hour*time.Duration(2-i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.BeginAt(t0, "running", "", time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := l.BeginAt(t0, "new", "", time.Minute); err != nil {
		t.Fatalf("BeginAt(new) on a full Local = %v; want an eviction", err)
	}
	if n := l.Len(); n != 3 {
		t.Fatalf("Len = %d; want 3", n)
	}
	if c, err := l.BeginAt(t0, "late", "", time.Minute); err != nil || string(c.Result) != "late" {
		t.Fatalf("BeginAt(late) = %+v, %v; want its result kept", c, err)
	}
	// "early" was evicted, so it starts again, evicting "late".
	if c, err := l.BeginAt(t0, "early", "", time.Minute); err != nil || !c.Owned() {
		t.Fatalf("BeginAt(early) = %+v, %v; want owned after eviction", c, err)
	}
	// Now all three records are in progress: nothing may be evicted.
	if _, err := l.BeginAt(t0, "more", "", time.Minute); !errors.Is(err, idempotency.ErrFull) {
		t.Fatalf("BeginAt on a Local full of running records = %v; want ErrFull", err)
	}
	// Once a lock expires, its slot is free again.
	if c, err := l.BeginAt(t0.Add(time.Minute), "more", "", time.Minute); err != nil || !c.Owned() {
		t.Fatalf("BeginAt after lock expiry = %+v, %v; want owned", c, err)
	}
}

func TestLocalExpiresLazily(t *testing.T) {
	l := idempotency.NewLocal()
	for i := range 100 {
		k := string(rune('a'+i%26)) + string(rune('0'+i/26))
		c, _ := l.BeginAt(t0, k, "", time.Second)
		if i%2 == 0 {
			l.CompleteAt(t0, k, c.Token, nil, time.Second)
		}
	}
	if n := l.Len(); n != 100 {
		t.Fatalf("Len = %d; want 100", n)
	}
	// Each later call removes a few expired records; none sweeps them all.
	for i := range 100 {
		l.BeginAt(t0.Add(time.Hour), "x", "", time.Hour)
		if n := l.Len(); n == 1 {
			if i < 20 {
				t.Fatalf("all expired records gone after %d calls; want a few per call", i+1)
			}
			return
		}
	}
	t.Fatalf("Len = %d after 100 calls; want expired records removed", l.Len())
}

func TestLocalNewPanicsOnBadCapacity(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewLocal(WithCapacity(0)) did not panic")
		}
	}()
	idempotency.NewLocal(idempotency.WithCapacity(0))
}

func TestLocalBeginDoesNotAllocate(t *testing.T) {
	l := idempotency.NewLocal()
	c, _ := l.BeginAt(t0, "k", "fp", time.Minute)
	l.CompleteAt(t0, "k", c.Token, []byte("r"), time.Hour)
	if n := testing.AllocsPerRun(100, func() { l.BeginAt(t0, "k", "fp", time.Minute) }); n != 0 {
		t.Errorf("BeginAt(completed key) allocates %v times per call; want 0", n)
	}
	l.BeginAt(t0, "busy", "fp", time.Minute)
	if n := testing.AllocsPerRun(100, func() { l.BeginAt(t0, "busy", "fp", time.Minute) }); n != 0 {
		t.Errorf("BeginAt(key in progress) allocates %v times per call; want 0", n)
	}
}

func BenchmarkLocalBeginCompleted(b *testing.B) {
	l := idempotency.NewLocal()
	ctx := b.Context()
	c, _ := l.Begin(ctx, "k", "fp", time.Minute)
	l.Complete(ctx, "k", c.Token, []byte("r"), time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		l.Begin(ctx, "k", "fp", time.Minute)
	}
}

func BenchmarkLocalBeginCompletedParallel(b *testing.B) {
	l := idempotency.NewLocal()
	ctx := b.Context()
	c, _ := l.Begin(ctx, "k", "fp", time.Minute)
	l.Complete(ctx, "k", c.Token, []byte("r"), time.Hour)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Begin(ctx, "k", "fp", time.Minute)
		}
	})
}

func BenchmarkLocalBeginComplete(b *testing.B) {
	l := idempotency.NewLocal(idempotency.WithCapacity(1024))
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = "key-" + string(rune('a'+i%26)) + string(rune(i))
	}
	ctx := b.Context()
	res := []byte("r")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := keys[i%len(keys)]
		i++
		c, err := l.Begin(ctx, k, "fp", time.Minute)
		if err == nil && c.Owned() {
			l.Complete(ctx, k, c.Token, res, time.Hour)
		}
	}
}

func BenchmarkLocalBeginCompleteNewKeys(b *testing.B) {
	l := idempotency.NewLocal()
	ctx := b.Context()
	res := []byte("r")
	var buf []byte
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		buf = strconv.AppendInt(buf[:0], int64(i), 10)
		k := string(buf)
		c, err := l.Begin(ctx, k, "fp", time.Minute)
		if err != nil || !c.Owned() {
			b.Fatal(err)
		}
		l.Complete(ctx, k, c.Token, res, time.Hour)
	}
}
