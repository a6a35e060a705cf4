package hashring

import (
	"slices"
	"sync"
	"sync/atomic"
)

// A Placement maps keys to nodes with AnchorHash (Mendelson et al.,
// "AnchorHash: A Scalable Consistent Hash"), a relative of jump hash
// without its flaw: removing any node, not just the last one, moves only
// that node's keys, and adding a node moves keys only to it. A lookup costs
// one hash and, once nodes have left, a few more steps; balance is as even
// as the hash, and the state is 16 bytes per unit of capacity.
//
// A Placement holds at most its capacity of nodes. Its mapping depends on
// the order of Add and Remove calls, not only on the members: processes
// agree when they apply the same calls in the same order (a node added
// takes the bucket of the node removed last).
//
// A Placement is safe for concurrent use by multiple goroutines. Lookups
// read an immutable snapshot and never wait; Add and Remove copy the state
// under a mutex, in O(capacity). Create Placements with NewPlacement;
// the zero value is not usable.
type Placement struct {
	state atomic.Pointer[anchorState]

	mu      sync.Mutex
	changes atomic.Uint64 // written under mu
}

// anchorState is AnchorHash's state: A, K, W and L as in the paper, the
// stack of removed buckets and the node in each bucket.
type anchorState struct {
	a       []uint32 // 0 for a working bucket; for a removed one, the working count after its removal
	k       []uint32 // successor of a removed bucket
	w       []uint32 // working buckets, in the first n places
	l       []uint32 // place of each bucket in w
	removed []uint32 // stack of removed buckets
	n       uint32   // number of working buckets
	names   []string // node in each working bucket
	buckets map[string]uint32
}

// NewPlacement returns an empty Placement that can hold up to capacity
// nodes. It panics if capacity < 1 or capacity >= 2^31.
func NewPlacement(capacity int) *Placement {
	if capacity < 1 || capacity >= 1<<31 {
		panic("hashring: placement capacity must be between 1 and 2^31-1")
	}
	s := &anchorState{
		a:       make([]uint32, capacity),
		k:       make([]uint32, capacity),
		w:       make([]uint32, capacity),
		l:       make([]uint32, capacity),
		removed: make([]uint32, 0, capacity),
		names:   make([]string, capacity),
		buckets: make(map[string]uint32),
	}
	for b := capacity - 1; b >= 0; b-- {
		s.a[b], s.k[b], s.w[b], s.l[b] = uint32(b), uint32(b), uint32(b), uint32(b)
		s.removed = append(s.removed, uint32(b))
	}
	p := &Placement{}
	p.state.Store(s)
	return p
}

// Lookup returns the node that owns key, or ok == false when there are no
// nodes. It does not allocate.
func (p *Placement) Lookup(key string) (node string, ok bool) {
	s := p.state.Load()
	if s.n == 0 {
		return "", false
	}
	return s.names[s.bucket(hashKey(key))], true
}

// LookupBytes is Lookup for a key held in a byte slice.
func (p *Placement) LookupBytes(key []byte) (node string, ok bool) {
	s := p.state.Load()
	if s.n == 0 {
		return "", false
	}
	return s.names[s.bucket(hashBytes(key))], true
}

// bucket is AnchorHash's GetBucket.
func (s *anchorState) bucket(h uint64) uint32 {
	b := reduce(h, uint32(len(s.a)))
	for s.a[b] > 0 {
		ab := s.a[b]
		x := reduce(mix(h^uint64(b)*golden), ab)
		for s.a[x] >= ab {
			x = s.k[x]
		}
		b = x
	}
	return b
}

// Add adds nodes in order, each in the bucket of the node removed last, so
// keys move only to them. It returns ErrInvalidNode, ErrNodeExists (for a
// node already a member or named twice), or ErrFull when the Placement
// would hold more than its capacity; then it adds none.
func (p *Placement) Add(nodes ...string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.state.Load()
	if err := checkNew(nodes, func(n string) bool { _, ok := old.buckets[n]; return ok }); err != nil {
		return err
	}
	if len(nodes) > len(old.removed) {
		return ErrFull
	}
	s := old.clone()
	for _, node := range nodes {
		b := s.removed[len(s.removed)-1]
		s.removed = s.removed[:len(s.removed)-1]
		s.a[b] = 0
		s.l[s.w[s.n]] = s.n
		s.w[s.l[b]] = b
		s.k[b] = b
		s.n++
		s.names[b] = node
		s.buckets[node] = b
	}
	p.state.Store(s)
	p.changes.Add(1)
	return nil
}

// Remove removes node; only its keys move. It returns ErrUnknownNode if
// node is not a member.
func (p *Placement) Remove(node string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.state.Load()
	b, ok := old.buckets[node]
	if !ok {
		return ErrUnknownNode
	}
	s := old.clone()
	s.removed = append(s.removed, b)
	s.n--
	s.a[b] = s.n
	s.w[s.l[b]] = s.w[s.n]
	s.l[s.w[s.n]] = s.l[b]
	s.k[b] = s.w[s.n]
	s.names[b] = ""
	delete(s.buckets, node)
	p.state.Store(s)
	p.changes.Add(1)
	return nil
}

// Stats returns the number of members and of membership changes so far.
// It does not wait for a membership change in progress.
func (p *Placement) Stats() Stats {
	return Stats{Nodes: int(p.state.Load().n), Changes: p.changes.Load()}
}

// Nodes returns the members in lexical order.
func (p *Placement) Nodes() []string {
	s := p.state.Load()
	nodes := make([]string, 0, len(s.buckets))
	for n := range s.buckets {
		nodes = append(nodes, n)
	}
	slices.Sort(nodes)
	return nodes
}

// Len returns the number of members.
func (p *Placement) Len() int { return int(p.state.Load().n) }

// Capacity returns the largest number of nodes p can hold.
func (p *Placement) Capacity() int { return len(p.state.Load().a) }

func (s *anchorState) clone() *anchorState {
	c := &anchorState{
		a:       slices.Clone(s.a),
		k:       slices.Clone(s.k),
		w:       slices.Clone(s.w),
		l:       slices.Clone(s.l),
		removed: slices.Clone(s.removed),
		n:       s.n,
		names:   slices.Clone(s.names),
		buckets: make(map[string]uint32, len(s.buckets)+1),
	}
	for k, v := range s.buckets {
		c.buckets[k] = v
	}
	return c
}
