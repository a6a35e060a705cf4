package ratelimit

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// maxNanos bounds every instant the bucket stores, so that sums and
// differences of two of them never overflow an int64.
const maxNanos = 1 << 61

// A TokenBucket lets events happen at a Rate with bursts of up to Burst
// events. It is method-compatible with golang.org/x/time/rate's Limiter: a
// program switches by replacing rate.NewLimiter with NewTokenBucket and
// rate.Every, rate.Inf and rate.Limit with Every, Inf and Rate. The bucket
// starts full. It is safe for concurrent use by multiple goroutines. Its
// zero value rejects every event, even after SetLimit or SetBurst (which
// x/time/rate's zero Limiter would honour): make buckets with NewTokenBucket.
//
// The state is one atomically updated word: GCRA's theoretical arrival time,
// in monotonic nanoseconds since the bucket was made. Allow reads the
// monotonic clock once and makes one compare-and-swap per attempt; a denial
// writes nothing. A goroutine whose compare-and-swap loses to another's
// backs off for a microsecond or a few (then yields) and reads the clock
// again before it retries, so that cores hammering one bucket make runs of
// decisions instead of passing its cache line back and forth on every one.
// No method allocates except WaitN when it has to wait.
//
// A TokenBucket keeps no counters and has no Stats method: an atomic add
// on a shared word would cost more than a decision does (Allow takes tens
// of nanoseconds, and denials write nothing, so that goroutines hammering an
// empty bucket do not fight over a cache line). Every method returns its
// answer, so count where the answer is used; Local, one bucket per key,
// has Stats.
//
// Differences from x/time/rate:
//   - An event is judged at its own timestamp against everything admitted so
//     far, so timestamps that arrive out of order or a clock that steps back
//     can only make the bucket stricter: in any window of length T it admits
//     at most Rate·T + Burst events. x/time/rate can admit many times that
//     (golang/go#65508).
//   - Reserve and ReserveN return a Reservation value, not a pointer, so that
//     they do not allocate. Keep it in a variable to call Cancel, which has a
//     pointer receiver; cancelling twice restores tokens once.
//   - A Reservation is cancelled only under the limit and burst it was made
//     with: after SetLimit or SetBurst, Cancel restores nothing.
//   - Rates resolve to a whole number of nanoseconds per event, so any rate
//     above 1e9 per second behaves as 1e9 per second (Inf still allows all).
//   - Burst/Rate saturates near 73 years: a bucket that would take longer
//     to fill behaves as one that takes 73 years.
//   - A negative burst behaves as 0; AllowN and ReserveN with n <= 0 succeed
//     without touching the state.
//   - Decisions made concurrently with SetLimit or SetBurst may see the old
//     or the new configuration; the setters themselves are serialised.
//   - WaitN's errors wrap ErrExceedsBurst and ErrWouldExceedDeadline.
type TokenBucket struct {
	tat atomic.Int64 // theoretical arrival time, ns since base
	// Every decision writes tat: the padding keeps the read-mostly fields
	// below off its cache line, so readers on other cores do not miss.
	_ [56]byte

	base time.Time                // carries the monotonic reading every instant is measured from
	cfg  atomic.Pointer[tbConfig] // never nil; replaced whole by the setters

	mu sync.Mutex // serialises SetLimitAt and SetBurstAt
}

// A tbConfig is the immutable configuration of a TokenBucket.
type tbConfig struct {
	limit Rate
	burst int
	inf   bool  // limit is Inf: everything is allowed
	zero  bool  // limit is 0: time stands still at since, nothing refills
	since int64 // for zero: the instant the limit became 0, ns since base
	iv    int64 // emission interval: ns per token (1 for zero)
	tau   int64 // burst·iv: how far the arrival time may run ahead of now
}

func newTBConfig(limit Rate, burst int, now int64) *tbConfig {
	if burst < 0 {
		burst = 0
	}
	c := &tbConfig{limit: limit, burst: burst}
	switch {
	case limit >= Inf:
		c.inf = true
		return c
	case !(limit > 0): // 0, negative and NaN
		c.zero, c.since, c.iv = true, now, 1
	default:
		iv := math.Round(1e9 / float64(limit))
		switch {
		case iv < 1:
			iv = 1
		case iv > maxNanos:
			iv = maxNanos
		}
		c.iv = int64(iv)
	}
	c.tau = satMul(c.iv, int64(burst))
	return c
}

