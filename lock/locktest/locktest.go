package locktest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/distkit/distkit/lock"
)

// A Counter is a shared integer read and written with no atomicity of its
// own, as a plain GET and SET on Redis would be: only the lock keeps
// concurrent increments from being lost.
type Counter interface {
	Get(ctx context.Context) (int, error)
	Set(ctx context.Context, n int) error
}

// An Option configures Run.
type Option func(*config)

type config struct {
	newCounter func(t *testing.T) Counter
	clients    int
	goroutines int
	increments int
}

// WithCounter sets the counter the exclusion test increments; newCounter is
// called once per run of that test. Default: an in-memory counter whose
// reads and writes are separate atomic operations.
func WithCounter(newCounter func(t *testing.T) Counter) Option {
	return func(c *config) { c.newCounter = newCounter }
}

// WithLoad sets the exclusion test's size: clients Lockers, goroutines per
// Locker, and increments per goroutine. Default: 3, 4, 25.
func WithLoad(clients, goroutines, increments int) Option {
	return func(c *config) { c.clients, c.goroutines, c.increments = clients, goroutines, increments }
}

type memCounter struct{ n atomic.Int64 }

func (m *memCounter) Get(context.Context) (int, error)   { return int(m.n.Load()), nil }
func (m *memCounter) Set(_ context.Context, n int) error { m.n.Store(int64(n)); return nil }

// Run runs the conformance suite against the Lockers newLocker returns.
func Run(t *testing.T, newLocker func(t *testing.T) lock.Locker, opts ...Option) {
	c := config{newCounter: func(*testing.T) Counter { return &memCounter{} }, clients: 3, goroutines: 4, increments: 25}
	for _, o := range opts {
		o(&c)
	}
	t.Run("TryLockExcludes", func(t *testing.T) { testTryLockExcludes(t, newLocker) })
	t.Run("InvalidTTL", func(t *testing.T) { testInvalidTTL(t, newLocker) })
	t.Run("ReleaseOnlyOnce", func(t *testing.T) { testReleaseOnlyOnce(t, newLocker) })
	t.Run("LockWokenOnRelease", func(t *testing.T) { testLockWokenOnRelease(t, newLocker) })
	t.Run("LockCancelled", func(t *testing.T) { testLockCancelled(t, newLocker) })
	t.Run("ExclusionAndTokens", func(t *testing.T) { testExclusion(t, newLocker, c) })
	t.Run("ExpiredHolderLoses", func(t *testing.T) { testExpiredHolderLoses(t, newLocker) })
	t.Run("AutoRenew", func(t *testing.T) { testAutoRenew(t, newLocker) })
	t.Run("AutoRenewStopsWithContext", func(t *testing.T) { testAutoRenewStops(t, newLocker) })
	t.Run("Inspect", func(t *testing.T) { testInspect(t, newLocker) })
	t.Run("Stats", func(t *testing.T) { testStats(t, newLocker) })
}

const key = "locktest"

func testTryLockExcludes(t *testing.T, newLocker func(*testing.T) lock.Locker) {
	ctx := t.Context()
	a, b := newLocker(t), newLocker(t)
	la, err := a.TryLock(ctx, key, 10*time.Second)
	if err != nil {
		t.Fatalf("TryLock(free key) = %v; want nil", err)
	}
	if _, err := b.TryLock(ctx, key, 10*time.Second); !errors.Is(err, lock.ErrNotObtained) {
		t.Fatalf("TryLock(held key) = %v; want ErrNotObtained", err)
	}
	if _, err := a.TryLock(ctx, key, 10*time.Second); !errors.Is(err, lock.ErrNotObtained) {
		t.Fatalf("TryLock(held key, same Locker) = %v; want ErrNotObtained", err)
	}
	other, err := b.TryLock(ctx, key+"-other", 10*time.Second)
	if err != nil {
		t.Fatalf("TryLock(other key) = %v; want nil", err)
	}
	defer other.Release(ctx)
	if la.Key() != key || la.TTL() != 10*time.Second {
		t.Errorf("Key, TTL = %q, %v; want %q, 10s", la.Key(), la.TTL(), key)
	}
	if d := time.Until(la.Expiry()); d <= 9*time.Second || d > 10*time.Second {
		t.Errorf("Expiry in %v; want in (9s, 10s]", d)
	}
	if err := la.Refresh(ctx); err != nil {
		t.Errorf("Refresh = %v; want nil", err)
	}
	if err := la.Release(ctx); err != nil {
		t.Fatalf("Release = %v; want nil", err)
	}
	lb, err := b.TryLock(ctx, key, 10*time.Second)
	if err != nil {
		t.Fatalf("TryLock(released key) = %v; want nil", err)
	}
	defer lb.Release(ctx)
	if lb.Token() <= la.Token() {
		t.Errorf("second token %d <= first %d; want strictly increasing", lb.Token(), la.Token())
	}
}

