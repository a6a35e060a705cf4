package lock

import (
	"context"
	"errors"
	"time"
)

// A Locker hands out leases on keys: at most one unexpired Lease per key at a
// time, each with a fencing token larger than every earlier one for that key.
//
// Implementations are safe for concurrent use by multiple goroutines.
type Locker interface {
	// TryLock obtains the lock named key for ttl without waiting: if another
	// lease holds key it returns ErrNotObtained at once.
	TryLock(ctx context.Context, key string, ttl time.Duration, opts ...Option) (*Lease, error)
	// Lock obtains the lock named key for ttl, waiting until the holder
	// releases it or its lease expires, or until ctx ends.
	Lock(ctx context.Context, key string, ttl time.Duration, opts ...Option) (*Lease, error)
}

// An Inspector reports who holds a key. Local and the Redis Locker implement
// it; the Elector uses it to observe the leader.
type Inspector interface {
	// Inspect returns the current holder of key, and false if none holds it.
	Inspect(ctx context.Context, key string) (Holder, bool, error)
}

// A Holder describes the lease that holds a key, as seen by Inspect.
type Holder struct {
	// Owner is the label the holder gave with WithOwner, or "".
	Owner string
	// Token is the holder's fencing token.
	Token uint64
	// TTL is how long the lease has left, as the store sees it.
	TTL time.Duration
}

var (
	// ErrNotObtained is returned by TryLock when another lease holds the key.
	ErrNotObtained = errors.New("lock: not obtained")
	// ErrNotHeld is returned by Lease.Refresh and Lease.Release when the
	// lease has expired, was released, or was lost.
	ErrNotHeld = errors.New("lock: not held")
	// ErrInvalidTTL is returned by TryLock and Lock for a ttl below MinTTL.
	ErrInvalidTTL = errors.New("lock: ttl below lock.MinTTL")
	// ErrResigned is the cause (context.Cause) of the end of a leader's
	// context when Elector.Resign ended its term.
	ErrResigned = errors.New("lock: leader resigned")
)

// MinTTL is the shortest lease a Locker grants. Shorter leases could not
// outlast the drift margin (see Lease.Expiry).
const MinTTL = 10 * time.Millisecond

// RenewFraction sets how often an auto-renewed lease refreshes itself: every
// TTL/RenewFraction, a third of the TTL, so that a slow refresh still has
// about two thirds of the TTL to land before the lease's Expiry.
const RenewFraction = 3

// An Option configures one TryLock or Lock call.
type Option func(*Config)

// Config is the configuration that Options set. Backends read it with
// NewConfig; users never need it.
type Config struct {
	// AutoRenew is set by WithAutoRenew.
	AutoRenew bool
	// Owner is set by WithOwner.
	Owner string
	// Counters, when a Locker implementation sets it before NewLease,
	// receives the lease's refreshes, release and loss. No Option sets it.
	Counters *Counters
}

// NewConfig applies opts in order to a zero Config and returns it.
func NewConfig(opts []Option) Config {
	var c Config
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithAutoRenew makes the lease refresh itself in the background every third
// of its TTL (RenewFraction), in a goroutine that ends on Release, on loss of
// the lease, or when the ctx given to TryLock or Lock ends; the lease then
// runs out at its Expiry (a refresh cut short by ctx closes Done at once).
// Done closes as soon as a refresh fails, or when the lease's Expiry passes
// without a successful refresh. Default: false.
func WithAutoRenew(on bool) Option { return func(c *Config) { c.AutoRenew = on } }

// WithOwner labels the lease with owner, which Inspect reports (the Elector
// uses it to name the leader). Default: "".
func WithOwner(owner string) Option { return func(c *Config) { c.Owner = owner } }

// CheckTTL returns ErrInvalidTTL if ttl is below MinTTL. Backends call it
// before any I/O.
func CheckTTL(ttl time.Duration) error {
	if ttl < MinTTL {
		return ErrInvalidTTL
	}
	return nil
}
