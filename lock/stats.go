package lock

import (
	"context"
	"errors"
	"sync/atomic"
)

// LockerStats is a snapshot of the counters of a Locker and of the leases it
// granted, since the Locker was created. Local and the Redis Locker return
// one from Stats.
type LockerStats struct {
	// Acquired counts leases granted by TryLock and Lock.
	Acquired uint64
	// Contended counts TryLock calls that returned ErrNotObtained and Lock
	// calls that found the key held and had to wait (once per call, whether
	// they obtained the lease in the end or not).
	Contended uint64
	// Released counts Lease.Release calls that returned nil: the lease was
	// held until then and is given up.
	Released uint64
	// Refreshed counts Lease.Refresh calls that returned nil, those of
	// auto-renewal included.
	Refreshed uint64
	// RefreshFailed counts Lease.Refresh calls that returned an error, those
	// of auto-renewal included: the lease was no longer held, or the store
	// failed or did not answer in time (an auto-renewal cut short because
	// the ctx given to TryLock or Lock ended counts too).
	RefreshFailed uint64
	// Lost counts leases their holder lost before releasing them: Done
	// closed because Expiry passed without a refresh or a refresh failed, or
	// Release found that the store no longer held the lease (it expired,
	// perhaps taken by another). Each lease counts at most once.
	Lost uint64
	// Errors counts calls (TryLock, Lock, Inspect, Lease.Refresh,
	// Lease.Release) that failed with an error from the store while their
	// ctx had not ended: a transport or server error. Calls cut short by
	// their ctx and the sentinel errors are not counted, so a store that
	// does not answer before a ctx deadline shows in RefreshFailed and Lost
	// rather than here. A Local never fails: its Errors stays 0.
	Errors uint64
}

// Counters records the events that make up a Locker's LockerStats. A Locker
// implementation keeps one (its zero value is ready to use), adds to
// Acquired, Contended and Errors as its TryLock, Lock and Inspect see them,
// and passes it to every Lease it grants in Config.Counters; the Lease
// counts the rest. Users of a Locker never need it. It is safe for concurrent
// use by multiple goroutines.
type Counters struct {
	// Acquired, Contended and Errors are counted by the Locker, as
	// LockerStats describes them.
	Acquired, Contended, Errors atomic.Uint64
	// The rest are counted by the leases.
	released, refreshed, refreshFailed, lost atomic.Uint64
}

// Stats returns a snapshot of c.
func (c *Counters) Stats() LockerStats {
	return LockerStats{
		Acquired:      c.Acquired.Load(),
		Contended:     c.Contended.Load(),
		Released:      c.released.Load(),
		Refreshed:     c.refreshed.Load(),
		RefreshFailed: c.refreshFailed.Load(),
		Lost:          c.lost.Load(),
		Errors:        c.Errors.Load(),
	}
}

// refresh counts the outcome of a Lease.Refresh called with ctx.
func (c *Counters) refresh(ctx context.Context, err error) {
	if c == nil {
		return
	}
	if err == nil {
		c.refreshed.Add(1)
		return
	}
	c.refreshFailed.Add(1)
	c.storeError(ctx, err)
}

// release counts the outcome of a Lease.Release called with ctx; a lost
// lease is counted by the Lease itself.
func (c *Counters) release(ctx context.Context, err error) {
	switch {
	case c == nil:
	case err == nil:
		c.released.Add(1)
	default:
		c.storeError(ctx, err)
	}
}

// loss counts a lease lost before its release.
func (c *Counters) loss() {
	if c != nil {
		c.lost.Add(1)
	}
}

// storeError counts err if it came from the store while ctx was live.
func (c *Counters) storeError(ctx context.Context, err error) {
	if !errors.Is(err, ErrNotHeld) && ctx.Err() == nil {
		c.Errors.Add(1)
	}
}
