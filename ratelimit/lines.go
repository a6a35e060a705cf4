package ratelimit

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

const (
	// lineSlots is how many keys a line holds.
	lineSlots = 3
	// loadFactor is how many keys per line a shard holds, on average,
	// before it doubles its lines: at 2, about one key in ten waits in
	// the overflow table; after doubling, about one in forty.
	loadFactor = 2
	// sweepLines is how many lines, besides its own, an insert looks at
	// to drop full buckets and, at the cap, to pick one to evict.
	sweepLines = 3
	// flushAt is the count at which a line moves its decision counters
	// into its shard's, so that the 32-bit counters never wrap.
	flushAt = 1 << 31
)

// A line is one cache line: its lock, its decision counters and the states
// of up to lineSlots keys. A decision on a key held here writes this line
// and no other, so that when two cores decide on keys of one shard, only the
// line of the key moves between them.
type line struct {
	mu sync.Mutex
	// Decisions made here since the last flush into the shard's counters;
	// guarded by mu.
	allowed, denied uint32
	h               [lineSlots]uint64 // key hashes, never 0; 0 marks a free slot; guarded by mu
	tat             [lineSlots]int64  // theoretical arrival times, ns since Local.base; guarded by mu
}

// find returns the slot holding hash h, or -1.
func (b *line) find(h uint64) int {
	for i, x := range b.h {
		if x == h {
			return i
		}
	}
	return -1
}

// dropFull deletes the entries whose bucket is full again at now and returns
// how many it deleted.
func (b *line) dropFull(now int64) (n int) {
	for i := range b.h {
		if b.h[i] != 0 && b.tat[i] <= now {
			b.h[i] = 0
			n++
		}
	}
	return n
}

// oldest returns the occupied slot with the earliest arrival time, or -1.
func (b *line) oldest() int {
	v := -1
	for i := range b.h {
		if b.h[i] != 0 && (v < 0 || b.tat[i] < b.tat[v]) {
			v = i
		}
	}
	return v
}

// A lineArray is the lines of a shard: a power of two of them, indexed
// by a key hash's low bits. A shard replaces its array whole when it grows.
type lineArray struct {
	b []line
}

func newLineArray(n int) *lineArray { return &lineArray{b: make([]line, n)} }

func (a *lineArray) of(h uint64) *line { return &a.b[h&uint64(len(a.b)-1)] }

// overflowHash is the hash under which a key is kept in the overflow table:
// the keys there share their low bits with their line's others, so the
// table indexes them by other bits.
func overflowHash(h uint64) uint64 { return bits.RotateLeft64(h, 32) }

// A localShard is the keys whose hash has the same top bits. Locks are taken
// in the order growMu, then lines (in index order when more than one is
// waited for), then mu; a line beyond the first is only ever tried, never
// waited for.
type localShard struct {
	// arr is read by every decision and replaced only when the shard grows:
	// alone on its cache line, it stays in every core's cache.
	arr atomic.Pointer[lineArray]
	_   [56]byte

	growMu sync.Mutex // serialises grow and Stats

	mu   sync.Mutex
	over table // keys whose line was full; guarded by mu
	n    int   // keys held, in the lines and over; guarded by mu
	hand int   // the next line an insert sweeps; guarded by mu
	// Counters for Stats, guarded by mu: those the lines flushed, and
	// the keys dropped and evicted.
	allowed, denied, dropped, evicted uint64
	_                                 [24]byte
}

// lock returns the current array and the locked line of hash h.
func (s *localShard) lock(h uint64) (*lineArray, *line) {
	for {
		a := s.arr.Load()
		b := a.of(h)
		b.mu.Lock()
		// A shard grows holding every line of the old array: once this one
		// is held, a replaced array is seen as replaced.
		if s.arr.Load() == a {
			return a, b
		}
		b.mu.Unlock()
	}
}

// flush moves b's decision counters into the shard's. It requires b.mu to be
// held and s.mu not to be.
func (s *localShard) flush(b *line) {
	s.mu.Lock()
	s.allowed += uint64(b.allowed)
	s.denied += uint64(b.denied)
	s.mu.Unlock()
	b.allowed, b.denied = 0, 0
}

