package lock_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/distkit/distkit/lock"
)

// checkStats fails t unless got equals want, naming the step.
func checkStats(t *testing.T, step string, got, want lock.LockerStats) {
	t.Helper()
	if got != want {
		t.Errorf("after %s: Stats = %+v; want %+v", step, got, want)
	}
}

func TestLocalStats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		var l lock.Local // the zero value counts too
		var want lock.LockerStats
		checkStats(t, "nothing", l.Stats(), want)

		le, err := l.TryLock(ctx, "a", time.Second)
		if err != nil {
			t.Fatal(err)
		}
		want.Acquired++
		checkStats(t, "TryLock", l.Stats(), want)

		if _, err := l.TryLock(ctx, "a", time.Second); !errors.Is(err, lock.ErrNotObtained) {
			t.Fatalf("second TryLock = %v; want ErrNotObtained", err)
		}
		want.Contended++
		checkStats(t, "contended TryLock", l.Stats(), want)

		if _, err := l.TryLock(ctx, "a", time.Millisecond); !errors.Is(err, lock.ErrInvalidTTL) {
			t.Fatalf("TryLock(1ms) = %v; want ErrInvalidTTL", err)
		}
		checkStats(t, "invalid TTL", l.Stats(), want)

		if err := le.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		want.Refreshed++
		checkStats(t, "Refresh", l.Stats(), want)

		// A waiter is contended once, however long it waits, and acquires
		// when the holder releases.
		got := make(chan *lock.Lease)
		go func() {
			w, err := l.Lock(ctx, "a", time.Second)
			if err != nil {
				t.Error(err)
			}
			got <- w
		}()
		synctest.Wait()
		want.Contended++
		checkStats(t, "Lock waiting", l.Stats(), want)
		if err := le.Release(ctx); err != nil {
			t.Fatal(err)
		}
		w := <-got
		want.Released++
		want.Acquired++
		checkStats(t, "Release to a waiter", l.Stats(), want)

		// Releasing twice is not a loss.
		if err := le.Release(ctx); !errors.Is(err, lock.ErrNotHeld) {
			t.Fatalf("second Release = %v; want ErrNotHeld", err)
		}
		if err := le.Refresh(ctx); !errors.Is(err, lock.ErrNotHeld) {
			t.Fatalf("Refresh after Release = %v; want ErrNotHeld", err)
		}
		want.RefreshFailed++
		checkStats(t, "Release and Refresh of a released lease", l.Stats(), want)

		// A lease whose Expiry passes is lost once, though Refresh and
		// Release then fail.
		<-w.Done()
		want.Lost++
		checkStats(t, "Expiry", l.Stats(), want)
		if err := w.Refresh(ctx); !errors.Is(err, lock.ErrNotHeld) {
			t.Fatalf("Refresh after Expiry = %v; want ErrNotHeld", err)
		}
		time.Sleep(time.Second) // past the TTL: the store no longer holds it
		if err := w.Release(ctx); !errors.Is(err, lock.ErrNotHeld) {
			t.Fatalf("Release after the TTL = %v; want ErrNotHeld", err)
		}
		want.RefreshFailed++
		checkStats(t, "Refresh and Release of a lost lease", l.Stats(), want)

		// A lease left to expire without Done is lost when Release finds
		// it gone.
		le, _ = l.TryLock(ctx, "b", time.Second)
		time.Sleep(2 * time.Second)
		if err := le.Release(ctx); !errors.Is(err, lock.ErrNotHeld) {
			t.Fatalf("Release of expired lease = %v; want ErrNotHeld", err)
		}
		want.Acquired++
		want.Lost++
		checkStats(t, "Release of an expired lease", l.Stats(), want)

		// Auto-renewal counts its refreshes: three per TTL.
		le, _ = l.TryLock(ctx, "c", 3*time.Second, lock.WithAutoRenew(true))
		time.Sleep(3*time.Second + time.Millisecond)
		if err := le.Release(ctx); err != nil {
			t.Fatal(err)
		}
		want.Acquired++
		want.Refreshed += 3
		want.Released++
		checkStats(t, "auto-renewal", l.Stats(), want)

		// A Lock that gives up is contended, not an error.
		le, _ = l.TryLock(ctx, "d", time.Minute)
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		if _, err := l.Lock(cctx, "d", time.Minute); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Lock with deadline = %v; want DeadlineExceeded", err)
		}
		cancel()
		le.Release(ctx)
		want.Acquired++
		want.Contended++
		want.Released++
		checkStats(t, "Lock past its deadline", l.Stats(), want)
	})
}

