package redisratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/distkit/distkit/ratelimit"
	"github.com/redis/go-redis/v9"
)

// gcraScript decides on n events for KEYS[1] with GCRA. ARGV: the emission
// interval in microseconds, the burst, n. It stores the theoretical arrival
// time in microseconds of the server's clock, with an expiry at the instant
// the bucket is full again. It returns one integer, from which the caller,
// who knows the interval, burst and n, works out the rest of the Decision:
// the key's debt (how far its arrival time runs ahead of now, in
// microseconds) after the events if they are allowed, and -1 minus the debt
// if they are not. One integer and no formatting keep the script short: its
// time in the server is most of what a decision costs beyond a PING.
var gcraScript = redis.NewScript(gcraPrelude + `
local need = iv * tonumber(ARGV[3])
if debt > tau - need then return -1 - debt end
if need > 0 then
  debt = debt + need
  redis.call('SET', KEYS[1], string.format('%d', now + debt), 'PX', math.ceil(debt / 1000))
end
return debt
`)

// gcraPrelude begins both scripts: it reads the server's clock, the
// arguments, and the key's debt (how far its arrival time runs ahead of now,
// in microseconds; 0 for a key that has none).
const gcraPrelude = `
local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
local iv = tonumber(ARGV[1])
local tau = iv * tonumber(ARGV[2])
local debt = 0
local tat = redis.call('GET', KEYS[1])
if tat then
  debt = tat - now
  if debt < 0 then debt = 0 end
end
`

// atMostScript admits up to n events for KEYS[1]: as many as its budget
// holds. ARGV and storage are gcraScript's. It returns how many it admitted
// and the key's debt after them, in microseconds.
var atMostScript = redis.NewScript(gcraPrelude + `
local k = math.min(tonumber(ARGV[3]), math.floor((tau - debt) / iv))
if k <= 0 then return {0, debt} end
debt = debt + k * iv
redis.call('SET', KEYS[1], string.format('%d', now + debt), 'PX', math.ceil(debt / 1000))
return {k, debt}
`)

// An Option configures a Limiter.
type Option func(*Limiter)

// WithPrefix sets the prefix of every Redis key the Limiter writes: a
// limited key k is stored at prefix+k. Default: "ratelimit:".
func WithPrefix(p string) Option { return func(l *Limiter) { l.prefix = p } }

// A Limiter is a ratelimit.Limiter whose state lives in Redis: one key per
// limited key, holding GCRA's theoretical arrival time and expiring when the
// bucket is full again. It is safe for concurrent use by multiple goroutines,
// and by any number of processes sharing the Redis server and prefix. Make
// Limiters with New; the zero value is not usable.
//
// Each decision is one round trip (EVALSHA); the first on a server that
// has not seen the script yet, after a restart say, takes a second one to
// load it. Time is the Redis server's, at microsecond resolution: rates above one
// million per second behave as one million per second. Burst/Rate, the
// time a bucket takes to fill, is capped near 73 years. A Rate of Inf or 0,
// and bad input, are decided without a round trip.
type Limiter struct {
	rdb    redis.Scripter
	limit  ratelimit.Limit
	prefix string
	inf    bool      // Rate is Inf: allow all
	none   bool      // Rate is 0: allow nothing
	proc   processor // rdb, when it can run a prepared command; else nil
	ivArg  any       // the script's arguments, boxed once
	bArg   any
	iv     int64 // the emission interval in µs

	// Counters for Stats, off the line of the fields above that every
	// decision reads. A decision that counts costs a round trip, so an
	// atomic add is noise beside it.
	_                     [64]byte
	calls, denied, errors atomic.Uint64
}

// Stats is a snapshot of a Limiter's counters, for monitoring. Decisions
// made without a round trip (bad input, an Inf or zero Rate) are not
// counted.
type Stats struct {
	// Calls counts the decisions sent to Redis since New: each is one round
	// trip (two when the server had to be sent the script).
	Calls uint64
	// Denied counts the calls Redis answered with a refusal.
	Denied uint64
	// Errors counts the calls that failed: Redis could not be reached, did
	// not answer before the context was done, or answered something
	// unexpected. Calls - Denied - Errors calls were allowed (or were
	// peeks with n = 0).
	Errors uint64
}

