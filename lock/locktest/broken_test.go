package locktest_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/distkit/distkit/internal/suitetest"
	"github.com/distkit/distkit/lock"
	"github.com/distkit/distkit/lock/locktest"
)

// A variant is a Locker that breaks one promise, and the subtests of the
// suite that must catch it.
type variant struct {
	name string
	wrap func(*lock.Local) lock.Locker
	opts []locktest.Option
	fail []string
}

var variants = []variant{
	{
		name: "never-excludes",
		wrap: func(l *lock.Local) lock.Locker { return neverExcludes{l} },
		opts: []locktest.Option{locktest.WithCounter(newRendezvous)},
		fail: []string{"TryLockExcludes", "ReleaseOnlyOnce", "LockWokenOnRelease", "LockCancelled",
			"ExclusionAndTokens", "ExpiredHolderLoses", "AutoRenew", "Inspect"},
	},
	{
		name: "keys-collide",
		wrap: func(l *lock.Local) lock.Locker { return oneKey{l} },
		fail: []string{"TryLockExcludes"},
	},
	{
		name: "ttl-not-checked",
		wrap: func(l *lock.Local) lock.Locker { return ttlNotChecked{l} },
		fail: []string{"InvalidTTL"},
	},
	{
		name: "lock-does-not-wait",
		wrap: func(l *lock.Local) lock.Locker { return noWait{l} },
		fail: []string{"LockWokenOnRelease", "LockCancelled"},
	},
	{
		name: "lock-ignores-cancel",
		wrap: func(l *lock.Local) lock.Locker { return ignoresCancel{l} },
		fail: []string{"LockCancelled"},
	},
	{
		name: "store-down",
		wrap: func(*lock.Local) lock.Locker { return down{} },
		fail: []string{"TryLockExcludes", "InvalidTTL", "ReleaseOnlyOnce", "LockWokenOnRelease", "LockCancelled",
			"ExclusionAndTokens", "ExpiredHolderLoses", "AutoRenew", "AutoRenewStopsWithContext", "Inspect"},
	},
	{
		name: "tokens-do-not-increase",
		wrap: relayed(func(p *parts) { p.token = 1 }),
		fail: []string{"TryLockExcludes", "LockWokenOnRelease", "ExclusionAndTokens", "ExpiredHolderLoses"},
	},
	{
		name: "expiry-past-the-ttl",
		wrap: relayed(func(p *parts) { p.ttl *= 2 }),
		fail: []string{"TryLockExcludes", "ExpiredHolderLoses"},
	},
	{
		name: "lease-born-expired",
		wrap: relayed(func(p *parts) { p.start = p.start.Add(-time.Hour) }),
		fail: []string{"TryLockExcludes", "AutoRenew"},
	},
	{
		name: "refresh-does-nothing",
		wrap: relayed(func(p *parts) { p.grant = refreshNoop{p.grant} }),
		fail: []string{"AutoRenew"},
	},
	{
		name: "release-keeps-key",
		wrap: relayed(func(p *parts) { p.grant = releaseNoop{p.grant} }),
		fail: []string{"TryLockExcludes", "ReleaseOnlyOnce", "LockWokenOnRelease", "LockCancelled",
			"ExclusionAndTokens", "ExpiredHolderLoses", "AutoRenew", "Inspect"},
	},
	{
		name: "release-fails",
		wrap: relayed(func(p *parts) { p.grant = releaseFails{p.grant} }),
		fail: []string{"TryLockExcludes", "ReleaseOnlyOnce", "LockWokenOnRelease", "LockCancelled",
			"ExclusionAndTokens", "ExpiredHolderLoses", "AutoRenew", "Inspect"},
	},
	{
		name: "release-not-fenced",
		wrap: relayed(func(p *parts) { p.grant = releaseLatest{p.grant, p.latest} }),
		fail: []string{"TryLockExcludes", "ExpiredHolderLoses"},
	},
}

