package lock

import (
	"context"
	"sync"
	"time"
)

// A Local is an in-memory Locker for the goroutines of one process, and for
// tests. Its zero value is ready to use; it is safe for concurrent use by
// multiple goroutines and starts no goroutines of its own (auto-renewed
// leases run one each).
//
// Waiters queue per key in arrival order: Release hands the key straight to
// the first waiter, woken through a channel, so none is starved by callers
// that release and lock again in a loop. Fencing tokens come from one counter
// for all keys, so they increase across keys too. A key's entry is removed
// when its lease is released with nobody waiting; one left to expire stays
// (a few dozen bytes) until the key is used again.
type Local struct {
	counters Counters

	mu    sync.Mutex
	keys  map[string]*localKey // guarded by mu
	token uint64               // last token granted; guarded by mu
}

var (
	_ Locker    = (*Local)(nil)
	_ Inspector = (*Local)(nil)
)

type localKey struct {
	holder  *localGrant // nil when free
	waiters []*localWaiter
}

type localGrant struct {
	l       *Local
	key     string
	owner   string
	token   uint64
	start   time.Time
	expires time.Time // guarded by l.mu
}

type localWaiter struct {
	ch    chan *localGrant // receives the grant handed over by Release
	ttl   time.Duration
	owner string
}

// NewLocal returns an empty Local.
func NewLocal() *Local { return &Local{} }

// TryLock obtains the lock named key for ttl. It does not wait: if another
// unexpired lease holds key, it returns ErrNotObtained at once. It returns
// ErrInvalidTTL if ttl < MinTTL, and ctx.Err() if ctx has ended.
func (l *Local) TryLock(ctx context.Context, key string, ttl time.Duration, opts ...Option) (*Lease, error) {
	if err := CheckTTL(ttl); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg := l.config(opts)
	l.mu.Lock()
	g, _ := l.acquireLocked(key, ttl, cfg.Owner, time.Now())
	l.mu.Unlock()
	if g == nil {
		l.counters.Contended.Add(1)
		return nil, ErrNotObtained
	}
	return l.granted(ctx, g, ttl, cfg), nil
}

// config returns the Config of opts, with the Local's counters.
func (l *Local) config(opts []Option) Config {
	cfg := NewConfig(opts)
	cfg.Counters = &l.counters
	return cfg
}

// Stats returns a snapshot of the Local's counters and those of the leases
// it granted. It is cheap and safe to call concurrently.
func (l *Local) Stats() LockerStats { return l.counters.Stats() }

// Lock obtains the lock named key for ttl, waiting in line behind earlier
// callers until the holder releases it (woken at once) or its lease expires,
// or until ctx ends, when it returns ctx.Err(). It returns ErrInvalidTTL if
// ttl < MinTTL.
func (l *Local) Lock(ctx context.Context, key string, ttl time.Duration, opts ...Option) (*Lease, error) {
	if err := CheckTTL(ttl); err != nil {
		return nil, err
	}
	cfg := l.config(opts)
	waited := false
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		now := time.Now()
		l.mu.Lock()
		g, expires := l.acquireLocked(key, ttl, cfg.Owner, now)
		if g != nil {
			l.mu.Unlock()
			return l.granted(ctx, g, ttl, cfg), nil
		}
		if !waited {
			waited = true
			l.counters.Contended.Add(1)
		}
		w := &localWaiter{ch: make(chan *localGrant, 1), ttl: ttl, owner: cfg.Owner}
		k := l.keys[key]
		k.waiters = append(k.waiters, w)
		l.mu.Unlock()

		t := time.NewTimer(expires.Sub(now))
		select {
		case g := <-w.ch:
			t.Stop()
			return l.granted(ctx, g, ttl, cfg), nil
		case <-t.C:
			// The holder's lease expired without a release: try again.
			if g := l.leave(key, w); g != nil {
				return l.granted(ctx, g, ttl, cfg), nil
			}
		case <-ctx.Done():
			t.Stop()
			if g := l.leave(key, w); g != nil {
				// Handed the key while giving up: pass it on.
				g.Release(context.Background())
			}
			return nil, ctx.Err()
		}
	}
}

// granted counts g and returns its Lease.
func (l *Local) granted(ctx context.Context, g *localGrant, ttl time.Duration, cfg Config) *Lease {
	l.counters.Acquired.Add(1)
	return NewLease(ctx, g, g.key, g.token, ttl, g.start, cfg)
}

// Inspect returns the current holder of key, and false if none holds it. Its
// error is always nil.
func (l *Local) Inspect(_ context.Context, key string) (Holder, bool, error) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	k := l.keys[key]
	if k == nil || k.holder == nil || !now.Before(k.holder.expires) {
		return Holder{}, false, nil
	}
	g := k.holder
	return Holder{Owner: g.owner, Token: g.token, TTL: g.expires.Sub(now)}, true, nil
}

// acquireLocked grants key if it is free or its lease has expired; otherwise
// it returns nil and the holder's expiry. It requires l.mu to be held.
func (l *Local) acquireLocked(key string, ttl time.Duration, owner string, now time.Time) (*localGrant, time.Time) {
	if l.keys == nil {
		l.keys = make(map[string]*localKey)
	}
	k := l.keys[key]
	if k == nil {
		k = &localKey{}
		l.keys[key] = k
	}
	if h := k.holder; h != nil && now.Before(h.expires) {
		return nil, h.expires
	}
	k.holder = l.grantLocked(key, ttl, owner, now)
	return k.holder, time.Time{}
}

func (l *Local) grantLocked(key string, ttl time.Duration, owner string, now time.Time) *localGrant {
	l.token++
	return &localGrant{l: l, key: key, owner: owner, token: l.token, start: now, expires: now.Add(ttl)}
}

// leave takes w out of key's queue. If a grant was handed to w meanwhile,
// it returns it.
func (l *Local) leave(key string, w *localWaiter) *localGrant {
	l.mu.Lock()
	defer l.mu.Unlock()
	if k := l.keys[key]; k != nil {
		for i, x := range k.waiters {
			if x == w {
				k.waiters = append(k.waiters[:i], k.waiters[i+1:]...)
				break
			}
		}
	}
	select {
	case g := <-w.ch:
		return g
	default:
		return nil
	}
}

// Refresh implements Grant.
func (g *localGrant) Refresh(_ context.Context, ttl time.Duration) error {
	now := time.Now()
	g.l.mu.Lock()
	defer g.l.mu.Unlock()
	k := g.l.keys[g.key]
	if k == nil || k.holder != g || !now.Before(g.expires) {
		return ErrNotHeld
	}
	g.expires = now.Add(ttl)
	return nil
}

// Release implements Grant: it hands the key to the first waiter, if any.
func (g *localGrant) Release(_ context.Context) error {
	now := time.Now()
	l := g.l
	l.mu.Lock()
	defer l.mu.Unlock()
	k := l.keys[g.key]
	if k == nil || k.holder != g || !now.Before(g.expires) {
		return ErrNotHeld
	}
	if len(k.waiters) == 0 {
		delete(l.keys, g.key)
		return nil
	}
	w := k.waiters[0]
	k.waiters = k.waiters[1:]
	k.holder = l.grantLocked(g.key, w.ttl, w.owner, now)
	w.ch <- k.holder
	return nil
}
