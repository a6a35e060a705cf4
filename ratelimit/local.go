package ratelimit

import (
	"context"
	"hash/maphash"
	"math"
	"math/bits"
	"time"
)

const (
	// maxShards bounds how many shards, each growing its own lines, a
	// Local has.
	maxShards = 64
	// sweepSample is how many entries of an overflow table an insert looks
	// at to drop full buckets and, at the cap, to pick one to evict.
	sweepSample = 8
	// defaultMaxKeys is the cap on keys without WithMaxKeys.
	defaultMaxKeys = 1 << 20
)

// An Option configures a Local.
type Option func(*localConfig)

type localConfig struct {
	maxKeys int
}

// WithMaxKeys caps how many keys a Local remembers at once. It panics if
// n < 1. Default: 1<<20 (about a million keys, at most about 38 MB).
//
// At the cap, a new key evicts one remembered key: of a small sample of the
// new key's shard, the one whose bucket will be full soonest, which is the
// one whose state is worth least. An evicted key starts again with a full
// bucket, so under a flood of new keys (rotating IP addresses, say) an old
// key may get up to Burst events more than its Limit allows; memory stays
// bounded whatever the traffic. Should every key of the sample be in use by
// another decision at that instant, the new key is the one not remembered,
// as if evicted at once.
func WithMaxKeys(n int) Option {
	if n < 1 {
		panic("ratelimit: WithMaxKeys needs n >= 1")
	}
	return func(c *localConfig) { c.maxKeys = n }
}

// A Local is an in-memory Limiter with one GCRA state, a theoretical arrival
// time, per key. It is safe for concurrent use by multiple goroutines. Its
// zero value allows nothing; make Locals with NewLocal.
//
// A key is hashed once per decision and lives in a line: one cache line
// holding a lock, counters and the states of up to three keys, so that a
// decision on a known key writes that line and no other, and allocates
// nothing. A key that does not fit waits in its shard's overflow table,
// behind a second lock, until its line has room. Each of up to 64 shards
// doubles its lines as its keys outgrow them, holding up decisions on that
// shard alone meanwhile. A key is remembered by its 64-bit hash (maphash,
// with a seed chosen per Local), not its text: each costs 32 to 64 bytes
// whatever its length, and the garbage collector has nothing to scan. Two
// keys whose hashes collide share one budget; among a million keys that
// happens with probability about 3·10⁻⁸, and the random seed keeps anyone
// from aiming for it. A key whose bucket is full again holds no
// information and is forgotten: each insert of a new key looks at a few
// lines of its shard and drops the full ones, so memory follows the number
// of keys that are actually limited, with no background goroutine and no
// stop-the-world sweep. WithMaxKeys puts a hard cap on it.
//
// Decisions are made on the monotonic clock when the instants carry it
// (time.Now does), so a wall-clock step changes nothing. An instant earlier
// than a previous one for the same key is judged against everything
// admitted so far: it can only be stricter, and in any window of length T a
// key gets at most Rate·T + Burst events.
type Local struct {
	limit  Limit
	g      gcra
	base   time.Time
	seed   maphash.Seed
	shards []localShard
	mask   uint64
	perCap int // most keys per shard
}

var _ AtMostLimiter = (*Local)(nil)

// gcra is a Limit in the nanosecond units the keyed decisions work in.
type gcra struct {
	inf  bool   // Rate is Inf: allow everything
	none bool   // Rate is 0 (or less): allow nothing
	iv   int64  // ns per event
	tau  int64  // Burst·iv
	maxN int64  // the largest n whose n·iv does not saturate
	inv  uint64 // ⌊(2⁶⁴-1)/iv⌋, to divide by iv without a division
}

// events returns x/iv, the number of events x ns of budget buys, rounded
// toward zero. For 0 <= x < 2⁶² it multiplies by inv instead of dividing,
// which takes several times longer: ⌊x·inv/2⁶⁴⌋ falls short of x/iv by less
// than one, so it is the quotient or one less.
func (g *gcra) events(x int64) int {
	if x < 0 || x >= 1<<62 {
		return int(x / g.iv)
	}
	q, _ := bits.Mul64(uint64(x), g.inv)
	if int64(q+1)*g.iv <= x {
		q++
	}
	return int(q)
}

// cost returns n·iv, saturated as satMul does, without satMul's division.
func (g *gcra) cost(n int) int64 {
	if int64(n) > g.maxN {
		return maxNanos
	}
	return int64(n) * g.iv
}

func newGCRA(l Limit) gcra {
	switch {
	case l.Rate >= Inf:
		return gcra{inf: true}
	case !(l.Rate > 0):
		return gcra{none: true}
	}
	iv := math.Round(1e9 / float64(l.Rate))
	iv = min(max(iv, 1), maxNanos)
	g := gcra{iv: int64(iv), maxN: maxNanos / int64(iv), inv: math.MaxUint64 / uint64(iv)}
	g.tau = g.cost(max(l.Burst, 0))
	return g
}

