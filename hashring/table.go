package hashring

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"
)

// A Table is a Maglev lookup table (Eisenbud et al., "Maglev: A Fast and
// Reliable Software Network Load Balancer"): each of its entries, 2^16 by
// default, names a node, filled by letting every node claim entries in the
// order of its own permutation in turn. A lookup hashes the key once and
// indexes the table with the top bits of the hash, so it is the fastest
// Picker and balances within a few parts per thousand of perfect. The price
// is a little more disruption than a Ring: a join moves a small share of
// keys between nodes that stay, and changing membership rebuilds the table.
// Nodes all have the same weight.
//
// The same members map every key to the same node in every process. A
// Table is safe for concurrent use by multiple goroutines: lookups read an
// immutable snapshot and never wait for Add or Remove, which build the next
// table under a mutex, in O(entries · log entries) time. Create Tables
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

// buildTable fills a table of size entries (a power of two) for nodes. Node
// i's permutation starts at offset and steps by an odd skip, which visits
// every entry of a power-of-two table; both come from xxhash(name), so the
// table depends on the members alone.
func buildTable(nodes []string, size int) *tableState {
	s := &tableState{nodes: nodes}
	if len(nodes) == 0 {
		return s
	}
	mask := uint32(size - 1)
	k := uint32(0)
	for 1<<k < size {
		k++
	}
	s.shift = 64 - k
	entries := make([]uint16, size)
	// taken marks claimed entries: 1/16 the size of entries, so the
	// probing stays in the L1 cache.
	taken := make([]uint64, size/64)
	type cursor struct{ pos, skip uint32 }
	cur := make([]cursor, len(nodes))
	for i, n := range nodes {
		h := hashKey(n)
		cur[i] = cursor{pos: uint32(h) & mask, skip: uint32(mix(h)>>32)&mask | 1}
	}
	// Nodes claim entries in turn, each its next free entry in its own
	// permutation. Probing for it costs size/free steps, so once few
	// entries are free, scanning them is cheaper: the next free entry is
	// the one the fewest steps along the permutation. Both find the same.
	const endgame = 256
	filled, turn := 0, 0
	for ; size-filled > endgame; filled++ {
		c := &cur[turn]
		p := c.pos
		for taken[(p/64)&(mask/64)]&(1<<(p%64)) != 0 {
			p = (p + c.skip) & mask
		}
		taken[(p/64)&(mask/64)] |= 1 << (p % 64)
		entries[p&mask] = uint16(turn)
		c.pos = (p + c.skip) & mask
		if turn++; turn == len(cur) {
			turn = 0
		}
	}
	free := make([]uint32, 0, size-filled)
	for w, word := range taken {
		for b := range 64 {
			if word&(1<<b) == 0 {
				free = append(free, uint32(w*64+b))
			}
		}
	}
	for ; filled < size; filled++ {
		c := &cur[turn]
		// f = pos + j·skip (mod size), so j = (f - pos)·skip⁻¹.
		inv := c.skip // skip is odd: Newton's iteration inverts it mod 2^32
		for range 4 {
			inv *= 2 - c.skip*inv
		}
		best, bestSteps := 0, uint32(math.MaxUint32)
		for i, f := range free {
			if j := ((f - c.pos) * inv) & mask; j < bestSteps {
				best, bestSteps = i, j
			}
		}
		p := free[best]
		free[best] = free[len(free)-1]
		free = free[:len(free)-1]
		entries[p] = uint16(turn)
		c.pos = (p + c.skip) & mask
		if turn++; turn == len(cur) {
			turn = 0
		}
	}
	s.entries = entries
	return s
}