// A failing store counts as errors, failed refreshes and one loss; a ctx
// that ends does not count as an error.
func TestLeaseCountsStoreErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		var c lock.Counters
		cfg := lock.Config{Counters: &c}
		le := lock.NewLease(ctx, failingGrant{errors.New("connection refused")}, "k", 1, time.Second, time.Now(), cfg)
		if err := le.Refresh(ctx); err == nil {
			t.Fatal("Refresh = nil; want the store's error")
		}
		checkStats(t, "a failed Refresh", c.Stats(), lock.LockerStats{RefreshFailed: 1, Lost: 1, Errors: 1})
		le.Release(ctx) // failingGrant says not held: the loss is already counted
		checkStats(t, "Release", c.Stats(), lock.LockerStats{RefreshFailed: 1, Lost: 1, Errors: 1})

		le = lock.NewLease(ctx, failingGrant{}, "k", 1, time.Second, time.Now(), cfg)
		cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		if err := le.Refresh(cctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Refresh past its deadline = %v; want DeadlineExceeded", err)
		}
		checkStats(t, "a Refresh cut short", c.Stats(), lock.LockerStats{RefreshFailed: 2, Lost: 2, Errors: 1})

		le = lock.NewLease(ctx, releaseFails{}, "k", 1, time.Second, time.Now(), cfg)
		if err := le.Release(ctx); err == nil {
			t.Fatal("Release = nil; want the store's error")
		}
		checkStats(t, "a failed Release", c.Stats(), lock.LockerStats{RefreshFailed: 2, Lost: 2, Errors: 2})

		// A Lease without Counters counts nothing and works.
		le = lock.NewLease(ctx, releaseFails{}, "k", 1, time.Second, time.Now(), lock.Config{})
		if err := le.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		checkStats(t, "a Lease without Counters", c.Stats(), lock.LockerStats{RefreshFailed: 2, Lost: 2, Errors: 2})
	})
}

// releaseFails is a Grant that refreshes and fails to release.
type releaseFails struct{}

func (releaseFails) Refresh(context.Context, time.Duration) error { return nil }
func (releaseFails) Release(context.Context) error {
	return errors.New("connection reset")
}

func TestElectorStats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		const ttl = 3 * time.Second
		proc := &crashable{Locker: lock.NewLocal()}
		e := lock.NewElector(proc, "leader", "a", ttl)
		terms := make(chan uint64)
		done := make(chan error)
		go func() {
			done <- e.Run(ctx, func(ctx context.Context, term uint64) {
				terms <- term
				<-ctx.Done()
			})
		}()
		<-terms
		if got, want := e.Stats(), (lock.ElectorStats{Won: 1}); got != want {
			t.Errorf("after winning: Stats = %+v; want %+v", got, want)
		}
		if err := e.Resign(ctx); err != nil {
			t.Fatal(err)
		}
		<-terms // re-elected at once: nobody else runs
		if got, want := e.Stats(), (lock.ElectorStats{Won: 2}); got != want {
			t.Errorf("after resigning: Stats = %+v; want %+v", got, want)
		}

		// The process stops refreshing: the term is lost.
		proc.crashed.Store(true)
		time.Sleep(ttl)
		synctest.Wait()
		if got := e.Stats(); got.Won != 2 || got.Lost != 1 {
			t.Errorf("after the crash: Stats = %+v; want Won 2, Lost 1", got)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v; want Canceled", err)
		}
		if got, want := e.Stats(), (lock.ElectorStats{Won: 2, Lost: 1}); got != want {
			t.Errorf("after ctx ended: Stats = %+v; want %+v", got, want)
		}
	})
}

func TestElectorStatsCountsErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		const ttl = 4 * time.Second
		e := lock.NewElector(brokenLocker{}, "leader", "a", ttl)
		done := make(chan error)
		go func() { done <- e.Run(ctx, func(context.Context, uint64) { t.Error("lead called") }) }()
		time.Sleep(ttl/2 + time.Millisecond) // errors are retried every TTL/4
		synctest.Wait()
		if got, want := e.Stats(), (lock.ElectorStats{Errors: 3}); got != want {
			t.Errorf("Stats = %+v; want %+v", got, want)
		}
		cancel()
		<-done
	})
}

// brokenLocker is a Locker whose store is down.
type brokenLocker struct{}

func (brokenLocker) TryLock(context.Context, string, time.Duration, ...lock.Option) (*lock.Lease, error) {
	return nil, errors.New("connection refused")
}

func (brokenLocker) Lock(context.Context, string, time.Duration, ...lock.Option) (*lock.Lease, error) {
	return nil, errors.New("connection refused")
}
