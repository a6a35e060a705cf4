package bloom

import (
	"math"
	"sync"
)

const (
	// BlockBits is the number of bits in one block: one 64-byte cache line.
	BlockBits = 512

	blockWords = BlockBits / 64

	// MaxK is the largest number of bits a Filter sets per key.
	MaxK = 32

	// MaxBlocks is the largest number of blocks a Filter may have (2^32
	// blocks, 256 GiB): the block index is taken from 32 bits of the hash.
	MaxBlocks = 1 << 32
)

// A Geometry is the shape of a blocked filter: how many 512-bit blocks it has
// and how many bits each key sets within its block. Two filters with the same
// Geometry hash every key to the same bits, which is what Union, Intersect,
// the binary encoding and package redisbloom rely on.
type Geometry struct {
	// Blocks is the number of 512-bit blocks, in [1, MaxBlocks].
	Blocks uint64
	// K is the number of bits set per key, in [1, MaxK].
	K int
}

// Valid reports whether g describes a filter that can be built.
func (g Geometry) Valid() bool {
	return g.Blocks >= 1 && g.Blocks <= MaxBlocks && g.K >= 1 && g.K <= MaxK
}

// Bits returns the number of bits in a filter of geometry g.
func (g Geometry) Bits() uint64 { return g.Blocks * BlockBits }

// blockedFPR returns the expected false-positive rate of a blocked filter with
// c bits per key and k bits per key within a 512-bit block, three to a word
// in ceil(k/3) distinct words of the block (see wordSteps).
func blockedFPR(c float64, k int) float64 {
	lambda := BlockBits / c
	words := wordsPerKey(k)
	q := float64(words) / blockWords // the chance a key touches a given word
	perHit := float64(k) / float64(words)
	logq := math.Log1p(-1.0 / 64)
	// Sum the Poisson terms around the mean; the tails beyond 12 standard
	// deviations are negligible at any rate we size for.
	sd := math.Sqrt(lambda)
	lo := int(math.Max(0, math.Floor(lambda-12*sd-2)))
	hi := int(math.Ceil(lambda + 12*sd + 2))
	lg, _ := math.Lgamma(float64(lo + 1))
	pj := math.Exp(float64(lo)*math.Log(lambda) - lambda - lg)
	bs := wordBits(k)
	var sum float64
	for j := lo; j <= hi; j++ {
		// Of the j keys in the block, a binomial number t touch a given
		// word, each setting perHit of its 64 bits; a query needs b bits
		// in each of its words, found with probability E[fill(t)^b].
		var e [6]float64                // E[fill^b] for b = 1 to 6 (MaxK = 32 puts 6 in a word)
		pt := math.Pow(1-q, float64(j)) // Binomial(j, q) at t = 0
		for t := 0; t <= j; t++ {
			if q == 1 {
				pt = 0
				if t == j {
					pt = 1
				}
			}
			fill := -math.Expm1(perHit * float64(t) * logq)
			for b, fb := 0, fill; b < len(e); b, fb = b+1, fb*fill {
				e[b] += pt * fb
			}
			if q < 1 {
				pt *= float64(j-t) / float64(t+1) * q / (1 - q)
			}
		}
		v := 1.0
		for _, b := range bs {
			v *= e[b-1]
		}
		sum += pj * v
		pj *= lambda / float64(j+1)
	}
	return sum
}

// wordsPerKey returns how many distinct words of its block a key's k bits
// fall in (see wordOf).
func wordsPerKey(k int) int { return min((k+bitsPerWord-1)/bitsPerWord, blockWords) }

// wordBits returns how many of a key's k bits fall in each of the words it
// touches (see wordOf).
func wordBits(k int) []int {
	bs := make([]int, wordsPerKey(k))
	for i := range k {
		bs[(i/bitsPerWord)%blockWords]++
	}
	return bs
}

// bitsPerKey returns the smallest c with blockedFPR(c, k) <= p.
func bitsPerKey(p float64, k int) float64 {
	// A blocked filter never beats the classic optimum, and at twice it
	// plus a margin any k near -log2 p is below p.
	lo := -math.Log(p) / (math.Ln2 * math.Ln2)
	hi := 2*lo + 4
	for blockedFPR(hi, k) > p {
		// Only tiny rates with K capped at MaxK get here.
		if hi > 1<<12 {
			return math.Inf(1)
		}
		lo, hi = hi, 2*hi
	}
	for range 22 {
		mid := (lo + hi) / 2
		if blockedFPR(mid, k) <= p {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// sizingMargin is the part of the requested rate the model is asked for. The
// model assumes independent bit positions, and Filter's measure as such:
// sizing for 0.97 p puts the measured rate near 0.97 p, inside
// [0.8 p, 1.1 p] with room for the spread between key sets.
const sizingMargin = 0.97

// optimal returns the bits per key and k that reach p with the fewest bits
// under the Poisson block model.
func optimal(p float64) (c float64, k int) {
	if v, ok := sizes.Load(p); ok {
		s := v.(sized)
		return s.c, s.k
	}
	c, k = searchOptimal(p)
	sizes.Store(p, sized{c, k})
	return c, k
}

// sizes caches optimal by rate: the search costs about half a millisecond,
// and programs create many filters with the same few rates.
var sizes sync.Map // float64 -> sized

type sized struct {
	c float64
	k int
}

func searchOptimal(p float64) (c float64, k int) {
	k0 := int(math.Round(-math.Log2(p)))
	lo, hi := max(1, min(k0, MaxK)-3), min(MaxK, k0+1)
	cs := make([]float64, hi+1)
	best := math.Inf(1)
	for kk := lo; kk <= hi; kk++ {
		cs[kk] = bitsPerKey(p, kk)
		best = min(best, cs[kk])
	}
	// Near the optimum the bits barely depend on K, while every word a key
	// touches costs Add a locked instruction, about a fifth of its time: take
	// the fewest words whose best K is within 2% of the fewest bits, and
	// that K.
	c, k = math.Inf(1), hi
	for kk := lo; kk <= hi; kk++ {
		if cs[kk] > best*1.02 {
			continue
		}
		if w, wk := wordsPerKey(kk), wordsPerKey(k); w < wk || w == wk && cs[kk] < c {
			c, k = cs[kk], kk
		}
	}
	return c, k
}
