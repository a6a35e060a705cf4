package bloom

import (
	"math"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

// A Scalable is a Bloom filter that grows as keys are added, keeping its
// false-positive rate below a bound however many keys it holds (Almeida,
// Baquero, Preguiça and Hutchison, "Scalable Bloom Filters", 2007).
//
// It is a list of Filter stages. Stage i holds hint·growth^i keys at rate
// p·(1-r)·r^i, for a tightening ratio r; keys go into the newest stage, and
// when that is full a new one is added. A key absent from all stages tests
// true with probability at most Σ p·(1-r)·r^i < p. Growing geometrically keeps
// the number of stages, and so the cost of Test, logarithmic in the count:
// from a hint of 10 000 to 1 000 000 keys with the default growth of 4 it
// has five stages.
//
// A Scalable is safe for concurrent use by multiple goroutines: Test and Add
// take no lock, and a short one is taken only to add a stage. A key added by
// any goroutine tests true once its Add has returned.
type Scalable struct {
	p      float64
	growth float64
	ratio  float64

	mu     sync.Mutex               // serialises adding stages
	stages atomic.Pointer[[]*stage] // copy-on-write; a stage is never removed
}

// A stage is one Filter and how many keys went into it.
type stage struct {
	f     *Filter
	count atomic.Int64 // adds that set at least one new bit
	cap   int64
}

// A ScalableOption configures a Scalable.
type ScalableOption func(*Scalable)

// WithGrowth sets the factor by which each stage's capacity exceeds the
// previous one's. Larger factors mean fewer stages (faster Test) and more
// memory held in a partly filled last stage. Default: 4. NewScalable panics if
// it is below 2.
func WithGrowth(s int) ScalableOption { return func(sc *Scalable) { sc.growth = float64(s) } }

// WithTightening sets the ratio r by which each stage's false-positive rate is
// below the previous one's. Default: 0.5. NewScalable panics unless
// 0 < r < 1.
func WithTightening(r float64) ScalableOption { return func(sc *Scalable) { sc.ratio = r } }

// NewScalable returns an empty Scalable whose first stage holds hint keys and
// whose overall false-positive rate stays below p. It panics if hint < 1, p
// is not in (0, 1), or an option is out of range: programmer errors.
func NewScalable(hint int, p float64, opts ...ScalableOption) *Scalable {
	if hint < 1 || !(p > 0 && p < 1) {
		panic("bloom: NewScalable with hint < 1 or p outside (0, 1)")
	}
	s := &Scalable{p: p, growth: 4, ratio: 0.5}
	for _, o := range opts {
		o(s)
	}
	if s.growth < 2 || !(s.ratio > 0 && s.ratio < 1) {
		panic("bloom: NewScalable with growth < 2 or tightening outside (0, 1)")
	}
	first := []*stage{s.newStage(0, int64(hint))}
	s.stages.Store(&first)
	return s
}

// scalableMargin scales every stage's rate down, so that the measured
// compound rate stays below p although each Filter's measured rate may come
// within a few percent of its own (see sizingMargin).
const scalableMargin = 0.9

// newStage returns stage i with room for n keys.
func (s *Scalable) newStage(i int, n int64) *stage {
	// The stage rates sum to 0.9 p: 0.9 p(1-r)(1 + r + r² + ...). Below 1e-12 a
	// stage would need over 60 bits per key; by then the bound is met anyway.
	pi := math.Max(scalableMargin*s.p*(1-s.ratio)*math.Pow(s.ratio, float64(i)), 1e-12)
	return &stage{f: New(int(n), pi), cap: n}
}

// Add adds key to s. It does not allocate except when it adds a stage.
func (s *Scalable) Add(key []byte) { s.AddHash(xxhash.Sum64(key)) }

// AddString adds key to s without copying it.
func (s *Scalable) AddString(key string) { s.AddHash(xxhash.Sum64String(key)) }

// Test reports whether key may be in s: false means it was never added. It
// does not allocate.
func (s *Scalable) Test(key []byte) bool { return s.TestHash(xxhash.Sum64(key)) }

// TestString is Test for a string key, without copying it.
func (s *Scalable) TestString(key string) bool { return s.TestHash(xxhash.Sum64String(key)) }

// TestAndAdd adds key to s unless it tests true already, and reports whether
// it did. Unlike Add it does not spend capacity on keys already present.
func (s *Scalable) TestAndAdd(key []byte) bool { return s.TestAndAddHash(xxhash.Sum64(key)) }

// TestAndAddString is TestAndAdd for a string key, without copying it.
func (s *Scalable) TestAndAddString(key string) bool {
	return s.TestAndAddHash(xxhash.Sum64String(key))
}

// AddHash adds the key whose hash (see Hash) is h.
func (s *Scalable) AddHash(h uint64) {
	st := *s.stages.Load()
	last := st[len(st)-1]
	if last.f.addHash(h) && last.count.Add(1) == last.cap {
		s.grow(len(st))
	}
}

// grow adds stage n unless another goroutine already did.
func (s *Scalable) grow(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := *s.stages.Load()
	if len(st) != n {
		return
	}
	next := make([]*stage, n+1)
	copy(next, st)
	capacity := float64(st[n-1].cap) * s.growth
	next[n] = s.newStage(n, int64(math.Min(capacity, 1<<40)))
	s.stages.Store(&next)
}

// TestHash reports whether the key whose hash (see Hash) is h may be in s.
func (s *Scalable) TestHash(h uint64) bool {
	st := *s.stages.Load()
	// Every stage, without stopping at the first hit: with no branch on what
	// a stage holds, the processor fetches all the stages' blocks at once,
	// and a Test costs about one memory latency instead of one per stage.
	var hit uint64
	for _, sg := range st {
		m := sg.f.missing(h)
		hit |= 1 ^ (m|-m)>>63 // 1 if m == 0
	}
	return hit != 0
}

// TestAndAddHash adds the key whose hash is h unless it tests true already,
// and reports whether it did.
func (s *Scalable) TestAndAddHash(h uint64) bool {
	if s.TestHash(h) {
		return true
	}
	s.AddHash(h)
	return false
}

// Stages returns the number of stages s has.
func (s *Scalable) Stages() int { return len(*s.stages.Load()) }

// Cap returns how many keys s can hold before it adds another stage: the sum
// of its stages' capacities.
func (s *Scalable) Cap() int {
	var c int64
	for _, st := range *s.stages.Load() {
		c += st.cap
	}
	return int(c)
}

// Count returns the number of keys added to s that set at least one new bit:
// the distinct keys, less those that were false positives of their stage.
func (s *Scalable) Count() int {
	var c int64
	for _, st := range *s.stages.Load() {
		c += st.count.Load()
	}
	return int(c)
}
