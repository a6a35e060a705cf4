package redislock

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/distkit/distkit/lock"
	"github.com/redis/go-redis/v9"
)

// A Client is the part of go-redis a Locker needs: scripts for every
// operation, and Do for the BLPOP a waiter blocks in (with a sub-second
// timeout, which go-redis's BLPop cannot send). *redis.Client,
// *redis.ClusterClient, *redis.Ring and redis.UniversalClient satisfy it.
type Client interface {
	redis.Scripter
	Do(ctx context.Context, args ...any) *redis.Cmd
}

// A Locker is a lock.Locker shared through Redis. It is safe for concurrent
// use by multiple goroutines, and holds no connection or goroutine of its own
// (auto-renewed leases run one goroutine each).
//
// Each operation is one Lua script, one round trip: TryLock bumps the lock's
// fencing counter and sets the lock to the token and the caller's unique
// value with PX if it is free (two commands, one more than a lock without
// fencing needs); Refresh and Release act only if the lock still holds that
// value. Waiters in Lock queue in Redis in arrival order, mark the lock, and
// block in BLPOP on a list of their own; Release deletes an unmarked lock
// (two commands, as a lock without a queue does) and hands a marked one to
// the first live waiter, pushing its token there, so a hand-over takes one
// round trip after the release, without polling. A waiter also wakes when
// the holder's lease expires, and about every MaxBlock to renew its place in
// the queue, to mark the lock again (a TryLock that found it free does not)
// and to notice ctx ending.
//
// Without ContextTimeoutEnabled in the client's options, go-redis bounds each
// command by its ReadTimeout, not by the ctx deadline: enable it so that a
// deadline also bounds a call to an unresponsive server.
type Locker struct {
	rdb    Client
	prefix string
	id     string        // random, unique per Locker
	seq    atomic.Uint64 // makes values unique per lease

	counters lock.Counters
}

var (
	_ lock.Locker    = (*Locker)(nil)
	_ lock.Inspector = (*Locker)(nil)
)

// MaxBlock bounds how long a waiter blocks in one BLPOP: a ctx that ends
// without a deadline is noticed within it. Blocks are shorter for short TTLs
// (a quarter of the TTL). The client's ReadTimeout must exceed it (the
// go-redis default, 3s, does).
const MaxBlock = 100 * time.Millisecond

// fenceTTL is how long a fencing counter lives from its start. After that
// it starts again from the server's clock.
const fenceTTL = 24 * time.Hour

// An Option configures a Locker.
type Option func(*Locker)

// WithPrefix sets the prefix of every key the Locker writes. Default: "lock:".
func WithPrefix(p string) Option { return func(l *Locker) { l.prefix = p } }

// New returns a Locker on rdb. It does no I/O.
func New(rdb Client, opts ...Option) *Locker {
	var b [8]byte
	rand.Read(b[:])
	l := &Locker{rdb: rdb, prefix: "lock:", id: hex.EncodeToString(b[:])}
	for _, o := range opts {
		o(l)
	}
	return l
}

// Stats returns a snapshot of the Locker's counters and those of the leases
// it granted. It does no I/O and is safe to call concurrently.
func (l *Locker) Stats() lock.LockerStats { return l.counters.Stats() }

// config returns the lock.Config of opts, with the Locker's counters.
func (l *Locker) config(opts []lock.Option) lock.Config {
	cfg := lock.NewConfig(opts)
	cfg.Counters = &l.counters
	return cfg
}

// failed counts an error from Redis, unless ctx has ended.
func (l *Locker) failed(ctx context.Context) {
	if ctx.Err() == nil {
		l.counters.Errors.Add(1)
	}
}

// keys are the Redis keys of one lock and one caller, all under one hash
// tag, and the caller's value, all cut from one string.
type keys struct {
	k     [5]string // the lock, its fencing counter, its waiters' queue and deadlines, the caller's wake-up list
	wake  string    // the prefix of wake-up lists: k[4] is wake + value
	value string    // unique to one lease: "<ttl ms>:<id>:<owner>"
	key   string    // the caller's key, for errors
}

// keys returns the keys of key for a new lease of ttl labelled owner, in one
// allocation.
func (l *Locker) keys(key string, ttl time.Duration, owner string) keys {
	var num [40]byte
	v := strconv.AppendInt(num[:0], ttl.Milliseconds(), 10)
	v = append(v, ':')
	idAt := len(v)
	v = strconv.AppendUint(v, l.seq.Add(1), 36)
	base := len(l.prefix) + len(key) + 3 // prefix{key}:
	var b strings.Builder
	b.Grow(5*base + len("lockfencequeuewaitersw:") + len(v) + len(l.id) + 1 + len(owner))
	var ends [5]int
	for i, name := range [...]string{"lock", "fence", "queue", "waiters", "w:"} {
		b.WriteString(l.prefix)
		b.WriteByte('{')
		b.WriteString(key)
		b.WriteString("}:")
		b.WriteString(name)
		ends[i] = b.Len()
	}
	b.Write(v[:idAt])
	b.WriteString(l.id)
	b.Write(v[idAt:])
	b.WriteByte(':')
	b.WriteString(owner)
	s := b.String()
	var k keys
	start := 0
	for i := range 4 {
		k.k[i] = s[start:ends[i]]
		start = ends[i]
	}
	k.k[4] = s[start:]
	k.wake = s[start:ends[4]]
	k.value = s[ends[4]:]
	k.key = key
	return k
}