// NewLocal returns a Local limiter that allows each key limit.Burst events
// at once and limit.Rate events per second after that. A zero Rate allows
// nothing; Inf allows everything. It panics if limit.Burst < 0.
func NewLocal(limit Limit, opts ...Option) *Local {
	if limit.Burst < 0 {
		panic("ratelimit: NewLocal with a negative burst")
	}
	c := localConfig{maxKeys: defaultMaxKeys}
	for _, o := range opts {
		o(&c)
	}
	n := min(maxShards, 1<<(bits.Len(uint(c.maxKeys))-1)) // a power of two <= maxKeys
	l := &Local{
		limit:  limit,
		g:      newGCRA(limit),
		base:   time.Now(),
		seed:   maphash.MakeSeed(),
		shards: make([]localShard, n),
		mask:   uint64(n - 1),
		perCap: c.maxKeys / n,
	}
	for i := range l.shards {
		l.shards[i].arr.Store(newLineArray(1))
	}
	return l
}

// Limit returns the Limit every key gets.
func (l *Local) Limit() Limit { return l.limit }

// Len returns how many keys the limiter remembers: keys whose bucket is not
// yet full again, and full ones no insert has swept yet.
func (l *Local) Len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += s.n
		s.mu.Unlock()
	}
	return n
}

// LocalStats is a snapshot of a Local's counters, for monitoring.
type LocalStats struct {
	// Keys is how many keys the Local remembers now, as Len reports.
	Keys int
	// Allowed counts the decisions with n > 0 that admitted their events,
	// since NewLocal. Peeks (n = 0), calls rejected with an error, and
	// decisions under an Inf or zero Rate, which keep no state, are not
	// counted.
	Allowed uint64
	// Denied counts the decisions with n > 0 that refused their events, with
	// the same exceptions as Allowed.
	Denied uint64
	// Dropped counts the keys forgotten because their bucket was full again:
	// state that held no information any more.
	Dropped uint64
	// Evicted counts the keys forgotten at the WithMaxKeys cap while their
	// bucket was not yet full. Each may get up to Burst events more than its
	// Limit allows; a steady rise means the cap is too low for the traffic.
	Evicted uint64
}

// Stats returns a snapshot of the Local's counters. It locks each shard in
// turn, every line of it at once, so the counts are consistent per shard
// but not across shards; decisions on a shard wait meanwhile, and the call
// costs O(keys). The counters are kept per line under the lock every
// decision takes anyway, so keeping them costs a decision nothing
// measurable.
func (l *Local) Stats() LocalStats {
	var st LocalStats
	for i := range l.shards {
		s := &l.shards[i]
		s.growMu.Lock()
		a := s.arr.Load()
		for j := range a.b {
			a.b[j].mu.Lock()
		}
		s.mu.Lock()
		st.Keys += s.n
		st.Allowed += s.allowed
		st.Denied += s.denied
		st.Dropped += s.dropped
		st.Evicted += s.evicted
		s.mu.Unlock()
		for j := range a.b {
			b := &a.b[j]
			st.Allowed += uint64(b.allowed)
			st.Denied += uint64(b.denied)
			b.mu.Unlock()
		}
		s.growMu.Unlock()
	}
	return st
}

// Allow is AllowN(ctx, key, 1).
func (l *Local) Allow(ctx context.Context, key string) (Decision, error) {
	return l.AllowN(ctx, key, 1)
}

// AllowN is AllowNAt(time.Now(), key, n), reading only the monotonic clock.
// It never blocks and ignores ctx; its errors are those of AllowNAt.
func (l *Local) AllowN(_ context.Context, key string, n int) (d Decision, err error) {
	v, err := l.decide(clampNanos(time.Since(l.base)), key, n, false)
	if err == nil {
		v.fill(&d, l.limit)
	}
	return d, err
}

// AllowAt is AllowNAt(now, key, 1).
func (l *Local) AllowAt(now time.Time, key string) (Decision, error) {
	return l.AllowNAt(now, key, 1)
}

// AllowNAt reports whether n events for key may happen at now, and if so
// counts them. n = 0 counts nothing and reports the key's state. It returns
// ErrEmptyKey, ErrNegativeN, or ErrExceedsBurst for n > Burst (unless the
// Rate is Inf), with a zero Decision.
func (l *Local) AllowNAt(now time.Time, key string, n int) (d Decision, err error) {
	v, err := l.decide(clampNanos(now.Sub(l.base)), key, n, false)
	if err == nil {
		v.fill(&d, l.limit)
	}
	return d, err
}

// AllowAtMost is AllowAtMostAt(time.Now(), key, n), reading only the
// monotonic clock. It never blocks and ignores ctx.
func (l *Local) AllowAtMost(_ context.Context, key string, n int) (admitted int, d Decision, err error) {
	return l.allowAtMost(clampNanos(time.Since(l.base)), key, n)
}

