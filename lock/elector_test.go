package lock_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/distkit/distkit/lock"
)

// crashable wraps a Locker as one process's view of it: after crash, the
// process neither refreshes nor releases, as if it had died.
type crashable struct {
	lock.Locker
	crashed atomic.Bool
}

var errCrashed = errors.New("process crashed")

func (c *crashable) Lock(ctx context.Context, key string, ttl time.Duration, opts ...lock.Option) (*lock.Lease, error) {
	if c.crashed.Load() {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	le, err := c.Locker.Lock(ctx, key, ttl, lock.WithOwner(lock.NewConfig(opts).Owner))
	if err != nil {
		return nil, err
	}
	return lock.NewLease(ctx, crashGrant{le, c}, key, le.Token(), ttl, le.Expiry().Add(lock.Margin(ttl)-ttl), lock.NewConfig(opts)), nil
}

func (c *crashable) Inspect(ctx context.Context, key string) (lock.Holder, bool, error) {
	return c.Locker.(lock.Inspector).Inspect(ctx, key)
}

type crashGrant struct {
	le *lock.Lease
	c  *crashable
}

func (g crashGrant) Refresh(ctx context.Context, _ time.Duration) error {
	if g.c.crashed.Load() {
		return errCrashed
	}
	return g.le.Refresh(ctx)
}

func (g crashGrant) Release(ctx context.Context) error {
	if g.c.crashed.Load() {
		return errCrashed
	}
	return g.le.Release(ctx)
}

func TestElectorOneLeaderAndFailover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		shared := lock.NewLocal()
		const ttl = 3 * time.Second
		var (
			leaders atomic.Int32
			mu      sync.Mutex
			terms   []uint64
			causes  = map[int]error{} // why each candidate's term ended
			elected = make(chan int, 10)
		)
		procs := make([]*crashable, 3)
		electors := make([]*lock.Elector, 3)
		var wg sync.WaitGroup
		for i := range procs {
			procs[i] = &crashable{Locker: shared}
			electors[i] = lock.NewElector(procs[i], "leader", string(rune('a'+i)), ttl)
			wg.Add(1)
			go func() {
				defer wg.Done()
				electors[i].Run(ctx, func(ctx context.Context, term uint64) {
					if n := leaders.Add(1); n != 1 && !procs[i].crashed.Load() {
						t.Errorf("%d leaders at once", n)
					}
					mu.Lock()
					if len(terms) > 0 && term <= terms[len(terms)-1] {
						t.Errorf("term %d after %d", term, terms[len(terms)-1])
					}
					terms = append(terms, term)
					mu.Unlock()
					elected <- i
					<-ctx.Done()
					mu.Lock()
					causes[i] = context.Cause(ctx)
					mu.Unlock()
					leaders.Add(-1)
				})
			}()
		}
		first := <-elected
		synctest.Wait()
		if term, ok := electors[first].Term(); !ok {
			t.Errorf("leader's Term() = %d, false", term)
		}
		h, ok, err := electors[(first+1)%3].Leader(ctx)
		if !ok || err != nil || h.Owner != string(rune('a'+first)) {
			t.Errorf("Leader() = %+v, %v, %v; want owner %c", h, ok, err, 'a'+first)
		}
		for i, e := range electors {
			if _, ok := e.Term(); ok != (i == first) {
				t.Errorf("candidate %d Term ok = %v", i, ok)
			}
		}

		// Resign hands leadership over at once.
		start := time.Now()
		if err := electors[first].Resign(ctx); err != nil {
			t.Fatal(err)
		}
		second := <-elected
		if second == first || time.Since(start) != 0 {
			t.Errorf("after Resign, %d leads after %v; want another at once", second, time.Since(start))
		}

		// A crashed leader is replaced within its TTL.
		synctest.Wait()
		start = time.Now()
		procs[second].crashed.Store(true)
		third := <-elected
		if third == second {
			t.Errorf("crashed candidate re-elected")
		}
		if got := time.Since(start); got > ttl {
			t.Errorf("crashed leader replaced after %v; want within the TTL %v", got, ttl)
		}
		synctest.Wait()
		mu.Lock()
		if len(terms) != 3 {
			t.Errorf("%d terms; want 3", len(terms))
		}
		mu.Unlock()
		cancel()
		wg.Wait()
		for i, want := range map[int]error{first: lock.ErrResigned, second: lock.ErrNotHeld, third: context.Canceled} {
			if !errors.Is(causes[i], want) {
				t.Errorf("candidate %d's term ended with cause %v; want %v", i, causes[i], want)
			}
		}
	})
}

func TestElectorLeaderUnsupported(t *testing.T) {
	e := lock.NewElector(struct{ lock.Locker }{lock.NewLocal()}, "k", "a", time.Second)
	if _, _, err := e.Leader(t.Context()); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Leader on a non-Inspector = %v; want ErrUnsupported", err)
	}
	if err := e.Resign(t.Context()); err != nil {
		t.Errorf("Resign when not leader = %v; want nil", err)
	}
}

func TestElectorInvalidTTL(t *testing.T) {
	e := lock.NewElector(lock.NewLocal(), "k", "a", time.Millisecond)
	if err := e.Run(t.Context(), func(context.Context, uint64) {}); !errors.Is(err, lock.ErrInvalidTTL) {
		t.Errorf("Run with 1ms TTL = %v; want ErrInvalidTTL", err)
	}
}