// fenceTTLArg is fenceTTL in ms, boxed once.
var fenceTTLArg any = fenceTTL.Milliseconds()

// held returns what the lock holds for the lease of token given to value:
// "<token>:<value>".
func held(token uint64, value string) string {
	return strconv.FormatUint(token, 10) + ":" + value
}

// TryLock obtains the lock named key for ttl in one round trip. It does not
// wait: if another lease holds key, it returns lock.ErrNotObtained at once.
// It returns lock.ErrInvalidTTL if ttl < lock.MinTTL, and otherwise a wrapped
// error from Redis, in which case the lease was not obtained (though the key
// may stay locked until ttl passes, if the error came after Redis acted).
func (l *Locker) TryLock(ctx context.Context, key string, ttl time.Duration, opts ...lock.Option) (*lock.Lease, error) {
	if err := lock.CheckTTL(ttl); err != nil {
		return nil, err
	}
	cfg := l.config(opts)
	k := l.keys(key, ttl, cfg.Owner)
	start := time.Now()
	// Only the lock and its counter: TryLock never touches the queue.
	n, err := tryAcquireScript.Run(ctx, l.rdb, k.k[:2], k.value, ttl.Milliseconds(), fenceTTLArg).Int64()
	if err != nil {
		l.failed(ctx)
		return nil, fmt.Errorf("redislock: lock %q: %w", key, err)
	}
	if n <= 0 {
		l.counters.Contended.Add(1)
		return nil, lock.ErrNotObtained
	}
	l.counters.Acquired.Add(1)
	return l.lease(ctx, k, uint64(n), ttl, start, cfg), nil
}

// lease returns the Lease of token given to k.value.
func (l *Locker) lease(ctx context.Context, k keys, token uint64, ttl time.Duration, start time.Time, cfg lock.Config) *lock.Lease {
	return lock.NewLease(ctx, &grant{l: l, keys: k, held: held(token, k.value)}, k.key, token, ttl, start, cfg)
}

// Lock obtains the lock named key for ttl, waiting in line behind earlier
// callers until the holder releases it (woken at once), its lease expires, or
// ctx ends. It returns lock.ErrInvalidTTL if ttl < lock.MinTTL, an error
// wrapping ctx.Err() when ctx ends, and otherwise a wrapped error from Redis,
// after which it has left the line (best effort) and holds nothing.
func (l *Locker) Lock(ctx context.Context, key string, ttl time.Duration, opts ...lock.Option) (*lock.Lease, error) {
	if err := lock.CheckTTL(ttl); err != nil {
		return nil, err
	}
	cfg := l.config(opts)
	k := l.keys(key, ttl, cfg.Owner)
	slice := min(ttl/4, MaxBlock)
	// A waiter that has not renewed its place for this long is skipped.
	// Redis may return a timed-out BLPOP up to 1/hz late (100ms by default).
	live := 2*slice + 200*time.Millisecond
	// queued is set once this caller may be in the queue; queuedAt is when
	// the last request that left it waiting was sent. A hand-over to it
	// happens after that, so the lease counts from then.
	queued := false
	var queuedAt time.Time
	for {
		if err := ctx.Err(); err != nil {
			return nil, l.leave(ctx, &k, queued, err)
		}
		start := time.Now()
		got, n, err := l.acquire(ctx, &k, ttl, live)
		if err != nil {
			return nil, l.leave(ctx, &k, true, err)
		}
		if got != 0 {
			if got == 2 {
				start = queuedAt // handed over while not blocked
			}
			l.counters.Acquired.Add(1)
			return l.lease(ctx, k, uint64(n), ttl, start, cfg), nil
		}
		if !queued {
			l.counters.Contended.Add(1)
		}
		queued, queuedAt = true, start
		if pttl := time.Duration(n) * time.Millisecond; n >= 0 && pttl < slice {
			// The holder's lease ends before a block would: wait for that on
			// the local clock, since Redis times blocked commands out only
			// every 1/hz seconds (100ms by default). A hand-over meanwhile
			// is found by the next acquire.
			t := time.NewTimer(pttl + time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
			continue
		}
		block := slice
		if dl, ok := ctx.Deadline(); ok {
			block = max(min(block, time.Until(dl)), time.Millisecond) // 0 would block forever
		}
		tok, err := l.rdb.Do(ctx, "blpop", k.k[4], strconv.FormatFloat(block.Seconds(), 'f', 3, 64)).Slice()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, l.leave(ctx, &k, queued, err)
		}
		if len(tok) == 2 {
			s, _ := tok[1].(string)
			if t, perr := strconv.ParseUint(s, 10, 64); perr == nil {
				l.counters.Acquired.Add(1)
				return l.lease(ctx, k, t, ttl, queuedAt, cfg), nil
			}
		}
		return nil, l.leave(ctx, &k, queued, fmt.Errorf("unexpected BLPOP reply %v", tok))
	}
}

