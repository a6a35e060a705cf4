package bloom

import (
	"math"
	"math/bits"
	"runtime"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

// A Filter is a cache-line blocked Bloom filter: a set of keys that answers
// "possibly present" or "definitely absent". Each key maps to one 512-bit
// block and sets K bits inside it, so Add and Test touch one cache line.
//
// A Filter is safe for concurrent use by multiple goroutines, and a key
// added by any goroutine tests true once its Add has returned. Test reads the
// block with atomic loads (plain loads on amd64 and arm64) and takes no lock.
// Add returns without writing if the key's bits are set already; otherwise
// it sets them with one atomic OR per word: a key's bits lie in ceil(K/3)
// words of its block, two at K = 6. Locked
// instructions dominate the cost of a concurrent Add; Unsync drops them for
// one goroutine at a time (see BenchmarkFilterAdd, which also measures the
// alternative of a spin lock per block: one locked instruction to lock, but
// Go's atomic stores are locked too, and it was slower). From several cores
// at once, an Add of a new key mostly waits for its block's cache line to
// come from the core that wrote it last.
//
// Its zero value is not usable; create one with New or NewGeometry.
type Filter struct {
	words []uint64 // Blocks*8 words; block b is words[8b : 8b+8]
	geom  Geometry
	n     uint64  // the number of keys it was sized for
	p     float64 // the false-positive rate it was sized for
}

// New returns an empty Filter sized to hold n keys with a false-positive rate
// of about p (see Size for the rule). It panics if n < 0 or p is not in
// (0, 1), which only a programmer's mistake can cause; n = 0 is taken as 1.
func New(n int, p float64) *Filter {
	if n < 0 {
		panic("bloom: New with negative n")
	}
	g := Size(n, p)
	f := NewGeometry(g)
	f.n, f.p = uint64(max(n, 1)), p
	return f
}

// NewGeometry returns an empty Filter of geometry g. Cap and the sizing rate
// of such a filter are zero unless it was sized with New. It panics if g is
// not Valid.
func NewGeometry(g Geometry) *Filter {
	if !g.Valid() {
		panic("bloom: invalid geometry")
	}
	return &Filter{words: make([]uint64, g.Blocks*blockWords), geom: g}
}

// Size returns the geometry New uses for n keys at false-positive rate p. It
// panics if p is not in (0, 1) or n < 0. It costs about a millisecond the
// first time a rate is asked for, and nothing after (the result is cached).
//
// A classic Bloom filter of m bits holding n keys with k hash functions has a
// false-positive rate of (1 - e^(-kn/m))^k, minimised by k = (m/n) ln 2, which
// gives m/n = -ln p / (ln 2)^2 bits per key (9.59 at p = 0.01, 14.38 at
// p = 0.001).
//
// A blocked filter first picks one 512-bit block per key, so blocks hold a
// Poisson-distributed number of keys with mean λ = 512 / (m/n). Overfull
// blocks give most of the false positives, so at the same m/n a blocked
// filter is less accurate. Within its block a key sets its k bits three to a
// 64-bit word, in w = ceil(k/3) distinct words (see Locate), so that a
// concurrent Add needs few locked instructions. A given word then holds the
// bits of t ~ Binomial(j, w/8) of the block's j keys, and the rate is the
// mixture
//
//	fpr(c, k) = Σ_j Pois(j; 512/c) · Π_words E_t[(1 - (1 - 1/64)^(t·k/w))^b]
//
// for c bits per key, where b (3, or what is left for the last word) is how
// many of the query's bits fall in the word. Size picks, for each k near
// -log2 p, the smallest c with fpr(c, k) <= 0.97 p (by bisection). The bit
// positions are disjoint fields of one product (see Locate), and over 4M
// absent keys the rate measures within 3% of the model; the 0.97 leaves room
// for that and for the spread between key sets. Near the optimum the bits
// barely depend on K, while each word costs Add a locked instruction, so
// Size takes the fewest words whose best k is within 2% of the fewest bits,
// and that k. That gives 10.27 bits per key and K = 6 (two words) at
// p = 0.01, and 15.97 bits per key and K = 9 (three words) at p = 0.001 (the
// classic optimum needs 9.59 and 14.38; two bits per word, with half again
// as many locked instructions, would need about 2% fewer bits at p = 0.01);
// over 1M absent keys the tests measure 1.01 p and 0.96 p.
//
// The block count is n·c/512 rounded up.
func Size(n int, p float64) Geometry {
	if !(p > 0 && p < 1) || n < 0 {
		panic("bloom: Size with p outside (0, 1) or negative n")
	}
	c, k := optimal(p * sizingMargin)
	blocks := uint64(math.Ceil(float64(max(n, 1)) * c / BlockBits))
	return Geometry{Blocks: min(max(blocks, 1), MaxBlocks), K: k}
}

// Hash returns the 64-bit hash of key that Filter uses: xxhash64 with seed 0.
func Hash(key []byte) uint64 { return xxhash.Sum64(key) }

// HashString returns the 64-bit hash of key that Filter uses; it equals
// Hash([]byte(key)) without copying key.
func HashString(key string) uint64 { return xxhash.Sum64String(key) }

// Add adds key to f. It does not allocate.
func (f *Filter) Add(key []byte) { f.AddHash(xxhash.Sum64(key)) }

// AddString adds key to f without copying it. It does not allocate.
func (f *Filter) AddString(key string) { f.AddHash(xxhash.Sum64String(key)) }

// Test reports whether key may be in f: false means it was never added, true
// means it was added or is a false positive. It does not allocate.
func (f *Filter) Test(key []byte) bool { return f.TestHash(xxhash.Sum64(key)) }

// TestString is Test for a string key, without copying it.
func (f *Filter) TestString(key string) bool { return f.TestHash(xxhash.Sum64String(key)) }

// TestAndAdd adds key to f and reports whether it tested true before. Two
// goroutines adding the same new key at once may both see false.
func (f *Filter) TestAndAdd(key []byte) bool { return f.TestAndAddHash(xxhash.Sum64(key)) }

// TestAndAddString is TestAndAdd for a string key, without copying it.
func (f *Filter) TestAndAddString(key string) bool {
	return f.TestAndAddHash(xxhash.Sum64String(key))
}

// AddHash adds the key whose hash (see Hash) is h.
func (f *Filter) AddHash(h uint64) { f.addHash(h) }

// addLocked is addHash with a spin lock per block (one of 4096, by block
// index) around plain read-modify-writes of the words, done with atomic loads
// and stores to stay race-free. BenchmarkFilterAdd compares it with addHash;
// it lost, because Go's atomic store is itself a locked exchange on amd64.
func (f *Filter) addLocked(locks []atomic.Uint32, h uint64) {
	b := f.block(h)
	m := masks(h, f.geom.K)
	l := &locks[blockIndex(h, f.geom.Blocks)&uint64(len(locks)-1)]
	for !l.CompareAndSwap(0, 1) {
		runtime.Gosched()
	}
	for w := range blockWords {
		if m[w] != 0 {
			atomic.StoreUint64(&b[w], atomic.LoadUint64(&b[w])|m[w])
		}
	}
	l.Store(0)
}

// TestHash reports whether the key whose hash (see Hash) is h may be in f.
func (f *Filter) TestHash(h uint64) bool { return f.missing(h) == 0 }

// TestAndAddHash adds the key whose hash is h and reports whether it tested
// true before.
func (f *Filter) TestAndAddHash(h uint64) bool { return !f.addHash(h) }

// K returns the number of bits each key sets.
func (f *Filter) K() int { return f.geom.K }

// Cap returns the number of keys f was sized for by New, or 0.
func (f *Filter) Cap() int { return int(f.n) }

// Geometry returns f's geometry.
func (f *Filter) Geometry() Geometry { return f.geom }

// FillRatio returns the fraction of f's bits that are set, in [0, 1]. It
// reads every word: O(Bits).
func (f *Filter) FillRatio() float64 {
	var set int
	for i := range f.words {
		set += bits.OnesCount64(atomic.LoadUint64(&f.words[i]))
	}
	return float64(set) / float64(f.geom.Bits())
}

// EstimatedCount estimates how many distinct keys were added to f from the
// bits set in each block: Σ -512/K · ln(1 - x/512) over blocks with x bits
// set (Swamidass and Baldi), which stays close while f is not far past its
// capacity. It reads every word: O(Bits).
func (f *Filter) EstimatedCount() int {
	var est float64
	k := float64(f.geom.K)
	for i := 0; i < len(f.words); i += blockWords {
		var x int
		for w := range blockWords {
			x += bits.OnesCount64(atomic.LoadUint64(&f.words[i+w]))
		}
		if x == BlockBits {
			x = BlockBits - 1 // a full block says only "at least this many"
		}
		est += -BlockBits / k * math.Log1p(-float64(x)/BlockBits)
	}
	return int(math.Round(est))
}

// Union adds every key of g to f, so that f tests true for whatever f or g
// tested true for before. It returns ErrIncompatible if their geometries
// differ. It is safe to call while other goroutines use f or g; keys added to
// g during the call may or may not be carried over.
func (f *Filter) Union(g *Filter) error {
	if f.geom != g.geom {
		return ErrIncompatible
	}
	for i := range f.words {
		if v := atomic.LoadUint64(&g.words[i]); v != 0 {
			atomic.OrUint64(&f.words[i], v)
		}
	}
	return nil
}

// Intersect keeps in f only the bits also set in g, so f tests true only
// where both did (it may still test true for keys that neither holds, at
// about the rate of the fuller of the two). It returns ErrIncompatible if
// their geometries differ. Keys added to f during the call may or may not
// survive it.
func (f *Filter) Intersect(g *Filter) error {
	if f.geom != g.geom {
		return ErrIncompatible
	}
	for i := range f.words {
		atomic.AndUint64(&f.words[i], atomic.LoadUint64(&g.words[i]))
	}
	return nil
}

// Reset clears every bit of f. Keys added during the call may be lost.
func (f *Filter) Reset() {
	for i := range f.words {
		atomic.StoreUint64(&f.words[i], 0)
	}
}
