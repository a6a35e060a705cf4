package idempotency

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// DefaultCapacity is the number of records a Local holds unless
// WithCapacity says otherwise.
const DefaultCapacity = 100_000

// A LocalOption configures a Local.
type LocalOption func(*Local)

// WithCapacity sets the most records a Local holds. Default: DefaultCapacity.
// NewLocal panics if n < 1.
func WithCapacity(n int) LocalOption { return func(l *Local) { l.capacity = n } }

var _ Store = (*Local)(nil)

// A Local is an in-memory Store for the goroutines of one process, and for
// tests. It is safe for concurrent use by multiple goroutines.
//
// A Local holds at most its capacity of records. Expired records are removed
// lazily: each Begin removes a few from the front of two expiry heaps, so no
// call stops the world to sweep. When a new key finds the Local full of live
// records, the completed record closest to its expiry is evicted; records in
// progress are never evicted, and when all records are in progress Begin
// returns ErrFull. Each call costs O(log n) in the number of records.
type Local struct {
	capacity int

	mu      sync.Mutex
	records map[string]*record // guarded by mu
	running expiryHeap         // records in progress, by lock expiry; guarded by mu
	done    expiryHeap         // completed records, by retention expiry; guarded by mu
	tokens  uint64             // last token handed out; guarded by mu

	// Counters for Stats; guarded by mu.
	evicted, full, lockExpired uint64
}

// LocalStats is a snapshot of a Local's records and counters, for
// monitoring.
type LocalStats struct {
	// Records is how many records the Local holds now, as Len reports.
	Records int
	// InProgress is how many of them are owned by work that has not
	// completed, expired ones not yet removed included.
	InProgress int
	// Evicted counts the completed records removed before their retention
	// ended, to make room for a new key at the capacity. A replay of an
	// evicted key runs the work again: a steady rise means WithCapacity is
	// too low for the retention.
	Evicted uint64
	// Full counts the Begin calls refused with ErrFull: every record was in
	// progress and none could be evicted.
	Full uint64
	// LockExpired counts the records in progress removed because their lock
	// TTL passed: their owner died, or outlived the lock TTL.
	LockExpired uint64
}

// Stats returns a snapshot of the Local's records and counters. It takes the
// lock every call takes, and costs O(1).
func (l *Local) Stats() LocalStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return LocalStats{
		Records:     len(l.records),
		InProgress:  len(l.running),
		Evicted:     l.evicted,
		Full:        l.full,
		LockExpired: l.lockExpired,
	}
}

type record struct {
	key         string
	fingerprint string
	token       uint64 // owner while in progress
	done        bool
	result      []byte
	expires     int64 // unix nanoseconds
	index       int   // in running or done
}

// NewLocal returns an empty Local. It panics if WithCapacity is given n < 1.
func NewLocal(opts ...LocalOption) *Local {
	l := &Local{capacity: DefaultCapacity}
	for _, o := range opts {
		o(l)
	}
	if l.capacity < 1 {
		panic("idempotency: capacity must be at least 1")
	}
	l.records = make(map[string]*record)
	return l
}

// Len returns the number of records held, including expired ones not yet
// removed.
func (l *Local) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.records)
}

// Begin is shorthand for BeginAt(time.Now(), ...). Its error is ctx.Err()
// when ctx is done, and otherwise as for BeginAt.
func (l *Local) Begin(ctx context.Context, key, fingerprint string, lockTTL time.Duration) (Claim, error) {
	if err := ctx.Err(); err != nil {
		return Claim{}, err
	}
	return l.BeginAt(time.Now(), key, fingerprint, lockTTL)
}

// Complete is shorthand for CompleteAt(time.Now(), ...). Its error is
// ctx.Err() when ctx is done, and otherwise as for CompleteAt.
func (l *Local) Complete(ctx context.Context, key string, token uint64, result []byte, retention time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return l.CompleteAt(time.Now(), key, token, result, retention)
}

// Release is shorthand for ReleaseAt(time.Now(), ...). Its error is ctx.Err()
// when ctx is done, and otherwise as for ReleaseAt.
func (l *Local) Release(ctx context.Context, key string, token uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return l.ReleaseAt(time.Now(), key, token)
}

