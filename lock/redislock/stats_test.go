package redislock_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/distkit/distkit/internal/redistest"
	"github.com/distkit/distkit/lock"
	"github.com/distkit/distkit/lock/redislock"
	"github.com/redis/go-redis/v9"
)

func TestStats(t *testing.T) {
	srv := redistest.StartServer(t)
	ctx := t.Context()
	opts := srv.Options()
	opts.MaxRetries = -1
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	l := redislock.New(rdb)
	var want lock.LockerStats
	check := func(step string) {
		t.Helper()
		if got := l.Stats(); got != want {
			t.Errorf("after %s: Stats = %+v; want %+v", step, got, want)
		}
	}
	check("nothing")

	le, err := l.TryLock(ctx, "a", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want.Acquired++
	check("TryLock")
	if _, err := l.TryLock(ctx, "a", time.Minute); !errors.Is(err, lock.ErrNotObtained) {
		t.Fatalf("second TryLock = %v; want ErrNotObtained", err)
	}
	want.Contended++
	check("contended TryLock")
	if err := le.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	want.Refreshed++
	check("Refresh")

	// A waiter is contended once, however many times it blocks.
	got := make(chan *lock.Lease)
	go func() {
		w, err := l.Lock(ctx, "a", time.Minute)
		if err != nil {
			t.Error(err)
		}
		got <- w
	}()
	for deadline := time.Now().Add(5 * time.Second); l.Stats().Contended < 2; {
		if time.Now().After(deadline) {
			t.Fatal("the waiter never counted as contended")
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(2 * redislock.MaxBlock) // the waiter blocks again, still counted once
	if err := le.Release(ctx); err != nil {
		t.Fatal(err)
	}
	w := <-got
	if err := w.Release(ctx); err != nil {
		t.Fatal(err)
	}
	want.Contended++
	want.Acquired++
	want.Released += 2
	check("a hand-over")

	// A restart without persistence loses the lease: one loss, no error.
	le, err = l.TryLock(ctx, "b", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	srv.Restart()
	if err := le.Refresh(ctx); !errors.Is(err, lock.ErrNotHeld) {
		t.Fatalf("Refresh after restart = %v; want ErrNotHeld", err)
	}
	if err := le.Release(ctx); !errors.Is(err, lock.ErrNotHeld) {
		t.Fatalf("Release after restart = %v; want ErrNotHeld", err)
	}
	want.Acquired++
	want.RefreshFailed++
	want.Lost++
	check("a restart")

	// A dead server: every call that tried a round trip is an error, except
	// one whose ctx had ended.
	le, err = l.TryLock(ctx, "c", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want.Acquired++
	srv.Kill()
	if _, err := l.TryLock(ctx, "d", time.Minute); err == nil {
		t.Fatal("TryLock on a dead server succeeded")
	}
	if _, err := l.Lock(ctx, "d", time.Minute); err == nil {
		t.Fatal("Lock on a dead server succeeded")
	}
	if _, _, err := l.Inspect(ctx, "d"); err == nil {
		t.Fatal("Inspect on a dead server succeeded")
	}
	want.Errors += 3
	check("TryLock, Lock and Inspect on a dead server")
	if err := le.Refresh(ctx); err == nil {
		t.Fatal("Refresh on a dead server succeeded")
	}
	if err := le.Release(ctx); err == nil {
		t.Fatal("Release on a dead server succeeded")
	}
	want.RefreshFailed++
	want.Lost++
	want.Errors += 2
	check("Refresh and Release on a dead server")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.Lock(cctx, "d", time.Minute); !errors.Is(err, context.Canceled) {
		t.Fatalf("Lock with a cancelled ctx = %v; want Canceled", err)
	}
	check("Lock with a cancelled ctx")
}