// TestBrokenLockers runs the suite against each variant in a child process
// and checks that it fails where it should.
func TestBrokenLockers(t *testing.T) {
	var cases []suitetest.Case
	for _, v := range variants {
		cases = append(cases, suitetest.Case{Name: v.name, Fail: v.fail, Suite: func(t *testing.T) {
			// A small exclusion test keeps the child short.
			opts := append([]locktest.Option{locktest.WithLoad(2, 2, 5)}, v.opts...)
			locktest.Run(t, perSubtest(v.wrap), opts...)
		}})
	}
	suitetest.Run(t, cases...)
}

// perSubtest returns the suite's newLocker: the Lockers of one subtest share
// one Local, wrapped by wrap.
func perSubtest(wrap func(*lock.Local) lock.Locker) func(*testing.T) lock.Locker {
	var mu sync.Mutex
	lockers := map[string]lock.Locker{}
	return func(t *testing.T) lock.Locker {
		mu.Lock()
		defer mu.Unlock()
		if lockers[t.Name()] == nil {
			lockers[t.Name()] = wrap(lock.NewLocal())
		}
		return lockers[t.Name()]
	}
}

var errDown = errors.New("store unavailable")

// down is a Locker whose store cannot be reached.
type down struct{}

func (down) TryLock(context.Context, string, time.Duration, ...lock.Option) (*lock.Lease, error) {
	return nil, errDown
}

func (down) Lock(context.Context, string, time.Duration, ...lock.Option) (*lock.Lease, error) {
	return nil, errDown
}

func (down) Inspect(context.Context, string) (lock.Holder, bool, error) {
	return lock.Holder{}, false, errDown
}

var calls atomic.Int64

// neverExcludes locks a new key on every call.
type neverExcludes struct{ *lock.Local }

func (l neverExcludes) TryLock(ctx context.Context, key string, ttl time.Duration, opts ...lock.Option) (*lock.Lease, error) {
	return l.Local.TryLock(ctx, fmt.Sprint(key, "#", calls.Add(1)), ttl, opts...)
}

func (l neverExcludes) Lock(ctx context.Context, key string, ttl time.Duration, opts ...lock.Option) (*lock.Lease, error) {
	return l.Local.Lock(ctx, fmt.Sprint(key, "#", calls.Add(1)), ttl, opts...)
}

// oneKey locks every key under one name, as a store whose keys collide.
type oneKey struct{ *lock.Local }

func (l oneKey) TryLock(ctx context.Context, _ string, ttl time.Duration, opts ...lock.Option) (*lock.Lease, error) {
	return l.Local.TryLock(ctx, "one", ttl, opts...)
}

func (l oneKey) Lock(ctx context.Context, _ string, ttl time.Duration, opts ...lock.Option) (*lock.Lease, error) {
	return l.Local.Lock(ctx, "one", ttl, opts...)
}

func (l oneKey) Inspect(ctx context.Context, _ string) (lock.Holder, bool, error) {
	return l.Local.Inspect(ctx, "one")
}

// ttlNotChecked grants a TTL below lock.MinTTL instead of refusing it.
type ttlNotChecked struct{ *lock.Local }

func (l ttlNotChecked) TryLock(ctx context.Context, key string, ttl time.Duration, opts ...lock.Option) (*lock.Lease, error) {
	return l.Local.TryLock(ctx, key, max(ttl, lock.MinTTL), opts...)
}

func (l ttlNotChecked) Lock(ctx context.Context, key string, ttl time.Duration, opts ...lock.Option) (*lock.Lease, error) {
	return l.Local.Lock(ctx, key, max(ttl, lock.MinTTL), opts...)
}

// noWait's Lock gives up at once when the key is held, as TryLock does.
type noWait struct{ *lock.Local }

func (l noWait) Lock(ctx context.Context, key string, ttl time.Duration, opts ...lock.Option) (*lock.Lease, error) {
	return l.TryLock(ctx, key, ttl, opts...)
}

// ignoresCancel's Lock waits out its own 300ms timeout whatever happens to
// ctx. It is no lock.Inspector.
type ignoresCancel struct{ lock.Locker }

func (l ignoresCancel) Lock(ctx context.Context, key string, ttl time.Duration, opts ...lock.Option) (*lock.Lease, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 300*time.Millisecond)
	defer cancel()
	return l.Locker.Lock(ctx, key, ttl, opts...)
}