// leave takes a waiter that gives up out of the queue, passing the lock on
// if it was handed to it meanwhile, and returns the error to report.
func (l *Locker) leave(ctx context.Context, k *keys, queued bool, cause error) error {
	l.failed(ctx)
	key := k.key
	if queued {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		releaseScript.Run(lctx, l.rdb, k.k[:], k.value, k.wake, fenceTTLArg, 1)
		cancel()
	}
	if err := ctx.Err(); err != nil && !errors.Is(cause, err) {
		return fmt.Errorf("redislock: lock %q: %w (%w)", key, err, cause)
	}
	return fmt.Errorf("redislock: lock %q: %w", key, cause)
}

// acquire runs acquireScript. It returns 1 (obtained) or 2 (handed over)
// and the token, or 0 and the holder's PTTL in ms.
func (l *Locker) acquire(ctx context.Context, k *keys, ttl, live time.Duration) (int64, int64, error) {
	res, err := acquireScript.Run(ctx, l.rdb, k.k[:], k.value, ttl.Milliseconds(), live.Milliseconds(), fenceTTLArg).Slice()
	if err != nil {
		return 0, 0, err
	}
	if len(res) != 2 {
		return 0, 0, fmt.Errorf("unexpected reply %v", res)
	}
	got, _ := res[0].(int64)
	n, _ := res[1].(int64)
	return got, n, nil
}

// Inspect returns the current holder of key, and false if none holds it, in
// one round trip. Errors wrap one from Redis.
func (l *Locker) Inspect(ctx context.Context, key string) (lock.Holder, bool, error) {
	k := l.keys(key, lock.MinTTL, "")
	res, err := inspectScript.Run(ctx, l.rdb, k.k[:1]).Slice()
	if err != nil {
		l.failed(ctx)
		return lock.Holder{}, false, fmt.Errorf("redislock: inspect %q: %w", key, err)
	}
	if len(res) != 2 {
		return lock.Holder{}, false, nil
	}
	v, _ := res[0].(string)
	pttl, _ := res[1].(int64)
	tok, value, _ := parseHeld(v)
	_, _, owner, _ := parseValue(value)
	return lock.Holder{Owner: owner, Token: tok, TTL: time.Duration(pttl) * time.Millisecond}, true, nil
}

// parseHeld splits what a lock holds, "[+]<token>:<value>", into the token
// and the value. It reports false if v is not in that form.
func parseHeld(v string) (token uint64, value string, ok bool) {
	t, value, ok := strings.Cut(strings.TrimPrefix(v, "+"), ":")
	token, err := strconv.ParseUint(t, 10, 64)
	if !ok || err != nil {
		return 0, "", false
	}
	return token, value, true
}

// parseValue splits a lock value "<ttl ms>:<id>:<owner>". It reports false
// if v is not in that form.
func parseValue(v string) (ttlMS int64, id, owner string, ok bool) {
	t, rest, ok1 := strings.Cut(v, ":")
	id, owner, ok2 := strings.Cut(rest, ":")
	n, err := strconv.ParseInt(t, 10, 64)
	if !ok1 || !ok2 || err != nil || n < 0 {
		return 0, "", "", false
	}
	return n, id, owner, true
}

// grant is a lease's handle on its lock in Redis.
type grant struct {
	l    *Locker
	keys keys
	held string // what the lock holds for this lease: "<token>:<value>"
}

// Refresh implements lock.Grant in one round trip.
func (g *grant) Refresh(ctx context.Context, ttl time.Duration) error {
	n, err := refreshScript.Run(ctx, g.l.rdb, g.keys.k[:1], g.held, ttl.Milliseconds()).Int64()
	if err != nil {
		return fmt.Errorf("redislock: refresh %q: %w", g.keys.key, err)
	}
	if n == 0 {
		return lock.ErrNotHeld
	}
	return nil
}

// Release implements lock.Grant in one round trip.
func (g *grant) Release(ctx context.Context) error {
	n, err := releaseScript.Run(ctx, g.l.rdb, g.keys.k[:4], g.held, g.keys.wake, fenceTTLArg, 0).Int64()
	if err != nil {
		return fmt.Errorf("redislock: release %q: %w", g.keys.key, err)
	}
	if n == 0 {
		return lock.ErrNotHeld
	}
	return nil
}