// Stats returns a snapshot of the Limiter's counters. It does no I/O; each
// field is read atomically, but not all at one instant.
func (l *Limiter) Stats() Stats {
	return Stats{Calls: l.calls.Load(), Denied: l.denied.Load(), Errors: l.errors.Load()}
}

// processor is what *redis.Client, *redis.ClusterClient and *redis.Ring
// offer beyond redis.Scripter: running a command built by the caller, which
// saves the allocations of Script.Run.
type processor interface {
	Process(ctx context.Context, cmd redis.Cmder) error
}

// The scripts' SHA1s, boxed once.
var (
	gcraHash   any = gcraScript.Hash()
	atMostHash any = atMostScript.Hash()
)

// oneArg is the boxed n of the usual case.
var oneArg any = "1"

var _ ratelimit.AtMostLimiter = (*Limiter)(nil)

// New returns a Limiter that gives each key limit through rdb, which may be
// a *redis.Client, *redis.ClusterClient or *redis.Ring. It does no I/O. It
// panics if limit.Burst < 0.
func New(rdb redis.Scripter, limit ratelimit.Limit, opts ...Option) *Limiter {
	if limit.Burst < 0 {
		panic("redisratelimit: New with a negative burst")
	}
	l := &Limiter{rdb: rdb, limit: limit, prefix: "ratelimit:"}
	for _, o := range opts {
		o(l)
	}
	switch {
	case limit.Rate >= ratelimit.Inf:
		l.inf = true
	case !(limit.Rate > 0):
		l.none = true
	default:
		iv := math.Round(1e6 / float64(limit.Rate))
		// Cap Burst·interval, the longest a key lives, near 73 years (as
		// package ratelimit does), so that every answer fits a Duration.
		iv = min(max(iv, 1), (1<<61)/1e3/float64(max(limit.Burst, 1)))
		l.iv = int64(max(iv, 1))
		l.ivArg = strconv.FormatInt(l.iv, 10)
	}
	l.bArg = strconv.Itoa(limit.Burst)
	l.proc, _ = rdb.(processor)
	return l
}

// Limit returns the Limit every key gets.
func (l *Limiter) Limit() ratelimit.Limit { return l.limit }

// Allow is AllowN(ctx, key, 1).
func (l *Limiter) Allow(ctx context.Context, key string) (ratelimit.Decision, error) {
	return l.AllowN(ctx, key, 1)
}

// AllowN reports whether n events for key may happen now, and if so counts
// them, in one round trip to Redis. n = 0 counts nothing and reports the
// key's state. It returns ratelimit.ErrEmptyKey, ErrNegativeN or
// ErrExceedsBurst (n > Burst, unless the Rate is Inf) without a round trip,
// and an error wrapping the client's (ctx's included) when Redis fails; with
// an error the Decision does not allow.
func (l *Limiter) AllowN(ctx context.Context, key string, n int) (ratelimit.Decision, error) {
	switch {
	case key == "":
		return ratelimit.Decision{}, ratelimit.ErrEmptyKey
	case n < 0:
		return ratelimit.Decision{}, ratelimit.ErrNegativeN
	case l.inf:
		return ratelimit.Decision{Allowed: true, Remaining: l.limit.Burst, Limit: l.limit}, nil
	case n > l.limit.Burst:
		return ratelimit.Decision{}, ratelimit.ErrExceedsBurst
	case l.none:
		if n == 0 {
			return ratelimit.Decision{Allowed: true, Limit: l.limit}, nil
		}
		return ratelimit.Decision{RetryAfter: ratelimit.InfDuration, Limit: l.limit}, nil
	}
	l.calls.Add(1)
	reply, err := l.eval(ctx, gcraScript, gcraHash, l.prefix+key, n).Int64()
	if err != nil {
		return ratelimit.Decision{}, l.failed(ctx, "allow", key, err)
	}
	d := l.decision(reply, n)
	if !d.Allowed {
		l.denied.Add(1)
	}
	d.Limit = l.limit
	return d, nil
}

