package backoff

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// A Policy gives the delay to wait before retry number attempt, where attempt
// 1 is the delay after the first failed call. Implementations hold no mutable
// state and are safe for concurrent use by multiple goroutines.
type Policy interface {
	// Delay returns the delay before retry number attempt (attempt >= 1).
	// An attempt below 1 is treated as 1.
	Delay(attempt int) time.Duration
}

// A ChainedPolicy also computes a delay from the previous one, as
// DecorrelatedJitter does. Retry calls DelayAfter, with the delay it used
// before, when its policy implements this interface.
type ChainedPolicy interface {
	Policy
	// DelayAfter returns the delay before retry number attempt when the
	// previous retry waited prev (0 before the first retry).
	DelayAfter(attempt int, prev time.Duration) time.Duration
}

var (
	_ Policy        = Constant(0)
	_ Policy        = (*Linear)(nil)
	_ Policy        = (*Exponential)(nil)
	_ Policy        = (*FullJitter)(nil)
	_ Policy        = (*EqualJitter)(nil)
	_ ChainedPolicy = (*DecorrelatedJitter)(nil)
)

// Constant is a Policy that waits the same duration before every retry.
type Constant time.Duration

// Delay returns c.
func (c Constant) Delay(int) time.Duration { return time.Duration(c) }

// A Linear policy waits base, base+step, base+2*step, ... up to a cap. It is
// safe for concurrent use by multiple goroutines.
type Linear struct {
	base, step, cap time.Duration
}

// NewLinear returns a Linear policy: Delay(n) = min(cap, base + (n-1)*step).
// It panics if base, step or cap is negative or cap < base.
func NewLinear(base, step, cap time.Duration) *Linear {
	if base < 0 || step < 0 || cap < base {
		panic("backoff: NewLinear needs 0 <= base <= cap and step >= 0")
	}
	return &Linear{base: base, step: step, cap: cap}
}

// Delay returns min(cap, base + (attempt-1)*step).
func (l *Linear) Delay(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	if l.step == 0 {
		return l.base
	}
	n := time.Duration(attempt - 1)
	if n > (l.cap-l.base)/l.step {
		return l.cap
	}
	return l.base + n*l.step
}

// tableLen bounds the precomputed delays of an Exponential policy.
const tableLen = 64

// An Exponential policy waits base, base*factor, base*factor², ... up to a
// cap. Delays are precomputed at construction, so Delay is a table lookup. It
// is safe for concurrent use by multiple goroutines.
type Exponential struct {
	base, cap time.Duration
	factor    float64
	table     []time.Duration // table[n] = Delay(n); table[0] = Delay(1)
	capped    bool            // every attempt past the table returns cap
}

// NewExponential returns an Exponential policy:
// Delay(n) = min(cap, base * factor^(n-1)). It panics if base <= 0,
// cap < base, or factor < 1 (or NaN).
func NewExponential(base time.Duration, factor float64, cap time.Duration) *Exponential {
	if base <= 0 || cap < base || !(factor >= 1) || math.IsInf(factor, 0) {
		panic("backoff: NewExponential needs 0 < base <= cap and 1 <= factor < +Inf")
	}
	e := &Exponential{base: base, cap: cap, factor: factor, table: []time.Duration{base}}
	d := float64(base)
	for len(e.table) <= tableLen {
		if d >= float64(cap) {
			// Fill the rest with cap, so that every attempt up to tableLen
			// is a lookup.
			for len(e.table) <= tableLen {
				e.table = append(e.table, cap)
			}
			e.capped = true
			break
		}
		e.table = append(e.table, time.Duration(d))
		d *= factor
	}
	return e
}

// Delay returns min(cap, base * factor^(attempt-1)).
func (e *Exponential) Delay(attempt int) time.Duration {
	if uint(attempt) < uint(len(e.table)) {
		return e.table[attempt] // small enough to inline: a bounds check and a load
	}
	return e.delaySlow(attempt)
}

func (e *Exponential) delaySlow(attempt int) time.Duration {
	if attempt < 1 {
		return e.base
	}
	if e.capped {
		return e.cap
	}
	d := float64(e.base) * math.Pow(e.factor, float64(attempt-1))
	if d >= float64(e.cap) {
		return e.cap
	}
	return time.Duration(d)
}

// random returns a uniform value in [0, n] (n >= 0) from src, or from the
// runtime's per-thread generator (fastUint64) when src is nil: no lock, no
// atomic instruction, no allocation.
func random(src rand.Source, n time.Duration) time.Duration {
	if n <= 0 {
		return 0
	}
	var u uint64
	if src == nil {
		u = fastUint64()
	} else {
		u = src.Uint64()
	}
	// Multiply-shift (Lemire): the bias, below (n+1)/2^64, is far below
	// anything a delay can show.
	hi, _ := bits.Mul64(u, uint64(n)+1)
	return time.Duration(hi)
}

// jittered is what the jitter policies share: the policy they wrap, that
// policy again when it is an Exponential (so the common case is a direct,
// inlinable call rather than an interface call), and the random source.
type jittered struct {
	p   Policy
	exp *Exponential // p, when it is one: called directly
	src rand.Source
}