// zeroConfig is the configuration of a zero TokenBucket: nothing allowed.
var zeroConfig = tbConfig{zero: true, iv: 1}

// config returns the bucket's configuration.
func (tb *TokenBucket) config() *tbConfig {
	if c := tb.cfg.Load(); c != nil {
		return c
	}
	return &zeroConfig
}

// satMul returns a·b for non-negative a and b, capped at maxNanos.
func satMul(a, b int64) int64 {
	if a != 0 && b > maxNanos/a {
		return maxNanos
	}
	return a * b
}

// NewTokenBucket returns a full bucket that allows events at rate r with
// bursts of up to b events.
func NewTokenBucket(r Rate, b int) *TokenBucket {
	tb := &TokenBucket{base: time.Now()}
	tb.cfg.Store(newTBConfig(r, b, 0))
	tb.tat.Store(-maxNanos / 2) // full at every instant the bucket can see
	return tb
}

// nanos returns t as nanoseconds since tb.base, using the monotonic clock
// when t has a reading of it.
func (tb *TokenBucket) nanos(t time.Time) int64 {
	return clampNanos(t.Sub(tb.base))
}

func clampNanos(d time.Duration) int64 {
	switch {
	case d > maxNanos/2:
		return maxNanos / 2
	case d < -maxNanos/2:
		return -maxNanos / 2
	}
	return int64(d)
}

// Limit returns the bucket's rate.
func (tb *TokenBucket) Limit() Rate { return tb.config().limit }

// Burst returns the bucket's burst: the most tokens it holds, and the most
// events one AllowN, ReserveN or WaitN may ask for (unless the rate is Inf).
func (tb *TokenBucket) Burst() int { return tb.config().burst }

// Tokens returns how many tokens the bucket holds now.
func (tb *TokenBucket) Tokens() float64 { return tb.TokensAt(time.Now()) }

// TokensAt returns how many tokens the bucket holds at t. It is negative
// while reservations wait for tokens.
func (tb *TokenBucket) TokensAt(t time.Time) float64 {
	c := tb.config()
	if c.inf {
		return float64(c.burst)
	}
	now := tb.nanos(t)
	if c.zero {
		now = c.since
	}
	debt := tb.tat.Load() - now
	if debt <= 0 {
		return float64(c.burst)
	}
	return float64(c.burst) - float64(debt)/float64(c.iv)
}

// Allow reports whether one event may happen now. It is AllowN(time.Now(), 1)
// but reads only the monotonic clock.
func (tb *TokenBucket) Allow() bool {
	c := tb.config()
	if c.inf {
		return true
	}
	if c.zero {
		return tb.take(c, c.since, 1)
	}
	if c.burst < 1 {
		return false
	}
	// The word is loaded before the clock is read, so that when another
	// core writes it meanwhile the compare-and-swap fails and this core
	// backs off (see backoff). The decision is at an instant read after the
	// load, as valid as any instant within the call.
	tat := tb.tat.Load()
	now := int64(time.Since(tb.base))
	for attempt := 0; ; attempt++ {
		start := max(tat, now)
		if start-now > c.tau-c.iv {
			return false
		}
		if tb.tat.CompareAndSwap(tat, start+c.iv) {
			return true
		}
		backoff(attempt)
		tat = tb.tat.Load()
		now = int64(time.Since(tb.base)) // judge the retry at its own time
	}
}

// AllowN reports whether n events may happen at t, and if so uses up n
// tokens. It returns false, using nothing, if n exceeds the burst (unless the
// rate is Inf). Use it to drop or skip events that exceed the rate;
// otherwise use Reserve or Wait.
func (tb *TokenBucket) AllowN(t time.Time, n int) bool {
	c := tb.config()
	if c.inf || n <= 0 {
		return true
	}
	if c.zero {
		return tb.take(c, c.since, n)
	}
	return tb.take(c, tb.nanos(t), n)
}

