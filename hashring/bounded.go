package hashring

import (
	"math"
	"sync"
)

// Bounded places keys on a Ring with bounded loads (Mirrokni, Thorup and
// Zadimoghaddam, "Consistent Hashing with Bounded Loads"): a key goes to the
// first node in ring order, starting at its owner, whose load is below its
// capacity ⌈c·(m+1)·w/W⌉, where m keys are placed, w is the node's weight
// and W the total weight. So no node takes a key that would bring it above
// ⌈c·average⌉ (for equal weights), and most keys still land on their owner.
// The capacity is always feasible: the capacities add up to more than m+1.
//
// Loads count assignments that come and go, as connections or sessions do:
// Acquire places a key and counts it, Release uncounts it. Placed keys never
// move, so after releases or a join a node can stay above the new ceiling
// until its keys go; it takes no more until then. Keys placed on a node that
// later leaves the ring stay counted until released.
//
// A Bounded is safe for concurrent use by multiple goroutines. Acquire and
// Release take a mutex; the Ring's lookups do not wait for them. Create
// one with NewBounded.
type Bounded struct {
	ring *Ring
	c    float64

	mu    sync.Mutex
	loads map[string]int // guarded by mu
	total int            // guarded by mu
	stats BoundedStats   // counters; guarded by mu
}

// BoundedStats is a snapshot of a Bounded's loads and counters.
type BoundedStats struct {
	// Total is the number of acquired keys held now, on all nodes.
	Total int
	// MaxLoad is the largest number of acquired keys one node holds now.
	MaxLoad int
	// Acquired counts the keys Acquire placed since NewBounded.
	Acquired uint64
	// Forwarded counts the keys Acquire placed on a node other than the
	// key's owner on the ring, because the owner was at its capacity: how
	// often the bound changed a placement.
	Forwarded uint64
	// Released counts the calls to Release that uncounted a key.
	Released uint64
	// Refused counts the calls to Acquire that returned ErrNoNodes.
	Refused uint64
}

// NewBounded returns a Bounded placing keys on r with load factor c. It
// returns ErrLoadFactor unless c is a finite number greater than 1.
func NewBounded(r *Ring, c float64) (*Bounded, error) {
	if !(c > 1) || math.IsInf(c, 0) {
		return nil, ErrLoadFactor
	}
	return &Bounded{ring: r, c: c, loads: make(map[string]int)}, nil
}

// Acquire places key on a node whose load stays within its capacity,
// counts it there and returns the node. Call Release(node) when the key
// goes away. It returns ErrNoNodes when the ring is empty. It costs
// O(probes + points skipped).
func (b *Bounded) Acquire(key string) (node string, err error) {
	return b.acquire(hashKey(key))
}

// AcquireBytes is Acquire for a key held in a byte slice.
func (b *Bounded) AcquireBytes(key []byte) (node string, err error) {
	return b.acquire(hashBytes(key))
}

func (b *Bounded) acquire(h uint64) (string, error) {
	s := b.ring.state.Load()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(s.points) == 0 {
		b.stats.Refused++
		return "", ErrNoNodes
	}
	perWeight := b.c * float64(b.total+1) / float64(s.totalWeight)
	i := s.find(h)
	owner := uint32(s.points[i])
	for range s.points {
		o := uint32(s.points[i])
		node := s.nodes[o]
		if load := b.loads[node]; load < capacity(perWeight*float64(s.weights[o])) {
			b.loads[node] = load + 1
			b.total++
			b.stats.Acquired++
			if o != owner {
				b.stats.Forwarded++
			}
			return node, nil
		}
		if i++; i == len(s.points) {
			i = 0
		}
	}
	// Unreachable: the capacities add up to more than c·(m+1) > m+1.
	return "", ErrNoNodes
}

// Release uncounts one key that Acquire placed on node. It returns
// ErrNotAcquired if node holds no acquired keys.
func (b *Bounded) Release(node string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	load := b.loads[node]
	if load == 0 {
		return ErrNotAcquired
	}
	if load == 1 {
		delete(b.loads, node)
	} else {
		b.loads[node] = load - 1
	}
	b.total--
	b.stats.Released++
	return nil
}

// Load returns the number of acquired keys node holds.
func (b *Bounded) Load(node string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.loads[node]
}

// Total returns the number of acquired keys on all nodes.
func (b *Bounded) Total() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.total
}

// Stats returns the current loads and the counters since NewBounded. It
// takes the mutex Acquire and Release take, and costs O(nodes holding
// keys).
func (b *Bounded) Stats() BoundedStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.stats
	st.Total = b.total
	for _, l := range b.loads {
		st.MaxLoad = max(st.MaxLoad, l)
	}
	return st
}

// capacity returns ⌈x⌉, forgiving the rounding of c·(m+1)·w/W: for c = 1.1,
// m+1 = 10 and W = 1 that product is 11.000000000000002, not 11.
func capacity(x float64) int {
	return int(math.Ceil(x * (1 - 1e-12)))
}