func newJittered(p Policy, src rand.Source) jittered {
	e, _ := p.(*Exponential)
	return jittered{p: p, exp: e, src: src}
}

// base returns the wrapped policy's delay for attempt.
func (j *jittered) base(attempt int) time.Duration {
	if j.exp != nil {
		return j.exp.Delay(attempt)
	}
	return j.p.Delay(attempt)
}

// A FullJitter policy waits a uniform random duration in [0, p.Delay(n)]:
// the AWS analysis's best at spreading competing clients. It is safe for
// concurrent use when its Source is (the default one is).
type FullJitter struct{ j jittered }

// NewFullJitter returns a FullJitter over p. A nil src draws from the
// runtime's per-thread wyrand generator: a few nanoseconds, no lock and no
// shared memory written, decorrelated across goroutines and processes but
// not cryptographically secure (jitter needs no more); with the purego
// build tag, math/rand/v2's global generator instead. A non-nil src, such
// as a seeded SplitMix for deterministic tests, must be safe for concurrent
// use if the policy is shared, as SplitMix is. It panics if p is nil.
func NewFullJitter(p Policy, src rand.Source) *FullJitter {
	if p == nil {
		panic("backoff: NewFullJitter with a nil Policy")
	}
	return &FullJitter{newJittered(p, src)}
}

// Delay returns a uniform random duration in [0, p.Delay(attempt)].
func (f *FullJitter) Delay(attempt int) time.Duration {
	return random(f.j.src, f.j.base(attempt))
}

// An EqualJitter policy waits half of p.Delay(n) plus a uniform random
// duration in [0, p.Delay(n)/2]: never less than half the delay. It is safe
// for concurrent use when its Source is (the default one is).
type EqualJitter struct{ j jittered }

// NewEqualJitter returns an EqualJitter over p; src is as for
// NewFullJitter. It panics if p is nil.
func NewEqualJitter(p Policy, src rand.Source) *EqualJitter {
	if p == nil {
		panic("backoff: NewEqualJitter with a nil Policy")
	}
	return &EqualJitter{newJittered(p, src)}
}

// Delay returns d/2 + a uniform random duration in [0, d - d/2], where
// d = p.Delay(attempt).
func (e *EqualJitter) Delay(attempt int) time.Duration {
	d := e.j.base(attempt)
	h := d / 2
	return h + random(e.j.src, d-h)
}

// A DecorrelatedJitter policy waits min(cap, uniform in [base, 3*prev]),
// where prev is the previous delay (base before the first retry): the
// AWS analysis's "decorrelated jitter". The delay depends on the previous
// one, which the policy does not store: Retry passes it to DelayAfter. It is
// safe for concurrent use when its Source is (the default one is).
type DecorrelatedJitter struct {
	base, cap time.Duration
	src       rand.Source
}

// NewDecorrelatedJitter returns a DecorrelatedJitter policy; src is as for
// NewFullJitter. It panics if base <= 0 or cap < base.
func NewDecorrelatedJitter(base, cap time.Duration, src rand.Source) *DecorrelatedJitter {
	if base <= 0 || cap < base {
		panic("backoff: NewDecorrelatedJitter needs 0 < base <= cap")
	}
	return &DecorrelatedJitter{base: base, cap: cap, src: src}
}

// DelayAfter returns min(cap, uniform in [base, 3*max(prev, base)]).
func (j *DecorrelatedJitter) DelayAfter(_ int, prev time.Duration) time.Duration {
	if prev < j.base {
		prev = j.base
	}
	hi := j.cap
	if prev <= j.cap/3 {
		hi = 3 * prev
	}
	return j.base + random(j.src, hi-j.base)
}

// Delay returns a delay for attempt without knowing the previous one: it
// assumes the previous delay was min(cap, base*2^(attempt-2)), the typical
// growth of the sequence. Prefer DelayAfter, which Retry uses.
func (j *DecorrelatedJitter) Delay(attempt int) time.Duration {
	prev := j.base
	if attempt > 2 {
		shift := attempt - 2
		if shift >= 62 || j.base > j.cap>>shift {
			prev = j.cap
		} else {
			prev = j.base << shift
		}
	}
	return j.DelayAfter(attempt, prev)
}

// SplitMix is a rand.Source that is safe for concurrent use without a lock:
// each call adds a constant to an atomic counter and mixes the result
// (splitmix64). Serial calls from one seed give a reproducible sequence, for
// deterministic tests. It is not cryptographically secure. Its zero value is
// a valid Source seeded with 0.
type SplitMix struct {
	state atomic.Uint64
}

var _ rand.Source = (*SplitMix)(nil)

// NewSplitMix returns a SplitMix seeded with seed.
func NewSplitMix(seed uint64) *SplitMix {
	s := new(SplitMix)
	s.state.Store(seed)
	return s
}

// Uint64 returns the next pseudo-random value.
func (s *SplitMix) Uint64() uint64 {
	z := s.state.Add(0x9e3779b97f4a7c15)
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}