// insert remembers hash h, which is in neither b nor the overflow table,
// with arrival time tat. It first drops full buckets in b and a few other lines
// and, at the cap, evicts the sampled key nearest to full. It reports whether
// the shard should grow. It requires b.mu and s.mu to be held.
func (s *localShard) insert(a *lineArray, b *line, h uint64, tat, now int64, capacity int) (grow bool) {
	d := b.dropFull(now)
	d += s.sweep(a, b, now)
	if s.over.n > 0 {
		d += s.over.sweep(now)
	}
	s.n -= d
	s.dropped += uint64(d)
	if s.n >= capacity && !s.evict(a, b) {
		// Every other key of the sample was busy: the new key is the one
		// not remembered, as if evicted at once.
		s.evicted++
		return false
	}
	if i := b.find(0); i >= 0 {
		b.h[i], b.tat[i] = h, tat
	} else {
		s.over.insert(overflowHash(h), tat)
	}
	s.n++
	return s.n > loadFactor*len(a.b) && loadFactor*len(a.b) < capacity
}

// sweep drops full buckets in the sweepLines lines after the hand, skipping
// b and any line another goroutine holds, and returns how many keys it
// dropped. It requires b.mu and s.mu to be held.
func (s *localShard) sweep(a *lineArray, b *line, now int64) (n int) {
	mask := len(a.b) - 1
	for range min(sweepLines, len(a.b)) {
		c := &a.b[s.hand&mask]
		s.hand = (s.hand + 1) & mask
		if c != b && c.mu.TryLock() {
			n += c.dropFull(now)
			c.mu.Unlock()
		}
	}
	return n
}

// evict deletes, of b's keys, those of the next lines after the hand and a
// sample of the overflow table, the one with the earliest arrival time: the
// one nearest to full, whose state is worth least. It looks at least at
// sweepLines lines besides b, and on until it has a key, skipping lines
// another goroutine holds. It reports false, deleting nothing, if it found
// no key. It requires b.mu and s.mu to be held.
func (s *localShard) evict(a *lineArray, b *line) bool {
	best, slot := b, b.oldest() // best is locked
	mask := len(a.b) - 1
	for seen := 0; seen < len(a.b) && (seen < sweepLines || slot < 0); seen++ {
		c := &a.b[s.hand&mask]
		s.hand = (s.hand + 1) & mask
		if c == b || !c.mu.TryLock() {
			continue
		}
		if i := c.oldest(); i >= 0 && (slot < 0 || c.tat[i] < best.tat[slot]) {
			if best != b {
				best.mu.Unlock()
			}
			best, slot = c, i
			continue
		}
		c.mu.Unlock()
	}
	o := s.over.oldest()
	switch {
	case o >= 0 && (slot < 0 || s.over.e[o].tat < best.tat[slot]):
		s.over.del(o)
	case slot >= 0:
		best.h[slot] = 0
	default:
		return false
	}
	if best != b {
		best.mu.Unlock()
	}
	s.n--
	s.evicted++
	return true
}

// grow doubles the lines of a shard whose array is old, unless another
// goroutine did already. Decisions on the shard wait meanwhile: it costs
// O(keys in the shard).
func (s *localShard) grow(old *lineArray, capacity int) {
	s.growMu.Lock()
	defer s.growMu.Unlock()
	if s.arr.Load() != old {
		return
	}
	for i := range old.b {
		old.b[i].mu.Lock()
	}
	s.mu.Lock()
	if s.n > loadFactor*len(old.b) && loadFactor*len(old.b) < capacity {
		a := newLineArray(2 * len(old.b))
		var over table
		put := func(h uint64, tat int64) {
			b := a.of(h)
			if i := b.find(0); i >= 0 {
				b.h[i], b.tat[i] = h, tat
			} else {
				over.insert(overflowHash(h), tat)
			}
		}
		for i := range old.b {
			b := &old.b[i]
			s.allowed += uint64(b.allowed)
			s.denied += uint64(b.denied)
			for j, h := range b.h {
				if h != 0 {
					put(h, b.tat[j])
				}
			}
		}
		for _, e := range s.over.e {
			if e.h != 0 {
				put(overflowHash(e.h), e.tat) // the rotation by 32 is its own inverse
			}
		}
		s.over = over
		s.hand = 0
		s.arr.Store(a)
	}
	s.mu.Unlock()
	for i := range old.b {
		old.b[i].mu.Unlock()
	}
}
