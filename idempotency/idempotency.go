package idempotency

import (
	"context"
	"errors"
	"time"
)

// MaxResultSize is the largest result, in bytes, that every Store accepts.
// Complete returns ErrTooLarge for a larger one.
const MaxResultSize = 1 << 20

// A Store records idempotency keys: who owns each key while its work runs,
// and the result once the work completed.
//
// Implementations are safe for concurrent use by multiple goroutines.
type Store interface {
	// Begin starts work on key for a request with the given fingerprint.
	// If key is unknown (or its record expired), the caller owns it for
	// lockTTL and the Claim carries a nonzero Token. If key completed with
	// the same fingerprint, the Claim is Done and carries the stored Result,
	// which the caller must not modify. Otherwise Begin returns ErrMismatch
	// when key was begun with a different fingerprint, ErrInProgress when
	// another owner holds it, ErrEmptyKey or ErrInvalidTTL for bad input.
	Begin(ctx context.Context, key, fingerprint string, lockTTL time.Duration) (Claim, error)

	// Complete stores result for key and keeps it for retention. It returns
	// ErrNotHeld unless token owns key now (a lock TTL passed, or key was
	// completed or released), ErrTooLarge when result is longer than
	// MaxResultSize (key stays held), ErrEmptyKey or ErrInvalidTTL. The
	// store may keep result: the caller must not modify it afterwards.
	Complete(ctx context.Context, key string, token uint64, result []byte, retention time.Duration) error

	// Release gives up ownership of key without a result, so that a retry
	// may run the work again. It returns ErrNotHeld unless token owns key
	// now, or ErrEmptyKey.
	Release(ctx context.Context, key string, token uint64) error
}

// A Claim is what Begin learned about a key: either the caller owns it
// (Token is nonzero) or it completed (Done is true and Result holds the
// stored result).
type Claim struct {
	// Token fences the caller's ownership; pass it to Complete or Release.
	// It is zero unless the caller owns the key.
	Token uint64
	// Done reports that the key completed earlier.
	Done bool
	// Result is the stored result of a completed key. The caller must not
	// modify it.
	Result []byte
}

// Owned reports whether the caller owns the key, that is c.Token != 0.
func (c Claim) Owned() bool { return c.Token != 0 }

var (
	// ErrInProgress is returned by Begin when another owner holds the key.
	ErrInProgress = errors.New("idempotency: in progress")
	// ErrMismatch is returned by Begin when the key was used with a
	// different fingerprint.
	ErrMismatch = errors.New("idempotency: key reused with a different fingerprint")
	// ErrNotHeld is returned by Complete and Release when the token does not
	// own the key (any more).
	ErrNotHeld = errors.New("idempotency: not held")
	// ErrEmptyKey is returned for an empty key.
	ErrEmptyKey = errors.New("idempotency: empty key")
	// ErrInvalidTTL is returned for a lock TTL or retention that is not
	// positive.
	ErrInvalidTTL = errors.New("idempotency: ttl must be positive")
	// ErrTooLarge is returned by Complete for a result longer than
	// MaxResultSize.
	ErrTooLarge = errors.New("idempotency: result too large")
	// ErrFull is returned by Local.Begin when every record is in progress
	// and none can be evicted.
	ErrFull = errors.New("idempotency: store full")
)
