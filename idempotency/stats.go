package idempotency

import (
	"errors"
	"sync/atomic"
)

// WithCounters makes Do or Middleware count what it did in c, whose Stats
// method reports it. Several calls and middlewares may share one Counters to
// be counted together. Default: nil, nothing is counted.
func WithCounters(c *Counters) Option { return func(cfg *config) { cfg.counters = c } }

// Counters counts what Do and Middleware, given it by WithCounters, did.
// Its zero value is ready to use; it must not be copied after first use. It
// is safe for concurrent use by multiple goroutines. Counting costs an
// atomic add per event, next to a store call that costs far more.
type Counters struct {
	n [numEvents]atomic.Uint64
}

type event int

const (
	evNone     event = -1 // nothing to count
	evExecuted event = iota - 1
	evReplayed
	evInProgress
	evWaits
	evMismatched
	evRejected
	evUnkeyed
	evReleased
	evExpired
	evStoreErrors
	numEvents
)

// count adds one to e; a nil Counters counts nothing.
func (c *Counters) count(e event) {
	if c != nil {
		c.n[e].Add(1)
	}
}

// settle counts the outcome err of a Complete (ok: evNone) or a Release
// (ok: evReleased) of an owned key.
func (c *Counters) settle(err error, ok event) {
	switch {
	case c == nil:
	case err == nil:
		if ok != evNone {
			c.count(ok)
		}
	case errors.Is(err, ErrNotHeld):
		c.count(evExpired)
	default:
		c.count(evStoreErrors)
	}
}

// Stats is a snapshot of a Counters, for monitoring. A request is one HTTP
// request through Middleware or one call of Do.
type Stats struct {
	// Executed counts the requests that owned their key and ran the handler
	// or fn: first attempts, and retries after a release or a lock expiry.
	Executed uint64
	// Replayed counts the requests answered with a stored result.
	Replayed uint64
	// InProgress counts the requests refused because another request held
	// the key: 409 Conflict from Middleware, ErrInProgress from Do with
	// WithWait(false).
	InProgress uint64
	// Waits counts the pauses of Do waiting for another request's result
	// (one request may pause several times). Middleware never waits.
	Waits uint64
	// Mismatched counts the requests whose key was used before with another
	// fingerprint: 422 Unprocessable Content from Middleware, ErrMismatch
	// from Do.
	Mismatched uint64
	// Rejected counts the requests refused for bad input before the store
	// was asked: from Middleware 400 Bad Request (a missing key with
	// WithRequired(true), a malformed or overlong key, an unreadable body)
	// and 413 Content Too Large; from Do ErrEmptyKey and ErrInvalidTTL.
	Rejected uint64
	// Unkeyed counts the requests Middleware passed to the handler without
	// an Idempotency-Key (methods it does not apply to are not counted).
	Unkeyed uint64
	// Released counts the executions whose key was released so that a retry
	// may run again: the handler panicked or answered 5xx (with
	// WithReleaseOnError(true)), or fn failed, panicked, or (Do) its result
	// could not be stored.
	Released uint64
	// Expired counts the executions that found their lock gone when they
	// completed or released (ErrNotHeld): the work outlived the lock TTL,
	// and another request may have run it again. Raise WithLockTTL.
	Expired uint64
	// StoreErrors counts the failures of the store: a failed Begin (503
	// from Middleware, including ErrFull; an error from Do, including the
	// context's when it ended during the call), a failed Complete or Release
	// (other than ErrNotHeld), a stored result that would not decode, and
	// for Do a result too large to store (ErrTooLarge).
	StoreErrors uint64
}

// Stats returns a snapshot of the counters. Each field is read atomically,
// but not all at one instant.
func (c *Counters) Stats() Stats {
	return Stats{
		Executed:    c.n[evExecuted].Load(),
		Replayed:    c.n[evReplayed].Load(),
		InProgress:  c.n[evInProgress].Load(),
		Waits:       c.n[evWaits].Load(),
		Mismatched:  c.n[evMismatched].Load(),
		Rejected:    c.n[evRejected].Load(),
		Unkeyed:     c.n[evUnkeyed].Load(),
		Released:    c.n[evReleased].Load(),
		Expired:     c.n[evExpired].Load(),
		StoreErrors: c.n[evStoreErrors].Load(),
	}
}

// countBegin counts a Begin that did not give the caller the key.
func (c *Counters) countBegin(err error) {
	switch {
	case c == nil:
	case errors.Is(err, ErrInProgress):
		c.count(evInProgress)
	case errors.Is(err, ErrMismatch):
		c.count(evMismatched)
	case errors.Is(err, ErrEmptyKey), errors.Is(err, ErrInvalidTTL):
		c.count(evRejected)
	default:
		c.count(evStoreErrors)
	}
}
