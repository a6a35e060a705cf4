package lock

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// An Elector runs one candidate in a leader election on a Locker: the leader
// is the holder of an auto-renewed lease on the election's key, and its term
// is that lease's fencing token, so terms strictly increase. It is safe for
// concurrent use by multiple goroutines.
//
// Among live candidates at most one is leader at a time, as far as the lease
// guarantees it (see the package doc); a leader that crashes is replaced
// within its TTL plus the time a waiter takes to notice the expiry.
type Elector struct {
	l    Locker
	key  string
	name string
	ttl  time.Duration

	won, lost, errs atomic.Uint64

	mu       sync.Mutex
	lease    *Lease        // held while leader; guarded by mu
	stepDown func()        // ends the current term; guarded by mu
	over     chan struct{} // closed when the current term's lease is released; guarded by mu
}

// ElectorStats is a snapshot of an Elector's counters since it was created.
type ElectorStats struct {
	// Won counts terms the candidate began: each call of lead.
	Won uint64
	// Lost counts terms that ended because the lease was lost (its Done
	// closed before lead returned: a refresh failed or Expiry passed), not
	// by Resign or the end of Run's ctx.
	Lost uint64
	// Errors counts errors from the Locker that Run retried.
	Errors uint64
}

// Stats returns a snapshot of the Elector's counters. It is cheap and safe
// to call concurrently; the Locker's own Stats, if it has one, counts the
// leases.
func (e *Elector) Stats() ElectorStats {
	return ElectorStats{Won: e.won.Load(), Lost: e.lost.Load(), Errors: e.errs.Load()}
}

// NewElector returns a candidate called name for the election on key of
// locker, with leases of ttl. It does nothing until Run.
func NewElector(locker Locker, key, name string, ttl time.Duration) *Elector {
	return &Elector{l: locker, key: key, name: name, ttl: ttl}
}

// Run campaigns until ctx ends. Each time the candidate becomes leader it
// calls lead with the term and a context that ends when leadership ends,
// with context.Cause telling why: ErrNotHeld when the lease was lost (Done),
// ErrResigned after Resign, or ctx's own cause when ctx ends. lead must return
// soon after its context ends; when it returns, Run releases the lease and
// campaigns again. Errors from the Locker are retried every TTL/4. Run returns
// ctx.Err() when ctx ends, or ErrInvalidTTL at once.
func (e *Elector) Run(ctx context.Context, lead func(ctx context.Context, term uint64)) error {
	for {
		lease, err := e.l.Lock(ctx, e.key, e.ttl, WithAutoRenew(true), WithOwner(e.name))
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, ErrInvalidTTL) {
				return err
			}
			e.errs.Add(1)
			t := time.NewTimer(e.ttl / 4)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
			continue
		}
		if ctx.Err() != nil {
			// Obtained as ctx ended: do not start a term that is over.
			rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), e.ttl)
			lease.Release(rctx)
			rcancel()
			return ctx.Err()
		}
		lctx, cancel := context.WithCancelCause(ctx)
		over := make(chan struct{})
		e.mu.Lock()
		e.lease, e.stepDown, e.over = lease, func() { cancel(ErrResigned) }, over
		e.mu.Unlock()
		go func() {
			select {
			case <-lease.Done():
				cancel(ErrNotHeld)
			case <-lctx.Done():
			}
		}()
		e.won.Add(1)
		lead(lctx, lease.Token())
		cancel(nil)
		select {
		case <-lease.Done():
			if ctx.Err() == nil { // ending ctx cuts renewal short too
				e.lost.Add(1)
			}
		default:
		}

		// Release only once lead has returned, so that a resigning leader
		// has stopped before the next one starts.
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), e.ttl)
		lease.Release(rctx) // ErrNotHeld after a loss is expected; an error leaves expiry to the TTL.
		rcancel()
		e.mu.Lock()
		e.lease, e.stepDown, e.over = nil, nil, nil
		e.mu.Unlock()
		close(over)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// Term returns the candidate's term, and false if it is not the leader now.
func (e *Elector) Term() (uint64, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.lease == nil {
		return 0, false
	}
	select {
	case <-e.lease.Done():
		return 0, false
	default:
		return e.lease.Token(), true
	}
}

// Resign gives up leadership if the candidate holds it: it ends the context
// of lead, waits until lead has returned and Run has released the lease
// (handing it to the next candidate in line), and returns nil; Run then
// campaigns again. It returns nil at once if the candidate is not leader, and
// ctx.Err() if ctx ends first.
func (e *Elector) Resign(ctx context.Context) error {
	e.mu.Lock()
	stepDown, over := e.stepDown, e.over
	e.mu.Unlock()
	if stepDown == nil {
		return nil
	}
	stepDown()
	select {
	case <-over:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Leader returns the current leader's name (Holder.Owner) and term
// (Holder.Token) as the store sees them, and false if there is none. It
// returns errors.ErrUnsupported if the Locker is not an Inspector.
func (e *Elector) Leader(ctx context.Context) (Holder, bool, error) {
	in, ok := e.l.(Inspector)
	if !ok {
		return Holder{}, false, errors.ErrUnsupported
	}
	return in.Inspect(ctx, e.key)
}
