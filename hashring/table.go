package hashring

import (
	"math"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
)

// A Table is a Maglev lookup table (Eisenbud et al., "Maglev: A Fast and
// Reliable Software Network Load Balancer"): each of its entries, 2^16 by
// default, names a node. Every node walks its own permutation of the
// entries, and in each round every node takes the next entry of its walk
// if no node has taken it yet, until it owns its cap: the average share
// plus 10%/√nodes, at most 3% (3% up to 11 nodes, 1% at 100). A lookup hashes the key once and indexes the
// table with the top bits of the hash, so it is the fastest Picker, and no
// node owns more than its cap of entries. The price is a little more
// disruption than a Ring: when a node joins or leaves, a node at its cap
// fills up a little earlier or later, which moves a few keys between nodes
// that stay (none from 10 to 11 nodes, about 0.2% from 100 to 101; Maglev's
// own fill moves 0.3-0.6%). Changing membership rebuilds the table. Nodes
// all have the same weight.
//
// The same members map every key to the same node in every process. A
// Table is safe for concurrent use by multiple goroutines: lookups read an
// immutable snapshot and never wait for Add or Remove, which build the next
// table under a mutex, in about O(entries · log nodes) time. Create Tables
// with NewTable; the zero value is not usable.
type Table struct {
	size  int
	state atomic.Pointer[tableState]

	mu      sync.Mutex
	members []string // sorted; guarded by mu
}

type tableState struct {
	nodes   []string
	entries []uint16
	shift   uint32
}

// NewTable returns an empty Table. It panics if WithTableSize is given a
// size that is not a power of two between 2^8 and 2^24.
func NewTable(opts ...Option) *Table {
	c := newConfig(opts)
	if c.tableSize < 1<<8 || c.tableSize > 1<<24 || c.tableSize&(c.tableSize-1) != 0 {
		panic("hashring: table size must be a power of two between 2^8 and 2^24")
	}
	t := &Table{size: c.tableSize}
	t.state.Store(&tableState{})
	return t
}

// Lookup returns the node that owns key, or ok == false when the table is
// empty. It does not allocate and costs O(1).
func (t *Table) Lookup(key string) (node string, ok bool) {
	s := t.state.Load()
	if len(s.nodes) == 0 {
		return "", false
	}
	return s.nodes[s.entries[hashKey(key)>>s.shift]], true
}

// LookupBytes is Lookup for a key held in a byte slice.
func (t *Table) LookupBytes(key []byte) (node string, ok bool) {
	s := t.state.Load()
	if len(s.nodes) == 0 {
		return "", false
	}
	return s.nodes[s.entries[hashBytes(key)>>s.shift]], true
}

// Add adds nodes and rebuilds the table once. It returns ErrInvalidNode,
// ErrNodeExists (for a node already a member or named twice), or ErrFull
// when the table would have more nodes than entries or 65535 nodes; then it
// adds none.
func (t *Table) Add(nodes ...string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := checkNew(nodes, func(n string) bool { _, ok := slices.BinarySearch(t.members, n); return ok }); err != nil {
		return err
	}
	if len(t.members)+len(nodes) > min(t.size, 1<<16-1) {
		return ErrFull
	}
	t.members = append(t.members, nodes...)
	slices.Sort(t.members)
	t.state.Store(buildTable(slices.Clone(t.members), t.size))
	return nil
}

// Remove removes node and rebuilds the table. It returns ErrUnknownNode if
// node is not a member.
func (t *Table) Remove(node string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	i, found := slices.BinarySearch(t.members, node)
	if !found {
		return ErrUnknownNode
	}
	t.members = slices.Delete(t.members, i, i+1)
	t.state.Store(buildTable(slices.Clone(t.members), t.size))
	return nil
}

// Nodes returns the members in lexical order.
func (t *Table) Nodes() []string { return slices.Clone(t.state.Load().nodes) }

// Len returns the number of members.
func (t *Table) Len() int { return len(t.state.Load().nodes) }

// tableCap returns the most entries one of n nodes may own in a table of
// size entries: the average plus a slack of 10%/√n of it, at most 3%, and
// at least ⌈size/n⌉. The slack lets most nodes keep the entries their
// permutations reach first, which is what keeps other nodes' entries in
// place on a join or leave; it is computed from products and quotients
// of exact integers only, so it is the same on every machine.
func tableCap(n, size int) int {
	avg := size / n
	extra := int(float64(size) / (10 * float64(n) * math.Sqrt(float64(n))))
	extra = min(extra, size*3/(100*n))
	return max(avg+extra, (size+n-1)/n)
}

