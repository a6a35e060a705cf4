package redisidempotency

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/distkit/distkit/idempotency"
)

var _ idempotency.Store = (*Store)(nil)

// An Option configures a Store.
type Option func(*Store)

// WithPrefix sets the prefix of every key the Store writes. Default:
// "idempotency:".
func WithPrefix(p string) Option { return func(s *Store) { s.prefix = p } }

// A Store is an idempotency.Store on Redis. It is safe for concurrent use by
// multiple goroutines.
type Store struct {
	rdb    redis.Scripter
	prefix string

	// Counters for Stats, off the line of the fields above. Each counted
	// call costs a round trip, beside which an atomic add is noise.
	_                                   [64]byte
	begins, completes, releases, errors atomic.Uint64
}

// Stats is a snapshot of a Store's counters, for monitoring. Calls refused
// for bad input without a round trip are not counted.
type Stats struct {
	// Begins, Completes and Releases count the calls of each method sent to
	// Redis since New: each is one round trip (two when the server had to
	// be sent the script), whatever its answer.
	Begins, Completes, Releases uint64
	// Errors counts the calls of Begins, Completes and Releases that failed:
	// Redis could not be reached, did not answer before the context was
	// done, or answered something unexpected. Answers such as ErrInProgress
	// or ErrNotHeld are not errors of the Store.
	Errors uint64
}

// Stats returns a snapshot of the Store's counters. It does no I/O; each
// field is read atomically, but not all at one instant.
func (s *Store) Stats() Stats {
	return Stats{
		Begins:    s.begins.Load(),
		Completes: s.completes.Load(),
		Releases:  s.releases.Load(),
		Errors:    s.errors.Load(),
	}
}

// New returns a Store that keeps its records in rdb, which may be a
// *redis.Client, *redis.ClusterClient or *redis.Ring. It does no I/O.
func New(rdb redis.Scripter, opts ...Option) *Store {
	s := &Store{rdb: rdb, prefix: "idempotency:"}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Fields of the record hash: s is the state ("p" in progress, "d" done), f
// the fingerprint, t the owner's token, r the result.

// beginScript returns {1} when the caller now owns the key, {2} when it is in
// progress, {3, result} when it is done, {4} on a fingerprint mismatch.
var beginScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 's', 'f', 'r')
if not v[1] then
	redis.call('HSET', KEYS[1], 's', 'p', 'f', ARGV[1], 't', ARGV[2])
	redis.call('PEXPIRE', KEYS[1], ARGV[3])
	return {1}
end
if v[2] ~= ARGV[1] then return {4} end
if v[1] == 'p' then return {2} end
return {3, v[3]}
`)

// completeScript returns 1 when the result was stored, 0 when ARGV[1] does
// not own the key.
var completeScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 's', 't')
if v[1] ~= 'p' or v[2] ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 's', 'd', 'r', ARGV[2])
redis.call('HDEL', KEYS[1], 't')
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`)

// releaseScript returns 1 when the key was deleted, 0 when ARGV[1] does not
// own it.
var releaseScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 's', 't')
if v[1] ~= 'p' or v[2] ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`)

func (s *Store) key(k string) string { return s.prefix + "{" + k + "}" }

// ms converts d to whole milliseconds for PEXPIRE, rounding up so that a
// positive duration never becomes 0.
func ms(d time.Duration) int64 { return int64((d + time.Millisecond - 1) / time.Millisecond) }

// Begin implements idempotency.Store.Begin in one round trip. Tokens are
// random 64-bit numbers, so a token of an expired record never owns a newer
// one.
func (s *Store) Begin(ctx context.Context, key, fingerprint string, lockTTL time.Duration) (idempotency.Claim, error) {
	if key == "" {
		return idempotency.Claim{}, idempotency.ErrEmptyKey
	}
	if lockTTL <= 0 {
		return idempotency.Claim{}, idempotency.ErrInvalidTTL
	}
	token := rand.Uint64() | 1 // never zero
	s.begins.Add(1)
	v, err := beginScript.Run(ctx, s.rdb, []string{s.key(key)},
		fingerprint, strconv.FormatUint(token, 10), ms(lockTTL)).Slice()
	if err != nil {
		s.errors.Add(1)
		return idempotency.Claim{}, fmt.Errorf("redisidempotency: begin %q: %w", key, err)
	}
	code, _ := v[0].(int64)
	switch code {
	case 1:
		return idempotency.Claim{Token: token}, nil
	case 2:
		return idempotency.Claim{}, idempotency.ErrInProgress
	case 3:
		var res []byte
		if len(v) > 1 {
			r, _ := v[1].(string)
			res = []byte(r)
		}
		return idempotency.Claim{Done: true, Result: res}, nil
	case 4:
		return idempotency.Claim{}, idempotency.ErrMismatch
	}
	s.errors.Add(1)
	return idempotency.Claim{}, fmt.Errorf("redisidempotency: begin %q: unexpected reply %v", key, v)
}

// Complete implements idempotency.Store.Complete in one round trip.
func (s *Store) Complete(ctx context.Context, key string, token uint64, result []byte, retention time.Duration) error {
	if key == "" {
		return idempotency.ErrEmptyKey
	}
	if retention <= 0 {
		return idempotency.ErrInvalidTTL
	}
	if len(result) > idempotency.MaxResultSize {
		// Checked before the owner, unlike Local: either way the key stays held.
		return idempotency.ErrTooLarge
	}
	if token == 0 {
		return idempotency.ErrNotHeld
	}
	s.completes.Add(1)
	n, err := completeScript.Run(ctx, s.rdb, []string{s.key(key)},
		strconv.FormatUint(token, 10), result, ms(retention)).Int()
	if err != nil {
		s.errors.Add(1)
		return fmt.Errorf("redisidempotency: complete %q: %w", key, err)
	}
	if n == 0 {
		return idempotency.ErrNotHeld
	}
	return nil
}

// Release implements idempotency.Store.Release in one round trip.
func (s *Store) Release(ctx context.Context, key string, token uint64) error {
	if key == "" {
		return idempotency.ErrEmptyKey
	}
	if token == 0 {
		return idempotency.ErrNotHeld
	}
	s.releases.Add(1)
	n, err := releaseScript.Run(ctx, s.rdb, []string{s.key(key)}, strconv.FormatUint(token, 10)).Int()
	if err != nil {
		s.errors.Add(1)
		return fmt.Errorf("redisidempotency: release %q: %w", key, err)
	}
	if n == 0 {
		return idempotency.ErrNotHeld
	}
	return nil
}