// take admits n > 0 tokens at now under c, or reports false having changed
// nothing.
func (tb *TokenBucket) take(c *tbConfig, now int64, n int) bool {
	if n > c.burst {
		return false
	}
	need := satMul(c.iv, int64(n))
	for attempt := 0; ; attempt++ {
		tat := tb.tat.Load()
		start := max(tat, now)
		// Allowed when start+need-now <= tau, written so nothing overflows.
		if start-now > c.tau-need {
			return false
		}
		if tb.tat.CompareAndSwap(tat, start+need) {
			return true
		}
		backoff(attempt)
	}
}

// backoffSpins is how many turns of an empty loop backoff waits after a
// first lost compare-and-swap: about a microsecond.
const backoffSpins = 4096

// backoff waits after the attempt-th compare-and-swap of a decision lost to
// another goroutine's: 1, 2, then 4 µs of spinning, and from the fourth
// loss on it yields the processor instead. When two cores decide on one
// bucket, retrying at once has them take turns at the word's cache line, one
// transfer between cores (60 to 110 ns) per decision; backing off lets the
// winner make a run of decisions on a line its core holds, as a mutex would,
// without parking the loser.
func backoff(attempt int) {
	if attempt >= 3 {
		runtime.Gosched()
		return
	}
	for range backoffSpins << attempt {
	}
}

// A Reservation holds tokens reserved by TokenBucket.ReserveN for events that
// may happen after a delay. Unlike x/time/rate's, it is a value; its zero
// value is a reservation that is not OK.
type Reservation struct {
	tb  *TokenBucket
	cfg *tbConfig
	ok  bool
	n   int   // tokens held; 0 once cancelled
	tat int64 // the bucket's arrival time right after this reservation
	act int64 // when the events may happen, ns since tb.base
}

// OK reports whether the bucket can provide the tokens within the maximum
// wait. If not, Delay returns InfDuration and Cancel does nothing.
func (r Reservation) OK() bool { return r.ok }

// Delay is DelayFrom(time.Now()).
func (r Reservation) Delay() time.Duration { return r.DelayFrom(time.Now()) }

// DelayFrom returns how long after t the reserved events may happen: 0 means
// at once, InfDuration that the reservation is not OK.
func (r Reservation) DelayFrom(t time.Time) time.Duration {
	if !r.ok {
		return InfDuration
	}
	d := r.act - r.tb.nanos(t)
	if d < 0 {
		return 0
	}
	return time.Duration(d)
}

// Cancel is CancelAt(time.Now()).
func (r *Reservation) Cancel() { r.CancelAt(time.Now()) }

// CancelAt tells the bucket that the reserved events will not happen, as of
// t, and gives back the tokens no later reservation has counted on. It does
// nothing if the events' time has already come, if the reservation is not OK
// or was cancelled, or if the bucket's limit or burst changed since.
func (r *Reservation) CancelAt(t time.Time) {
	if !r.ok || r.n == 0 {
		return
	}
	n := r.n
	r.n = 0
	tb := r.tb
	c := tb.config()
	if c != r.cfg || c.inf || r.act < tb.nanos(t) {
		return
	}
	give := satMul(c.iv, int64(n))
	for {
		tat := tb.tat.Load()
		// Reservations made after this one moved tat beyond r.tat and
		// counted on these tokens: those stay taken.
		restore := min(give, give-(tat-r.tat))
		if restore <= 0 {
			return
		}
		if tb.tat.CompareAndSwap(tat, tat-restore) {
			return
		}
	}
}

// Reserve is ReserveN(time.Now(), 1).
func (tb *TokenBucket) Reserve() Reservation { return tb.ReserveN(time.Now(), 1) }

// ReserveN reserves n tokens at t and returns how long to wait before the
// events may happen. The tokens are taken at once, even if that leaves the
// bucket in debt; call Cancel on the Reservation to give them back. The
// Reservation is not OK if n exceeds the burst (unless the rate is Inf) or,
// with a zero rate, the bucket does not hold n tokens.
func (tb *TokenBucket) ReserveN(t time.Time, n int) Reservation {
	return tb.reserveN(tb.nanos(t), n, math.MaxInt64)
}