// AllowAtMostAt admits as many of n events for key at now as its budget
// holds, and reports how many: n if they all fit, fewer (perhaps none)
// otherwise, as go-redis/redis_rate's AllowAtMost does. The Decision is
// allowed if any were admitted, and describes the budget after them; when
// none were, its RetryAfter is the wait until one event fits. n = 0 is a
// peek, as in AllowNAt. An n above the Burst is not an error: at most the
// Burst is admitted. It returns ErrEmptyKey, ErrNegativeN, or
// ErrExceedsBurst for n > 0 under a Limit whose Burst is 0 (unless its Rate
// is Inf), with no events admitted and a zero Decision.
func (l *Local) AllowAtMostAt(now time.Time, key string, n int) (admitted int, d Decision, err error) {
	return l.allowAtMost(clampNanos(now.Sub(l.base)), key, n)
}

func (l *Local) allowAtMost(now int64, key string, n int) (int, Decision, error) {
	if n > l.limit.Burst && !l.g.inf {
		n = max(l.limit.Burst, 1) // a Burst of 0 admits nothing: ErrExceedsBurst
	}
	var d Decision
	v, err := l.decide(now, key, n, true)
	if err != nil {
		return 0, d, err
	}
	v.fill(&d, l.limit)
	return max(v.admitted, 0), d, nil
}

func (l *Local) check(key string, n int) error {
	switch {
	case key == "":
		return ErrEmptyKey
	case n < 0:
		return ErrNegativeN
	case n > l.limit.Burst && !l.g.inf:
		return ErrExceedsBurst
	}
	return nil
}

// A verdict is a Decision but for its Limit, with the number of events it
// admitted. It has few enough fields to live in registers (four at most): a
// Decision does not, and copying one out of a callee's frame costs more than
// a decision on a known key; a fifth field cost AllowN 10 ns.
type verdict struct {
	admitted     int // the events counted, or -1 if denied
	remaining    int
	retry, reset time.Duration
}

// fill sets d to the Decision of v under limit, field by field: assigning a
// whole Decision would copy it through a temporary.
func (v verdict) fill(d *Decision, limit Limit) {
	d.Allowed, d.Remaining, d.RetryAfter, d.ResetAfter, d.Limit = v.admitted >= 0, v.remaining, v.retry, v.reset, limit
}

// decide is AllowNAt at now, in ns since l.base, but for the Limit in the
// Decision; with atMost, it is AllowAtMostAt for an n no larger than the
// Burst.
func (l *Local) decide(now int64, key string, n int, atMost bool) (verdict, error) {
	if err := l.check(key, n); err != nil {
		return verdict{}, err
	}
	g := &l.g
	switch {
	case g.inf:
		return verdict{admitted: n, remaining: l.limit.Burst}, nil
	case g.none || g.iv == 0: // g.iv is 0 only in a zero Local
		if n == 0 {
			return verdict{}, nil
		}
		return verdict{admitted: -1, retry: InfDuration}, nil
	}
	need := g.cost(n)
	h := fix(maphash.String(l.seed, key))
	s := &l.shards[l.shardIndex(h)]
	a, b := s.lock(h)
	var debt int64 // how far the arrival time runs ahead of now
	slot, o := b.find(h), -1
	if slot >= 0 {
		debt = max(b.tat[slot]-now, 0)
	} else {
		// Not in its line: in the overflow table, or new.
		s.mu.Lock()
		if o = s.over.find(overflowHash(h)); o >= 0 {
			debt = max(s.over.e[o].tat-now, 0)
		}
	}
	if atMost && n > 0 && debt > g.tau-need {
		// Not all n fit: take the k that do, or, if none does, decide on
		// one, to be denied with the wait until it fits.
		n = max(g.events(g.tau-debt), 1)
		need = g.cost(n)
	}
	allowed := debt <= g.tau-need
	grow := false
	if allowed && n > 0 {
		tat := now + debt + need
		switch {
		case slot >= 0:
			b.tat[slot] = tat
		case o < 0:
			grow = s.insert(a, b, h, tat, now, l.perCap)
		case b.find(0) >= 0:
			// Its line has room again: move the key back into it.
			s.over.del(o)
			i := b.find(0)
			b.h[i], b.tat[i] = h, tat
		default:
			s.over.e[o].tat = tat
		}
	}
	if slot < 0 {
		s.mu.Unlock()
	}
	switch {
	case !allowed:
		if b.denied++; b.denied == flushAt {
			s.flush(b)
		}
	case n > 0:
		if b.allowed++; b.allowed == flushAt {
			s.flush(b)
		}
	}
	b.mu.Unlock()
	if grow {
		s.grow(a, l.perCap)
	}
	if !allowed {
		return verdict{
			admitted:  -1,
			remaining: g.events(g.tau - debt),
			retry:     time.Duration(debt + need - g.tau),
			reset:     time.Duration(debt),
		}, nil
	}
	debt += need
	return verdict{
		admitted:  n,
		remaining: g.events(g.tau - debt),
		reset:     time.Duration(debt),
	}, nil
}

// shardIndex returns the shard of the key whose hash is h. Shards take the
// hash's top bits, buckets its bottom ones.
func (l *Local) shardIndex(h uint64) uint64 { return (h >> 58) & l.mask }
