package lock

import (
	"context"
	"errors"
	"sync"
	"time"
)

// A Grant is a backend's handle on one granted lease. A Locker implementation
// passes one to NewLease; users of a Locker never call it. Lease serialises
// nothing: a Grant must be safe for concurrent use.
type Grant interface {
	// Refresh extends the grant to ttl from now if it still holds its key,
	// and returns ErrNotHeld if it does not.
	Refresh(ctx context.Context, ttl time.Duration) error
	// Release ends the grant if it still holds its key (handing the key to
	// the next waiter, if any), and returns ErrNotHeld if it does not.
	Release(ctx context.Context) error
}

type leaseState uint8

const (
	held     leaseState = iota
	lost                // Done closed: expired, refresh failed, or Release called
	released            // Release succeeded or the store said not held
)

// A Lease is the right to act as the only holder of a key until it expires.
// It is safe for concurrent use by multiple goroutines.
//
// The store expires a lease TTL after granting it unless it is refreshed; the
// holder cannot see that moment exactly, so the Lease counts its own Expiry
// from before the request that obtained it, less a drift margin, and closes
// Done when Expiry passes without a refresh. Work done under the lease should
// pass Token to whatever it writes, so that a stale holder is refused there.
type Lease struct {
	g        Grant
	key      string
	token    uint64
	ttl      time.Duration
	counters *Counters // nil if the Locker keeps none

	mu          sync.Mutex
	until       time.Time     // local expiry; guarded by mu
	state       leaseState    // guarded by mu
	lossCounted bool          // the loss is in counters; guarded by mu
	done        chan struct{} // made by the first Done call; guarded by mu
	timer       *time.Timer   // closes done at until; guarded by mu
	stop        chan struct{} // closed to stop renewal, nil without it; guarded by mu
}

// Margin returns the drift margin of a lease of ttl: 1% of ttl plus 2ms, the
// allowance for the local clock running slower than the store's.
func Margin(ttl time.Duration) time.Duration { return ttl/100 + 2*time.Millisecond }

// NewLease returns the Lease for a grant of key with token, obtained for ttl
// by a request sent at start. Locker implementations call it; it starts the
// renewal goroutine when cfg.AutoRenew is set, which ends on Release, on loss
// of the lease, or when ctx ends. The lease counts its refreshes, release
// and loss in cfg.Counters if that is set.
func NewLease(ctx context.Context, g Grant, key string, token uint64, ttl time.Duration, start time.Time, cfg Config) *Lease {
	l := &Lease{g: g, key: key, token: token, ttl: ttl, counters: cfg.Counters, until: start.Add(ttl - Margin(ttl))}
	if cfg.AutoRenew {
		l.stop = make(chan struct{})
		go l.renew(ctx, l.stop)
	}
	return l
}

// Key returns the key the lease holds.
func (l *Lease) Key() string { return l.key }

// Token returns the lease's fencing token: larger than the token of every
// earlier lease on the same key, from any holder in any process.
func (l *Lease) Token() uint64 { return l.token }

// TTL returns the duration the lease was obtained for; each refresh extends
// it to TTL from the refresh.
func (l *Lease) TTL() time.Duration { return l.ttl }

// Expiry returns the local time until which the holder can be sure of the
// lease: the start of the last successful request (acquire or refresh) plus
// TTL minus Margin(TTL). The store expires the lease no earlier.
func (l *Lease) Expiry() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.until
}

// Done returns a channel closed when the holder can no longer be sure of the
// lease: Expiry passed without a refresh, a refresh failed, or Release was
// called.
func (l *Lease) Done() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done == nil {
		l.done = make(chan struct{})
		if l.state != held {
			close(l.done)
		} else {
			l.timer = time.AfterFunc(time.Until(l.until), l.expire)
		}
	}
	return l.done
}

// Refresh extends the lease to TTL from now. It returns ErrNotHeld if the
// lease expired, was released or was lost, and otherwise a wrapped error from
// the store. Any failure closes Done: after it the holder cannot be sure.
func (l *Lease) Refresh(ctx context.Context) error {
	start := time.Now()
	l.mu.Lock()
	if l.state != held || !start.Before(l.until) {
		l.loseLocked()
		l.mu.Unlock()
		l.counters.refresh(ctx, ErrNotHeld)
		return ErrNotHeld
	}
	l.mu.Unlock()
	err := l.g.Refresh(ctx, l.ttl)
	l.mu.Lock()
	if err == nil && l.state != held {
		// Expiry passed while the refresh was on its way and Done is closed;
		// a closed Done is never reopened.
		err = ErrNotHeld
	}
	if err != nil {
		l.loseLocked()
	} else if u := start.Add(l.ttl - Margin(l.ttl)); u.After(l.until) {
		l.until = u
		if l.timer != nil {
			l.timer.Reset(time.Until(u))
		}
	}
	l.mu.Unlock()
	l.counters.refresh(ctx, err)
	return err
}

// Release gives the lease up, handing the key to the next waiter if any. It
// returns ErrNotHeld if the lease was already released, or the store no
// longer holds it for this lease (it expired, perhaps taken by another), and
// otherwise a wrapped error from the store, after which Release may be
// retried. Release closes Done and stops auto-renewal in every case.
func (l *Lease) Release(ctx context.Context) error {
	l.mu.Lock()
	if l.state == released {
		l.mu.Unlock()
		return ErrNotHeld
	}
	l.endLocked()
	l.mu.Unlock()
	err := l.g.Release(ctx)
	if notHeld := errors.Is(err, ErrNotHeld); err == nil || notHeld {
		l.mu.Lock()
		l.state = released
		if notHeld {
			l.countLossLocked()
		}
		l.mu.Unlock()
	}
	l.counters.release(ctx, err)
	return err
}

// expire closes Done if the lease's expiry has passed, else rearms the timer.
func (l *Lease) expire() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state != held {
		return
	}
	if d := time.Until(l.until); d > 0 {
		l.timer.Reset(d)
		return
	}
	l.loseLocked()
}

// loseLocked marks a held lease lost and counts it so. It requires l.mu to
// be held.
func (l *Lease) loseLocked() {
	if l.state == held {
		l.endLocked()
		l.countLossLocked()
	}
}

// countLossLocked counts the lease lost, once. It requires l.mu to be held.
func (l *Lease) countLossLocked() {
	if !l.lossCounted {
		l.lossCounted = true
		l.counters.loss()
	}
}

// endLocked closes Done and stops auto-renewal of a held lease, which is
// then lost until Release marks it released. It requires l.mu to be held.
func (l *Lease) endLocked() {
	if l.state != held {
		return
	}
	l.state = lost
	if l.done != nil {
		close(l.done)
	}
	if l.timer != nil {
		l.timer.Stop()
	}
	if l.stop != nil {
		close(l.stop)
	}
}

// renew refreshes the lease every TTL/RenewFraction until stop closes or ctx
// ends. Each refresh may take until Expiry; a refresh that fails closes Done.
func (l *Lease) renew(ctx context.Context, stop <-chan struct{}) {
	t := time.NewTimer(l.ttl / RenewFraction)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rctx, cancel := context.WithDeadline(ctx, l.Expiry())
		err := l.Refresh(rctx)
		cancel()
		if err != nil {
			return
		}
		t.Reset(l.ttl / RenewFraction)
	}
}