// parts are what a relayed Locker makes each of its Leases of.
type parts struct {
	grant  lock.Grant // passes Refresh and Release on to the Local's lease
	token  uint64
	ttl    time.Duration
	start  time.Time
	latest *atomic.Pointer[lock.Lease] // the Local's latest lease, of any key
}

// relayed returns a wrap for a Locker over a Local that hands out Leases of
// its own, made by lock.NewLease over the Local's leases, so that edit can
// break one part of them.
func relayed(edit func(*parts)) func(*lock.Local) lock.Locker {
	return func(l *lock.Local) lock.Locker { return relay{l, edit, new(atomic.Pointer[lock.Lease])} }
}

type relay struct {
	local  *lock.Local
	edit   func(*parts)
	latest *atomic.Pointer[lock.Lease]
}

func (r relay) TryLock(ctx context.Context, key string, ttl time.Duration, opts ...lock.Option) (*lock.Lease, error) {
	in, err := r.local.TryLock(ctx, key, ttl, noRenew(opts)...)
	return r.lease(ctx, in, err, opts)
}

// Lock gives up after half a second, so that a variant that keeps keys held
// does not hang the suite.
func (r relay) Lock(ctx context.Context, key string, ttl time.Duration, opts ...lock.Option) (*lock.Lease, error) {
	wait, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	in, err := r.local.Lock(wait, key, ttl, noRenew(opts)...)
	return r.lease(ctx, in, err, opts)
}

func (r relay) Inspect(ctx context.Context, key string) (lock.Holder, bool, error) {
	return r.local.Inspect(ctx, key)
}

// lease returns the Lease that relays to in, edited.
func (r relay) lease(ctx context.Context, in *lock.Lease, err error, opts []lock.Option) (*lock.Lease, error) {
	if err != nil {
		return nil, err
	}
	r.latest.Store(in)
	ttl := in.TTL()
	p := parts{grant: grant{in}, token: in.Token(), ttl: ttl, start: in.Expiry().Add(lock.Margin(ttl) - ttl), latest: r.latest}
	r.edit(&p)
	return lock.NewLease(ctx, p.grant, in.Key(), p.token, p.ttl, p.start, lock.NewConfig(opts)), nil
}

// noRenew leaves the renewal to the relayed Lease.
func noRenew(opts []lock.Option) []lock.Option {
	return append(opts[:len(opts):len(opts)], lock.WithAutoRenew(false))
}

// grant is the Grant of a relayed Lease.
type grant struct{ in *lock.Lease }

func (g grant) Refresh(ctx context.Context, _ time.Duration) error { return g.in.Refresh(ctx) }
func (g grant) Release(ctx context.Context) error                  { return g.in.Release(ctx) }

type refreshNoop struct{ lock.Grant }

func (refreshNoop) Refresh(context.Context, time.Duration) error { return nil }

type releaseNoop struct{ lock.Grant }

func (releaseNoop) Release(context.Context) error { return nil }

type releaseFails struct{ lock.Grant }

func (releaseFails) Release(context.Context) error { return errDown }

// releaseLatest releases whichever lease was granted last, as a store that
// deletes the key without checking who holds it.
type releaseLatest struct {
	lock.Grant
	latest *atomic.Pointer[lock.Lease]
}

func (g releaseLatest) Release(ctx context.Context) error { return g.latest.Load().Release(ctx) }

// rendezvous is a Counter whose first Get, after reading, waits up to a
// second for a second Get: a Locker that does not exclude lets one in, and
// both then write back what they read.
type rendezvous struct {
	n      atomic.Int64
	gets   atomic.Int64
	second chan struct{}
}

func newRendezvous(*testing.T) locktest.Counter { return &rendezvous{second: make(chan struct{})} }

func (r *rendezvous) Get(context.Context) (int, error) {
	n := r.n.Load()
	switch r.gets.Add(1) {
	case 1:
		select {
		case <-r.second:
		case <-time.After(time.Second):
		}
	case 2:
		close(r.second)
	}
	return int(n), nil
}

func (r *rendezvous) Set(_ context.Context, n int) error { r.n.Store(int64(n)); return nil }