// buildTable fills a table of size entries (a power of two) for nodes.
// Node i's permutation starts at offset and steps by an odd skip, which
// visits every entry of a power-of-two table; both come from xxhash(name),
// so the table depends on the members alone.
//
// The fill goes in rounds: in round r every node, in the order of nodes,
// takes the r-th entry of its permutation if that entry is still free,
// until the node owns tableCap entries; then it drops out. So an entry
// goes to the node whose permutation reaches it first among the nodes
// not yet full. Unlike Maglev's fill, where every node takes its next free
// entry each turn and the nodes end with exactly equal shares, a node
// never skips ahead: a join or leave changes the owner of an entry only
// when the new node reaches it first, or when a full node fills up a little
// earlier or later, not along chains of displaced entries.
func buildTable(nodes []string, size int) *tableState {
	s := &tableState{nodes: nodes}
	n := len(nodes)
	if n == 0 {
		return s
	}
	mask := uint32(size - 1)
	k := uint32(0)
	for 1<<k < size {
		k++
	}
	s.shift = 64 - k
	limit := int32(tableCap(n, size))
	entries := make([]uint16, size)
	// taken marks claimed entries: 1/16 the size of entries, so the
	// probing stays in the L1 cache.
	taken := make([]uint64, (size+63)/64)
	type cursor struct {
		pos, skip uint32
		owned     int32
		node      uint16
	}
	// active holds the nodes not yet full, in order.
	active := make([]cursor, n)
	for i, node := range nodes {
		h := hashKey(node)
		active[i] = cursor{pos: uint32(h) & mask, skip: uint32(mix(h)>>32)&mask | 1, node: uint16(i)}
	}
	free := size
	// Rounds cost one step per node and claim fewer entries as the table
	// fills; once few entries are free, the endgame below finds each free
	// entry's claimant directly.
	for free > 2*size/n {
		j := 0
		for _, c := range active {
			// Branch-free: whether an entry is free is a coin toss.
			p := c.pos
			c.pos = (p + c.skip) & mask
			w, sh := p/64, p%64
			t := taken[w]
			isFree := uint32(^t>>sh) & 1
			taken[w] = t | 1<<sh
			e := entries[p]
			entries[p] = e ^ (e^c.node)&-uint16(isFree)
			free -= int(isFree)
			c.owned += int32(isFree)
			active[j] = c
			if c.owned < limit {
				j++
			}
		}
		active = active[:j]
	}
	if free == 0 {
		s.entries = entries
		return s
	}
	// Endgame: every active node stands at the same round, so the node
	// that would claim free entry f next is the one with the fewest steps
	// j from its position to f, ties going to the earlier node. Claims go
	// in order of (j, node); a claim by a node that has meanwhile filled up
	// passes to the entry's next claimant.
	inv := make([]uint32, len(active))
	for a, c := range active {
		x := c.skip // skip is odd: Newton's iteration inverts it mod 2^32
		for range 4 {
			x *= 2 - c.skip*x
		}
		inv[a] = x
	}
	// claim packs (steps, position in active, entry) into one key ordered
	// by steps, then node: 24 + 16 + 24 bits.
	claim := func(f uint32) uint64 {
		best := uint64(math.MaxUint64)
		for a, c := range active {
			if c.owned < limit {
				j := (f - c.pos) * inv[a] & mask
				best = min(best, uint64(j)<<40|uint64(a)<<24|uint64(f))
			}
		}
		return best
	}
	claims := make([]uint64, 0, free)
	for w, word := range taken {
		for word != ^uint64(0) {
			b := bits.TrailingZeros64(^word)
			word |= 1 << b
			if f := uint32(w*64 + b); f < uint32(size) {
				claims = append(claims, claim(f))
			}
		}
	}
	h := claimHeap(claims)
	h.init()
	for len(h) > 0 {
		top := h[0]
		f := uint32(top & (1<<24 - 1))
		if c := &active[uint16(top>>24)]; c.owned < limit {
			entries[f] = c.node
			c.owned++
			h.pop()
			continue
		}
		h[0] = claim(f)
		h.down(0)
	}
	s.entries = entries
	return s
}

// claimHeap is a binary min-heap of packed claims.
type claimHeap []uint64

func (h claimHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *claimHeap) pop() {
	old := *h
	old[0] = old[len(old)-1]
	*h = old[:len(old)-1]
	h.down(0)
}

func (h claimHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		if r := l + 1; r < len(h) && h[r] < h[l] {
			l = r
		}
		if h[i] <= h[l] {
			return
		}
		h[i], h[l] = h[l], h[i]
		i = l
	}
}