// BeginAt is Store.Begin at the instant now. Besides the errors of
// Store.Begin it returns ErrFull when key is new and every record held is in
// progress. It does not allocate unless key is new.
func (l *Local) BeginAt(now time.Time, key, fingerprint string, lockTTL time.Duration) (Claim, error) {
	if key == "" {
		return Claim{}, ErrEmptyKey
	}
	if lockTTL <= 0 {
		return Claim{}, ErrInvalidTTL
	}
	t := now.UnixNano()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.expire(t, 2)
	r := l.live(key, t)
	if r != nil {
		switch {
		case r.fingerprint != fingerprint:
			return Claim{}, ErrMismatch
		case r.done:
			return Claim{Done: true, Result: r.result}, nil
		default:
			return Claim{}, ErrInProgress
		}
	}
	if len(l.records) >= l.capacity && !l.makeRoom(t) {
		l.full++
		return Claim{}, ErrFull
	}
	l.tokens++
	r = &record{key: key, fingerprint: fingerprint, token: l.tokens, expires: t + int64(lockTTL)}
	l.records[key] = r
	heap.Push(&l.running, r)
	return Claim{Token: r.token}, nil
}

// CompleteAt is Store.Complete at the instant now.
func (l *Local) CompleteAt(now time.Time, key string, token uint64, result []byte, retention time.Duration) error {
	if key == "" {
		return ErrEmptyKey
	}
	if retention <= 0 {
		return ErrInvalidTTL
	}
	t := now.UnixNano()
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.live(key, t)
	if r == nil || r.done || token == 0 || r.token != token {
		return ErrNotHeld
	}
	if len(result) > MaxResultSize {
		return ErrTooLarge
	}
	heap.Remove(&l.running, r.index)
	r.done, r.token, r.result, r.expires = true, 0, result, t+int64(retention)
	heap.Push(&l.done, r)
	return nil
}

// ReleaseAt is Store.Release at the instant now.
func (l *Local) ReleaseAt(now time.Time, key string, token uint64) error {
	if key == "" {
		return ErrEmptyKey
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.live(key, now.UnixNano())
	if r == nil || r.done || token == 0 || r.token != token {
		return ErrNotHeld
	}
	heap.Remove(&l.running, r.index)
	delete(l.records, key)
	return nil
}

// live returns key's record unless it is missing or expired at t, removing
// an expired one. It requires l.mu to be held.
func (l *Local) live(key string, t int64) *record {
	r := l.records[key]
	if r == nil {
		return nil
	}
	if r.expires <= t {
		l.expireRecord(r)
		return nil
	}
	return r
}

// remove drops r from the records and its heap. It requires l.mu to be held.
func (l *Local) remove(r *record) {
	if r.done {
		heap.Remove(&l.done, r.index)
	} else {
		heap.Remove(&l.running, r.index)
	}
	delete(l.records, r.key)
}

// expire removes up to n records of each heap that expired at t; bounding n
// keeps every call short while records still leave about as fast as they
// come. It requires l.mu to be held.
func (l *Local) expire(t int64, n int) (removed int) {
	for _, h := range [...]*expiryHeap{&l.running, &l.done} {
		for i := 0; i < n && len(*h) > 0 && (*h)[0].expires <= t; i++ {
			l.expireRecord((*h)[0])
			removed++
		}
	}
	return removed
}

// makeRoom frees one record at t: an expired one if any, else the completed
// record that expires first. It reports false when only records in progress
// remain. It requires l.mu to be held.
func (l *Local) makeRoom(t int64) bool {
	if l.expire(t, 1) > 0 {
		return true
	}
	if len(l.done) == 0 {
		return false
	}
	l.remove(l.done[0])
	l.evicted++
	return true
}

// expireRecord removes r, whose expiry has passed. It requires l.mu to be
// held.
func (l *Local) expireRecord(r *record) {
	if !r.done {
		l.lockExpired++
	}
	l.remove(r)
}

// expiryHeap is a min-heap of records by expiry, for container/heap.
type expiryHeap []*record

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expires < h[j].expires }
func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *expiryHeap) Push(x any) {
	r := x.(*record)
	r.index = len(*h)
	*h = append(*h, r)
}
func (h *expiryHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return r
}