// AllowAtMost admits as many of n events for key as its budget holds now,
// and reports how many, in one round trip to Redis: n if they all fit,
// fewer (perhaps none) otherwise, as go-redis/redis_rate's AllowAtMost does.
// The Decision is allowed if any were admitted, and describes the budget
// after them; when none were, its RetryAfter is the wait until one event
// fits. n = 0 is a peek, as in AllowN. An n above the Burst is not an error:
// at most the Burst is admitted. It returns ratelimit.ErrEmptyKey,
// ErrNegativeN, or ErrExceedsBurst for n > 0 under a Limit whose Burst is 0
// (unless its Rate is Inf), without a round trip, and an error wrapping the
// client's when Redis fails; with an error nothing is admitted.
func (l *Limiter) AllowAtMost(ctx context.Context, key string, n int) (admitted int, d ratelimit.Decision, err error) {
	switch {
	case key == "":
		return 0, d, ratelimit.ErrEmptyKey
	case n < 0:
		return 0, d, ratelimit.ErrNegativeN
	case l.inf:
		return n, ratelimit.Decision{Allowed: true, Remaining: l.limit.Burst, Limit: l.limit}, nil
	case n == 0:
		d, err = l.AllowN(ctx, key, 0)
		return 0, d, err
	case l.limit.Burst == 0:
		return 0, d, ratelimit.ErrExceedsBurst
	case l.none:
		return 0, ratelimit.Decision{RetryAfter: ratelimit.InfDuration, Limit: l.limit}, nil
	}
	l.calls.Add(1)
	reply, err := l.eval(ctx, atMostScript, atMostHash, l.prefix+key, min(n, l.limit.Burst)).Int64Slice()
	if err == nil && len(reply) != 2 {
		err = fmt.Errorf("script replied %v; want [admitted debt]", reply)
	}
	if err != nil {
		return 0, d, l.failed(ctx, "allow at most", key, err)
	}
	k, debt := int(reply[0]), reply[1]
	if k > 0 {
		d = l.decision(debt, k)
	} else {
		d = l.decision(-1-debt, 1) // denied: the wait is until one event fits
		l.denied.Add(1)
	}
	d.Limit = l.limit
	return k, d, nil
}

// failed counts a call that failed with err and returns the error to report
// for op on key.
func (l *Limiter) failed(ctx context.Context, op, key string, err error) error {
	l.errors.Add(1)
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		// The client may report a timeout on the connection instead.
		return fmt.Errorf("redisratelimit: %s %q: %w: %w", op, key, cerr, err)
	}
	return fmt.Errorf("redisratelimit: %s %q: %w", op, key, err)
}

// eval runs script sc, whose boxed SHA1 is hash, on rkey with the
// Limiter's interval and burst and n, in one round trip (two the first time
// a server sees the script), and returns its command, reply or error.
func (l *Limiter) eval(ctx context.Context, sc *redis.Script, hash any, rkey string, n int) *redis.Cmd {
	nArg := oneArg
	if n != 1 {
		nArg = strconv.Itoa(n)
	}
	if l.proc == nil {
		return sc.Run(ctx, l.rdb, []string{rkey}, l.ivArg, l.bArg, nArg)
	}
	cmd := redis.NewCmd(ctx, "evalsha", hash, 1, rkey, l.ivArg, l.bArg, nArg)
	cmd.SetFirstKeyPos(3)
	if err := l.proc.Process(ctx, cmd); err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
		return sc.Eval(ctx, l.rdb, []string{rkey}, l.ivArg, l.bArg, nArg)
	}
	return cmd
}

// decision returns the Decision on n events that the script's reply r
// gives: the key's debt in µs after the events if they are allowed, -1 minus
// its debt if not (see gcraScript).
func (l *Limiter) decision(r int64, n int) ratelimit.Decision {
	allowed, debt := r >= 0, r
	if !allowed {
		debt = -1 - r
	}
	tau, need := l.iv*int64(l.limit.Burst), l.iv*int64(n)
	d := ratelimit.Decision{Allowed: allowed, ResetAfter: micros(debt)}
	if room := tau - debt; room > 0 {
		d.Remaining = int(room / l.iv)
	}
	if !allowed {
		d.RetryAfter = micros(max(debt-(tau-need), 0))
	}
	return d
}

// micros converts microseconds to a Duration, saturating at InfDuration.
func micros(us int64) time.Duration {
	if us > math.MaxInt64/1000 {
		return ratelimit.InfDuration
	}
	return time.Duration(us) * time.Microsecond
}