func testInvalidTTL(t *testing.T, newLocker func(*testing.T) lock.Locker) {
	l := newLocker(t)
	for _, ttl := range []time.Duration{-time.Second, 0, lock.MinTTL - 1} {
		if _, err := l.TryLock(t.Context(), key, ttl); !errors.Is(err, lock.ErrInvalidTTL) {
			t.Errorf("TryLock(ttl %v) = %v; want ErrInvalidTTL", ttl, err)
		}
		if _, err := l.Lock(t.Context(), key, ttl); !errors.Is(err, lock.ErrInvalidTTL) {
			t.Errorf("Lock(ttl %v) = %v; want ErrInvalidTTL", ttl, err)
		}
	}
}

func testReleaseOnlyOnce(t *testing.T, newLocker func(*testing.T) lock.Locker) {
	ctx := t.Context()
	l := newLocker(t)
	le, err := l.TryLock(ctx, key, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	done := le.Done()
	select {
	case <-done:
		t.Fatal("Done closed while held")
	default:
	}
	if err := le.Release(ctx); err != nil {
		t.Fatalf("Release = %v; want nil", err)
	}
	<-done // closed by Release
	if err := le.Release(ctx); !errors.Is(err, lock.ErrNotHeld) {
		t.Errorf("second Release = %v; want ErrNotHeld", err)
	}
	if err := le.Refresh(ctx); !errors.Is(err, lock.ErrNotHeld) {
		t.Errorf("Refresh after Release = %v; want ErrNotHeld", err)
	}
	// The stale lease must not release a newer holder's lock.
	next, err := newLocker(t).TryLock(ctx, key, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := le.Release(ctx); !errors.Is(err, lock.ErrNotHeld) {
		t.Errorf("stale Release = %v; want ErrNotHeld", err)
	}
	if _, err := l.TryLock(ctx, key, 10*time.Second); !errors.Is(err, lock.ErrNotObtained) {
		t.Errorf("TryLock after stale Release = %v; want ErrNotObtained", err)
	}
	if err := next.Release(ctx); err != nil {
		t.Errorf("Release of new holder = %v; want nil", err)
	}
}

func testLockWokenOnRelease(t *testing.T, newLocker func(*testing.T) lock.Locker) {
	ctx := t.Context()
	a, b := newLocker(t), newLocker(t)
	held, err := a.TryLock(ctx, key, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		le  *lock.Lease
		err error
		at  time.Time
	}
	got := make(chan result, 1)
	go func() {
		le, err := b.Lock(ctx, key, 30*time.Second)
		got <- result{le, err, time.Now()}
	}()
	// Let the waiter block: it must not obtain the lock while held.
	select {
	case r := <-got:
		t.Fatalf("Lock returned %v while the key was held", r.err)
	case <-time.After(150 * time.Millisecond):
	}
	released := time.Now()
	if err := held.Release(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.err != nil {
		t.Fatalf("Lock = %v; want nil", r.err)
	}
	defer r.le.Release(ctx)
	// The TTL is 30s: only a wake-up on release explains a prompt return.
	lat := r.at.Sub(released)
	t.Logf("hand-over latency %v", lat)
	if lat > 2*time.Second {
		t.Errorf("Lock returned %v after Release; want a prompt wake-up", lat)
	}
	if r.le.Token() <= held.Token() {
		t.Errorf("waiter's token %d <= holder's %d", r.le.Token(), held.Token())
	}
}

func testLockCancelled(t *testing.T, newLocker func(*testing.T) lock.Locker) {
	a, b := newLocker(t), newLocker(t)
	held, err := a.TryLock(t.Context(), key, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := b.Lock(ctx, key, 30*time.Second); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock with expiring ctx = %v; want DeadlineExceeded", err)
	}
	ctx2, cancel2 := context.WithCancel(t.Context())
	cancel2()
	if _, err := b.Lock(ctx2, key, 30*time.Second); !errors.Is(err, context.Canceled) {
		t.Fatalf("Lock with cancelled ctx = %v; want Canceled", err)
	}
	// The waiter that gave up must not be handed the lock.
	if err := held.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	le, err := a.TryLock(t.Context(), key, 30*time.Second)
	if err != nil {
		t.Fatalf("TryLock after the waiter gave up = %v; want nil", err)
	}
	le.Release(t.Context())
}

func testExclusion(t *testing.T, newLocker func(*testing.T) lock.Locker, c config) {
	ctx := t.Context()
	counter := c.newCounter(t)
	if err := counter.Set(ctx, 0); err != nil {
		t.Fatal(err)
	}
	var (
		inside    atomic.Int32
		lastToken uint64 // written only under the lock; read with the atomics below
		tokenErr  atomic.Value
		insideErr atomic.Value // not sent on errs, which holds one error per goroutine
		wg        sync.WaitGroup
	)
	var tokMu sync.Mutex // orders lastToken for the race detector only
	errs := make(chan error, c.clients*c.goroutines)
	for range c.clients {
		l := newLocker(t)
		for range c.goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range c.increments {
					le, err := l.Lock(ctx, key, 5*time.Second)
					if err != nil {
						errs <- fmt.Errorf("lock: %w", err)
						return
					}
					if n := inside.Add(1); n != 1 {
						insideErr.Store(fmt.Errorf("%d holders inside the lock at once", n))
					}
					tokMu.Lock()
					if le.Token() <= lastToken {
						tokenErr.Store(fmt.Errorf("token %d after %d; want strictly increasing", le.Token(), lastToken))
					}
					lastToken = le.Token()
					tokMu.Unlock()
					n, err := counter.Get(ctx)
					if err == nil {
						err = counter.Set(ctx, n+1)
					}
					inside.Add(-1)
					if rerr := le.Release(ctx); err == nil && rerr != nil {
						err = fmt.Errorf("release: %w", rerr)
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err, _ := insideErr.Load().(error); err != nil {
		t.Error(err)
	}
	if err, _ := tokenErr.Load().(error); err != nil {
		t.Error(err)
	}
	n, err := counter.Get(ctx)
	if want := c.clients * c.goroutines * c.increments; err != nil || n != want {
		t.Errorf("counter = %d, %v; want %d (lost updates mean two holders at once)", n, err, want)
	}
}

func testExpiredHolderLoses(t *testing.T, newLocker func(*testing.T) lock.Locker) {
	ctx := t.Context()
	a, b := newLocker(t), newLocker(t)
	const ttl = 200 * time.Millisecond
	start := time.Now()
	stale, err := a.TryLock(ctx, key, ttl)
	if err != nil {
		t.Fatal(err)
	}
	<-stale.Done() // the holder stops refreshing: the lease must be given up
	if exp := stale.Expiry(); exp.After(start.Add(ttl)) || time.Now().Before(exp) {
		t.Errorf("Done closed at %v with Expiry %v after the request; want Expiry passed and before the TTL %v",
			time.Since(start), exp.Sub(start), ttl)
	}
	next, err := b.Lock(ctx, key, 10*time.Second)
	if err != nil {
		t.Fatalf("Lock after expiry = %v; want nil", err)
	}
	defer next.Release(ctx)
	if next.Token() <= stale.Token() {
		t.Errorf("new token %d <= stale token %d", next.Token(), stale.Token())
	}
	if err := stale.Refresh(ctx); !errors.Is(err, lock.ErrNotHeld) {
		t.Errorf("stale Refresh = %v; want ErrNotHeld", err)
	}
	if err := stale.Release(ctx); !errors.Is(err, lock.ErrNotHeld) {
		t.Errorf("stale Release = %v; want ErrNotHeld", err)
	}
	if _, err := a.TryLock(ctx, key, ttl); !errors.Is(err, lock.ErrNotObtained) {
		t.Errorf("TryLock after stale Release = %v; want ErrNotObtained (new holder kept)", err)
	}
}

func testAutoRenew(t *testing.T, newLocker func(*testing.T) lock.Locker) {
	ctx := t.Context()
	a, b := newLocker(t), newLocker(t)
	// Renewal runs every TTL/3: the TTL leaves room for a loaded machine.
	const ttl = 500 * time.Millisecond
	le, err := a.TryLock(ctx, key, ttl, lock.WithAutoRenew(true))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-le.Done():
		t.Fatal("auto-renewed lease lost")
	case <-time.After(3 * ttl):
	}
	if _, err := b.TryLock(ctx, key, ttl); !errors.Is(err, lock.ErrNotObtained) {
		t.Fatalf("TryLock after 3 TTLs of auto-renewal = %v; want ErrNotObtained", err)
	}
	if err := le.Release(ctx); err != nil {
		t.Fatalf("Release = %v", err)
	}
	lb, err := b.TryLock(ctx, key, ttl)
	if err != nil {
		t.Fatalf("TryLock after Release = %v; want nil", err)
	}
	lb.Release(ctx)
}

func testAutoRenewStops(t *testing.T, newLocker func(*testing.T) lock.Locker) {
	a, b := newLocker(t), newLocker(t)
	const ttl = 100 * time.Millisecond
	ctx, cancel := context.WithCancel(t.Context())
	le, err := a.TryLock(ctx, key, ttl, lock.WithAutoRenew(true))
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	<-le.Done() // renewal stopped: the lease runs out
	lb, err := b.Lock(t.Context(), key, ttl)
	if err != nil {
		t.Fatalf("Lock after the renewal's ctx ended = %v; want nil", err)
	}
	lb.Release(t.Context())
}

func testInspect(t *testing.T, newLocker func(*testing.T) lock.Locker) {
	l := newLocker(t)
	in, ok := l.(lock.Inspector)
	if !ok {
		t.Skip("not a lock.Inspector")
	}
	ctx := t.Context()
	if _, ok, err := in.Inspect(ctx, key); ok || err != nil {
		t.Fatalf("Inspect(free) = %v, %v; want false, nil", ok, err)
	}
	le, err := l.TryLock(ctx, key, 10*time.Second, lock.WithOwner("node:1"))
	if err != nil {
		t.Fatal(err)
	}
	h, ok, err := in.Inspect(ctx, key)
	if !ok || err != nil || h.Owner != "node:1" || h.Token != le.Token() || h.TTL <= 0 || h.TTL > 10*time.Second {
		t.Errorf("Inspect = %+v, %v, %v; want owner node:1, token %d, TTL in (0, 10s]", h, ok, err, le.Token())
	}
	le.Release(ctx)
	if _, ok, err := in.Inspect(ctx, key); ok || err != nil {
		t.Errorf("Inspect(released) = %v, %v; want false, nil", ok, err)
	}
}

// testStats checks the counters of a Locker that has them (a Stats method
// returning lock.LockerStats, as Local and the Redis Locker have).
func testStats(t *testing.T, newLocker func(*testing.T) lock.Locker) {
	ctx := t.Context()
	l := newLocker(t)
	sl, ok := l.(interface{ Stats() lock.LockerStats })
	if !ok {
		t.Skip("the Locker has no Stats method")
	}
	want := sl.Stats()
	check := func(step string) {
		t.Helper()
		if got := sl.Stats(); got != want {
			t.Errorf("after %s: Stats = %+v; want %+v", step, got, want)
		}
	}
	le, err := l.TryLock(ctx, key, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want.Acquired++
	check("TryLock")
	if _, err := l.TryLock(ctx, key, 10*time.Second); !errors.Is(err, lock.ErrNotObtained) {
		t.Fatalf("TryLock(held key) = %v; want ErrNotObtained", err)
	}
	want.Contended++
	check("TryLock of a held key")
	if err := le.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	want.Refreshed++
	check("Refresh")

	got := make(chan *lock.Lease, 1)
	go func() {
		w, err := l.Lock(ctx, key, 10*time.Second)
		if err != nil {
			t.Error(err)
		}
		got <- w
	}()
	for deadline := time.Now().Add(5 * time.Second); sl.Stats().Contended == want.Contended; {
		if time.Now().After(deadline) {
			t.Fatal("a Lock waiting for a held key is not counted as contended")
		}
		time.Sleep(time.Millisecond)
	}
	if err := le.Release(ctx); err != nil {
		t.Fatal(err)
	}
	w := <-got
	if w == nil {
		return
	}
	if err := w.Release(ctx); err != nil {
		t.Fatal(err)
	}
	want.Contended++
	want.Acquired++
	want.Released += 2
	check("a hand-over to a waiting Lock")

	le, err = l.TryLock(ctx, key, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	<-le.Done()
	if err := le.Refresh(ctx); !errors.Is(err, lock.ErrNotHeld) {
		t.Fatalf("Refresh after Done = %v; want ErrNotHeld", err)
	}
	want.Acquired++
	want.Lost++
	want.RefreshFailed++
	check("a lease left to expire")
}