func (tb *TokenBucket) reserveN(now int64, n int, maxWait int64) Reservation {
	c := tb.config()
	if c.inf || n <= 0 {
		return Reservation{tb: tb, cfg: c, ok: true, act: now}
	}
	if n > c.burst {
		return Reservation{}
	}
	at := now
	if c.zero {
		at, maxWait = c.since, 0
	}
	need := satMul(c.iv, int64(n))
	for attempt := 0; ; attempt++ {
		tat := tb.tat.Load()
		next := min(max(tat, at)+need, maxNanos)
		wait := max(next-c.tau-at, 0)
		if wait > maxWait {
			return Reservation{}
		}
		if tb.tat.CompareAndSwap(tat, next) {
			return Reservation{tb: tb, cfg: c, ok: true, n: n, tat: next, act: now + wait}
		}
		backoff(attempt)
	}
}

// Wait is WaitN(ctx, 1).
func (tb *TokenBucket) Wait(ctx context.Context) error { return tb.WaitN(ctx, 1) }

// WaitN blocks until n events may happen, or ctx is done. It fails at once,
// taking nothing, if n exceeds the burst (an error wrapping ErrExceedsBurst)
// or if ctx's deadline comes before the tokens would (ErrWouldExceedDeadline);
// when ctx is done while waiting it gives the tokens back and returns an
// error for which errors.Is(err, ctx.Err()) holds. It allocates only when it
// has to wait.
func (tb *TokenBucket) WaitN(ctx context.Context, n int) error {
	c := tb.config()
	if n > c.burst && !c.inf {
		return fmt.Errorf("ratelimit: WaitN(n=%d) with burst %d: %w", n, c.burst, ErrExceedsBurst)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	t := time.Now()
	now := tb.nanos(t)
	maxWait := int64(math.MaxInt64)
	if dl, ok := ctx.Deadline(); ok {
		maxWait = int64(dl.Sub(t))
	}
	r := tb.reserveN(now, n, maxWait)
	if !r.ok {
		return fmt.Errorf("ratelimit: WaitN(n=%d): %w", n, ErrWouldExceedDeadline)
	}
	d := r.DelayFrom(t)
	if d == 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		r.Cancel()
		return ctx.Err()
	}
}

// SetLimit is SetLimitAt(time.Now(), r).
func (tb *TokenBucket) SetLimit(r Rate) { tb.SetLimitAt(time.Now(), r) }

// SetLimitAt changes the rate as of t, keeping the tokens the bucket holds
// at t.
func (tb *TokenBucket) SetLimitAt(t time.Time, r Rate) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.reconfigure(t, r, tb.config().burst)
}

// SetBurst is SetBurstAt(time.Now(), b).
func (tb *TokenBucket) SetBurst(b int) { tb.SetBurstAt(time.Now(), b) }

// SetBurstAt changes the burst as of t, keeping the tokens the bucket holds
// at t, up to the new burst.
func (tb *TokenBucket) SetBurstAt(t time.Time, b int) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.reconfigure(t, tb.config().limit, b)
}

// reconfigure installs a new configuration, carrying the tokens over. It
// requires tb.mu to be held.
func (tb *TokenBucket) reconfigure(t time.Time, r Rate, b int) {
	if tb.base.IsZero() {
		return // a zero TokenBucket has no clock to carry tokens on
	}
	now := tb.nanos(t)
	old := tb.config()
	c := newTBConfig(r, b, now)
	for {
		tat := tb.tat.Load()
		// used is burst minus tokens: what the new arrival time must encode.
		used := float64(c.burst - old.burst)
		if !old.inf {
			on := now
			if old.zero {
				on = old.since
			}
			used += float64(max(tat-on, 0)) / float64(old.iv)
		}
		next := now
		if !c.inf && used > 0 {
			next += int64(math.Min(math.Ceil(used*float64(c.iv)), maxNanos/2))
		}
		if tb.tat.CompareAndSwap(tat, next) {
			break
		}
	}
	tb.cfg.Store(c)
}
