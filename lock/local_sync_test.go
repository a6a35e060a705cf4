package lock_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/distkit/distkit/lock"
)

func TestLocalExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		var l lock.Local // the zero value works
		const ttl = time.Second
		start := time.Now()
		le, err := l.TryLock(ctx, "k", ttl)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := le.Expiry(), start.Add(ttl-lock.Margin(ttl)); !got.Equal(want) {
			t.Errorf("Expiry = %v; want start+%v", got.Sub(start), want.Sub(start))
		}
		<-le.Done()
		if got, want := time.Since(start), ttl-lock.Margin(ttl); got != want {
			t.Errorf("Done closed after %v; want %v (TTL minus margin)", got, want)
		}
		// The store still holds the lease until the full TTL.
		if _, err := l.TryLock(ctx, "k", ttl); !errors.Is(err, lock.ErrNotObtained) {
			t.Errorf("TryLock before the TTL = %v; want ErrNotObtained", err)
		}
		time.Sleep(lock.Margin(ttl))
		le2, err := l.TryLock(ctx, "k", ttl)
		if err != nil {
			t.Fatalf("TryLock at the TTL = %v; want nil", err)
		}
		if err := le.Refresh(ctx); !errors.Is(err, lock.ErrNotHeld) {
			t.Errorf("Refresh of expired lease = %v; want ErrNotHeld", err)
		}
		if err := le.Release(ctx); !errors.Is(err, lock.ErrNotHeld) {
			t.Errorf("Release of expired lease = %v; want ErrNotHeld", err)
		}
		if le2.Token() <= le.Token() {
			t.Errorf("token %d after %d", le2.Token(), le.Token())
		}
	})
}

func TestLocalRefreshExtends(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		l := lock.NewLocal()
		const ttl = time.Second
		le, _ := l.TryLock(ctx, "k", ttl)
		done := le.Done()
		time.Sleep(900 * time.Millisecond)
		if err := le.Refresh(ctx); err != nil {
			t.Fatalf("Refresh at 900ms = %v; want nil", err)
		}
		time.Sleep(900 * time.Millisecond)
		select {
		case <-done:
			t.Fatal("Done closed 900ms after a refresh of a 1s lease")
		default:
		}
		if _, err := l.TryLock(ctx, "k", ttl); !errors.Is(err, lock.ErrNotObtained) {
			t.Errorf("TryLock of refreshed lease = %v; want ErrNotObtained", err)
		}
		<-done
		if got, want := le.Expiry(), time.Now(); !got.Equal(want) {
			t.Errorf("Done closed at %v; Expiry %v", want, got)
		}
	})
}

func TestLocalLockWaitsForExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		l := lock.NewLocal()
		start := time.Now()
		if _, err := l.TryLock(ctx, "k", 3*time.Second); err != nil {
			t.Fatal(err)
		}
		le, err := l.Lock(ctx, "k", time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != 3*time.Second {
			t.Errorf("Lock returned after %v; want the holder's TTL 3s", got)
		}
		le.Release(ctx)
	})
}

func TestLocalHandOverOnRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		l := lock.NewLocal()
		held, _ := l.TryLock(ctx, "k", time.Hour)
		order := make(chan int, 3)
		var wg sync.WaitGroup
		defer wg.Wait()
		for i := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				le, err := l.Lock(ctx, "k", time.Hour)
				if err != nil {
					t.Error(err)
					return
				}
				order <- i
				time.Sleep(time.Second)
				le.Release(ctx)
			}()
			synctest.Wait() // queue the waiters in order
		}
		start := time.Now()
		held.Release(ctx)
		for want := range 3 {
			if got := <-order; got != want {
				t.Errorf("waiter %d obtained the lock in turn %d; want FIFO", got, want)
			}
		}
		// Each hand-over is immediate: three waiters, the last two after 1s each.
		if got := time.Since(start); got != 2*time.Second {
			t.Errorf("three hand-overs took %v; want 2s", got)
		}
	})
}

func TestLocalLockCancelPassesHandOverOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		l := lock.NewLocal()
		held, _ := l.TryLock(ctx, "k", time.Hour)
		cctx, cancel := context.WithCancel(ctx)
		errc := make(chan error, 1)
		go func() {
			_, err := l.Lock(cctx, "k", time.Hour)
			errc <- err
		}()
		got := make(chan *lock.Lease, 1)
		go func() {
			le, _ := l.Lock(ctx, "k", time.Hour)
			got <- le
		}()
		synctest.Wait()
		cancel()
		held.Release(ctx)
		if err := <-errc; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled Lock = %v", err)
		}
		le := <-got
		if le == nil {
			t.Fatal("second waiter got nothing")
		}
		le.Release(ctx)
	})
}

func TestLocalAutoRenew(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		l := lock.NewLocal()
		le, err := l.TryLock(ctx, "k", time.Second, lock.WithAutoRenew(true))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second)
		select {
		case <-le.Done():
			t.Fatal("auto-renewed lease lost")
		default:
		}
		// The last renewal was at 9.999s, a whole number of TTL/3 periods.
		if got, want := time.Until(le.Expiry()), time.Second-lock.Margin(time.Second)-time.Second/3; got > want+time.Second/3 || got < want {
			t.Errorf("Expiry in %v; want within a renewal period of %v", got, want)
		}
		if err := le.Release(ctx); err != nil {
			t.Fatal(err)
		}
		// synctest fails the test if the renewal goroutine outlives Release.
	})
}

// failingGrant is a Grant whose Refresh fails with err, or blocks until ctx
// ends when err is nil.
type failingGrant struct{ err error }

func (g failingGrant) Refresh(ctx context.Context, _ time.Duration) error {
	if g.err != nil {
		return g.err
	}
	<-ctx.Done()
	return ctx.Err()
}

func (failingGrant) Release(context.Context) error { return lock.ErrNotHeld }

func TestAutoRenewFailureClosesDone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		le := lock.NewLease(t.Context(), failingGrant{errors.New("connection refused")}, "k", 1, 3*time.Second, start, lock.Config{AutoRenew: true})
		<-le.Done()
		if got := time.Since(start); got != time.Second {
			t.Errorf("Done closed after %v; want at the first refresh, 1s", got)
		}
		if err := le.Refresh(t.Context()); !errors.Is(err, lock.ErrNotHeld) {
			t.Errorf("Refresh after loss = %v; want ErrNotHeld", err)
		}
	})
}

func TestAutoRenewStallClosesDoneAtExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		const ttl = 3 * time.Second
		le := lock.NewLease(t.Context(), failingGrant{}, "k", 1, ttl, start, lock.Config{AutoRenew: true})
		<-le.Done()
		if got, want := time.Since(start), ttl-lock.Margin(ttl); got != want {
			t.Errorf("Done closed after %v; want at Expiry, %v", got, want)
		}
		if err := le.Release(t.Context()); !errors.Is(err, lock.ErrNotHeld) {
			t.Errorf("Release = %v; want ErrNotHeld", err)
		}
	})
}

func TestLocalInspect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		l := lock.NewLocal()
		le, _ := l.TryLock(ctx, "k", time.Second, lock.WithOwner("a"))
		time.Sleep(300 * time.Millisecond)
		h, ok, err := l.Inspect(ctx, "k")
		if want := (lock.Holder{Owner: "a", Token: le.Token(), TTL: 700 * time.Millisecond}); !ok || err != nil || h != want {
			t.Errorf("Inspect = %+v, %v, %v; want %+v", h, ok, err, want)
		}
		time.Sleep(time.Second)
		if _, ok, _ := l.Inspect(ctx, "k"); ok {
			t.Error("Inspect(expired) reports a holder")
		}
	})
}
