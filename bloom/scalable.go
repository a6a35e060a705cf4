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
// from a hint of 10 000 to 1 000 000 keys with the default growth of 2 it
// has seven stages.
//
// Every stage sets the same number of bits per key, K, so a key's bits lie
// at the same places within its block in every stage: Test computes them
// once, then reads one cache line per stage, newest (and largest) first,
// stopping at a hit. A Test for an absent key reads a line in every stage,
// and costs more with the stages' memory than with their number: the lines
// of a small total come from the processor's caches. Hence the default
// growth of 2: from a hint of 10 000 to 1M keys at p = 1% it takes 21 bits
// per key (7 stages), where growth 4 takes 54 (5 stages, the newest mostly
// empty) and tests about twice as slowly (BenchmarkScalableTest).
//
// A Scalable is safe for concurrent use by multiple goroutines: Test and Add
// take no lock, and a short one is taken only to add a stage. A key added by
// any goroutine tests true once its Add has returned. MarshalBinary and
// UnmarshalBinary save and restore it, stages and counts included.
type Scalable struct {
	p      float64
	growth float64
	ratio  float64
	k      int // bits per key, in every stage

	mu     sync.Mutex              // serialises adding stages
	stages atomic.Pointer[[]stage] // copy-on-write; a stage is never removed
}

// A stage is one Filter of a Scalable. Its words and block count are copied
// out of the Filter so that Test finds them in the contiguous stage slice.
type stage struct {
	words  []uint64
	blocks uint64
	k      int // s.k, unless sizing at s.k would waste bits (see newStage)
	f      *Filter
	count  *atomic.Int64 // adds that set at least one new bit
	cap    int64
}

// A ScalableOption configures a Scalable.
type ScalableOption func(*Scalable)

// WithGrowth sets the factor by which each stage's capacity exceeds the
// previous one's. Larger factors mean fewer stages but more memory held in a
// partly filled newest stage, and Test slows with the memory more than with
// the stages (see Scalable). Default: 2. NewScalable panics if it is below 2
// or above 16.
func WithGrowth(s int) ScalableOption { return func(sc *Scalable) { sc.growth = float64(s) } }

// WithTightening sets the ratio r by which each stage's false-positive rate is
// below the previous one's. Default: 0.8, which at growth 2 used the fewest
// bits per key of 0.5, 0.7, 0.8 and 0.9 (1M keys from a hint of 10 000).
// NewScalable panics unless 0 < r < 1.
func WithTightening(r float64) ScalableOption { return func(sc *Scalable) { sc.ratio = r } }

// NewScalable returns an empty Scalable whose first stage holds hint keys and
// whose overall false-positive rate stays below p. It panics if hint < 1, p
// is not in (0, 1), or an option is out of range: programmer errors.
func NewScalable(hint int, p float64, opts ...ScalableOption) *Scalable {
	if hint < 1 || !(p > 0 && p < 1) {
		panic("bloom: NewScalable with hint < 1 or p outside (0, 1)")
	}
	s := &Scalable{p: p, growth: 2, ratio: 0.8}
	for _, o := range opts {
		o(s)
	}
	if s.growth < 2 || s.growth > maxGrowth || !(s.ratio > 0 && s.ratio < 1) {
		panic("bloom: NewScalable with growth outside [2, 16] or tightening outside (0, 1)")
	}
	// K is the best one for the first stage. Later stages, at lower rates,
	// would each pick a K one or two higher on their own, for 2% fewer bits
	// in all at 1M keys from a hint of 10 000; the shared K is what lets Test
	// hash a key once for all stages.
	_, s.k = optimal(s.stageRate(0) * sizingMargin)
	first := []stage{s.newStage(0, int64(min(hint, maxStageCap)))}
	s.stages.Store(&first)
	return s
}

// maxStageCap is the most keys a stage is sized for: past it, stages stop
// growing.
const maxStageCap = 1 << 40

// scalableMargin scales every stage's rate down, so that the measured
// compound rate stays below p although each Filter's measured rate may come
// within a few percent of its own (see sizingMargin).
const scalableMargin = 0.9

// stageRate returns the false-positive rate stage i is sized for.
func (s *Scalable) stageRate(i int) float64 {
	// The stage rates sum to 0.9 p: 0.9 p(1-r)(1 + r + r² + ...). Below 1e-12 a
	// stage would need hundreds of bits per key; by then the bound is met anyway.
	return math.Max(scalableMargin*s.p*(1-s.ratio)*math.Pow(s.ratio, float64(i)), 1e-12)
}

// newStage returns stage i with room for n keys, at s's K unless that
// would take over 10% more bits than the stage's own best K.
func (s *Scalable) newStage(i int, n int64) stage {
	pi := s.stageRate(i)
	k := s.k
	c := bitsPerKey(pi*sizingMargin, k)
	// At the default tightening and p = 1% the shared K costs 2% more bits
	// at stage 5 and 6% at stage 10 (10 000 keys doubled ten times), 16% at
	// stage 20; a steep tightening gets there sooner. Test reads a stage with
	// a K of its own on a slower path.
	if best, bestK := optimal(pi * sizingMargin); c > 1.1*best {
		c, k = best, bestK
	}
	blocks := uint64(math.Min(math.Ceil(float64(n)*c/BlockBits), MaxBlocks))
	f := NewGeometry(Geometry{Blocks: max(blocks, 1), K: k})
	f.n, f.p = uint64(n), pi
	return stage{words: f.words, blocks: f.geom.Blocks, k: k, f: f, count: new(atomic.Int64), cap: n}
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
	last := &st[len(st)-1]
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
	next := make([]stage, n+1)
	copy(next, st)
	capacity := float64(st[n-1].cap) * s.growth
	next[n] = s.newStage(n, int64(math.Min(capacity, maxStageCap)))
	s.stages.Store(&next)
}

// TestHash reports whether the key whose hash (see Hash) is h may be in s.
func (s *Scalable) TestHash(h uint64) bool {
	st := *s.stages.Load()
	// Every stage has the same K, and a key's bits lie at the same places in
	// its block whatever the stage: compute the masks once, and each stage
	// costs a multiplication for its block and a few loads. Then the newest
	// stage first, since it holds the most keys, stopping at a hit.
	var mask [blockWords]uint64
	var word [blockWords]uint32
	w0, step := wordSteps(h)
	k := s.k
	w := wordsPerKey(k)
	if k <= fieldsPerMix {
		// One product holds every position: a group of three at a time,
		// as masks computes them.
		y := h * mix
		for j := range w {
			mask[j&7], word[j&7] = groupMask(y, j, k), (w0+uint32(j)*step)&7
			y <<= 3 * 6
		}
	} else {
		bw := walk(h)
		for i := range k {
			// Past K = 24 the groups of three wrap round the eight
			// words: group j+8 lands in group j's word (the stride is
			// odd), so its bits join that mask.
			j := i / bitsPerWord & 7
			mask[j] |= 1 << bw.next(i)
			word[j] = wordOf(w0, step, i)
		}
	}
	for i := len(st) - 1; i >= 0; i-- {
		if st[i].k != k {
			if st[i].f.missing(h) == 0 {
				return true
			}
			continue
		}
		b := blockIndex(h, st[i].blocks) * blockWords
		block := (*[blockWords]uint64)(st[i].words[b : b+blockWords])
		var miss uint64
		for j := range w {
			miss |= mask[j&7] &^ atomic.LoadUint64(&block[word[j&7]&7])
		}
		if miss == 0 {
			return true
		}
	}
	return false
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
