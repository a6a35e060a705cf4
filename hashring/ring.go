package hashring

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

// A Ring is a consistent hash ring: each node owns points on a circle of
// 2^32 positions (its virtual nodes, in proportion to its weight), and a key
// belongs to the node whose point is nearest after one of the key's probes.
// Adding a node moves keys only to it; removing one moves only its keys.
// The same members with the same weights map every key to the same node in
// every process, whatever order they were added in.
//
// A Ring is safe for concurrent use by multiple goroutines. Lookups read an
// immutable snapshot and never wait for writers; Add, Remove and SetWeight
// build the next snapshot under a mutex and publish it atomically, so a
// membership change costs O(points) and no lookup waits for it. Create
// Rings with New; the zero value is not usable.
type Ring struct {
	vnodes int
	probes int
	state  atomic.Pointer[ringState]

	mu      sync.Mutex
	members map[string]*ringMember // guarded by mu
	scratch []uint64               // radix sort buffer; guarded by mu
	changes atomic.Uint64          // written under mu
}

type ringMember struct {
	weight int
	points []uint32 // positions of the node's virtual nodes, unsorted
}

// ringState is an immutable snapshot of a Ring.
type ringState struct {
	nodes       []string // sorted; owners index it
	weights     []int
	totalWeight int
	// points holds position<<32 | owner, sorted; equal positions are
	// ordered by node name.
	points []uint64
	// index[b] is the first point at or after position b<<shift.
	index  []uint32
	shift  uint32
	probes int
}

// New returns an empty Ring. It panics if an option is out of range (see
// WithVirtualNodes and WithProbes).
func New(opts ...Option) *Ring {
	c := newConfig(opts)
	if c.vnodes < 1 {
		panic("hashring: virtual nodes must be at least 1")
	}
	if c.probes < 1 || c.probes > 16 {
		panic("hashring: probes must be between 1 and 16")
	}
	r := &Ring{vnodes: c.vnodes, probes: c.probes, members: make(map[string]*ringMember)}
	r.state.Store(&ringState{probes: c.probes})
	return r
}

// Lookup returns the node that owns key, or ok == false when the ring is
// empty. It does not allocate and costs O(probes).
func (r *Ring) Lookup(key string) (node string, ok bool) {
	s := r.state.Load()
	if len(s.points) == 0 {
		return "", false
	}
	return s.nodes[uint32(s.points[s.find(hashKey(key))])], true
}

// LookupBytes is Lookup for a key held in a byte slice. It does not
// allocate, and returns the same node as Lookup(string(key)).
func (r *Ring) LookupBytes(key []byte) (node string, ok bool) {
	s := r.state.Load()
	if len(s.points) == 0 {
		return "", false
	}
	return s.nodes[uint32(s.points[s.find(hashBytes(key))])], true
}

// LookupN returns up to n distinct nodes for key in ring order: the owner
// first, then the owners of the following points, skipping nodes already
// returned. That is the usual replica placement; fewer than n nodes are
// returned when the ring has fewer members.
func (r *Ring) LookupN(key string, n int) []string {
	return r.AppendN(nil, key, n)
}

// AppendN appends LookupN(key, n) to dst and returns the extended slice. It
// does not allocate when dst has room and n <= 64.
func (r *Ring) AppendN(dst []string, key string, n int) []string {
	s := r.state.Load()
	if len(s.points) == 0 || n <= 0 {
		return dst
	}
	n = min(n, len(s.nodes))
	i := s.find(hashKey(key))
	if n <= 64 {
		var seen [64]uint32
		got := 0
		for steps := 0; got < n && steps < len(s.points); steps++ {
			o := uint32(s.points[i])
			if !slices.Contains(seen[:got], o) {
				seen[got] = o
				got++
				dst = append(dst, s.nodes[o])
			}
			if i++; i == len(s.points) {
				i = 0
			}
		}
		return dst
	}
	seen := make([]bool, len(s.nodes))
	got := 0
	for steps := 0; got < n && steps < len(s.points); steps++ {
		o := uint32(s.points[i])
		if !seen[o] {
			seen[o] = true
			got++
			dst = append(dst, s.nodes[o])
		}
		if i++; i == len(s.points) {
			i = 0
		}
	}
	return dst
}

// find returns the index of the point that owns a key hashed to h: of the
// successors of the key's probes, the one nearest its probe.
func (s *ringState) find(h uint64) int {
	x := uint32(h >> 32)
	best := s.successor(x)
	bestDist := uint32(s.points[best]>>32) - x
	for j := 1; j < s.probes; j++ {
		x := uint32(mix(h+uint64(j)*golden) >> 32)
		i := s.successor(x)
		if d := uint32(s.points[i]>>32) - x; d < bestDist {
			best, bestDist = i, d
		}
	}
	return best
}

// successor returns the index of the first point at or after position x,
// wrapping to 0.
func (s *ringState) successor(x uint32) int {
	i := int(s.index[x>>s.shift])
	lo := uint64(x) << 32
	for i < len(s.points) && s.points[i] < lo {
		i++
	}
	if i == len(s.points) {
		i = 0
	}
	return i
}

// Add adds nodes, each with weight 1, in one membership change. It returns
// ErrInvalidNode for an empty name and ErrNodeExists for a node already a
// member or named twice, and then adds none.
func (r *Ring) Add(nodes ...string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := checkNew(nodes, func(n string) bool { _, ok := r.members[n]; return ok }); err != nil {
		return err
	}
	for _, n := range nodes {
		r.members[n] = &ringMember{weight: 1, points: appendPoints(nil, n, 0, r.vnodes)}
	}
	if len(nodes) == 1 {
		r.publishAdded(nodes[0])
	} else {
		r.publish()
	}
	return nil
}

// AddWeighted adds node with the given weight: it gets weight times the
// points, and so about weight times the keys, of a node of weight 1. It
// returns ErrInvalidNode, ErrNodeExists or ErrInvalidWeight.
func (r *Ring) AddWeighted(node string, weight int) error {
	if err := checkName(node); err != nil {
		return err
	}
	if weight < 1 || weight > MaxWeight {
		return ErrInvalidWeight
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.members[node]; ok {
		return fmt.Errorf("%w: %q", ErrNodeExists, node)
	}
	r.members[node] = &ringMember{weight: weight, points: appendPoints(nil, node, 0, weight*r.vnodes)}
	r.publishAdded(node)
	return nil
}

// Remove removes node; only the keys it owned move. It returns
// ErrUnknownNode if node is not a member.
func (r *Ring) Remove(node string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.members[node]; !ok {
		return ErrUnknownNode
	}
	delete(r.members, node)
	r.publishRemoved(node)
	return nil
}

// SetWeight changes the weight of node. Raising it adds points, so keys
// move only to node; lowering it removes points, so only node's keys move.
// It returns ErrUnknownNode or ErrInvalidWeight.
func (r *Ring) SetWeight(node string, weight int) error {
	if weight < 1 || weight > MaxWeight {
		return ErrInvalidWeight
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.members[node]
	if !ok {
		return ErrUnknownNode
	}
	if weight == m.weight {
		return nil
	}
	want := weight * r.vnodes
	if want <= len(m.points) {
		m.points = slices.Clip(m.points[:want])
	} else {
		m.points = appendPoints(m.points, node, len(m.points), want)
	}
	m.weight = weight
	r.publish()
	return nil
}

// Weight returns the weight of node, or ok == false if it is not a member.
func (r *Ring) Weight(node string) (weight int, ok bool) {
	s := r.state.Load()
	if i, found := slices.BinarySearch(s.nodes, node); found {
		return s.weights[i], true
	}
	return 0, false
}

// Stats returns the number of members and of membership changes so far.
// It does not wait for a membership change in progress.
func (r *Ring) Stats() Stats {
	return Stats{Nodes: len(r.state.Load().nodes), Changes: r.changes.Load()}
}

// Nodes returns the members in lexical order.
func (r *Ring) Nodes() []string {
	return slices.Clone(r.state.Load().nodes)
}

// Len returns the number of members.
func (r *Ring) Len() int { return len(r.state.Load().nodes) }

// appendPoints appends the positions of node's virtual nodes from..to-1.
// Position i is the top half of xxhash(node || uint32le(i)): part of the
// package's compatibility promise.
func appendPoints(dst []uint32, node string, from, to int) []uint32 {
	buf := make([]byte, len(node)+4)
	copy(buf, node)
	for i := from; i < to; i++ {
		binary.LittleEndian.PutUint32(buf[len(node):], uint32(i))
		dst = append(dst, uint32(xxhash.Sum64(buf)>>32))
	}
	return dst
}

// publish builds a snapshot of r.members and makes it current. It requires
// r.mu to be held.
func (r *Ring) publish() {
	s := &ringState{probes: r.probes}
	s.nodes = make([]string, 0, len(r.members))
	total := 0
	for name, m := range r.members {
		s.nodes = append(s.nodes, name)
		total += len(m.points)
	}
	slices.Sort(s.nodes)
	s.weights = make([]int, len(s.nodes))
	points := make([]uint64, 0, total)
	for o, name := range s.nodes {
		m := r.members[name]
		s.weights[o] = m.weight
		s.totalWeight += m.weight
		for _, p := range m.points {
			points = append(points, uint64(p)<<32|uint64(o))
		}
	}
	if cap(r.scratch) < total {
		r.scratch = make([]uint64, total)
	}
	s.points = radixSortHigh(points, r.scratch[:total])
	s.index, s.shift = buildIndex(s.points)
	r.state.Store(s)
	r.changes.Add(1)
}

// publishAdded makes current the snapshot plus node, already in r.members,
// merging its points into the current ones in O(points). It gives the
// same snapshot as publish. It requires r.mu to be held.
func (r *Ring) publishAdded(node string) {
	old := r.state.Load()
	m := r.members[node]
	o, _ := slices.BinarySearch(old.nodes, node)
	s := &ringState{
		nodes:       slices.Insert(slices.Clone(old.nodes), o, node),
		weights:     slices.Insert(slices.Clone(old.weights), o, m.weight),
		totalWeight: old.totalWeight + m.weight,
		probes:      r.probes,
	}
	add := make([]uint64, len(m.points))
	for i, p := range m.points {
		add[i] = uint64(p)<<32 | uint64(o)
	}
	slices.Sort(add)
	// Owners from o up shift by one; the order of points is unchanged
	// because it only breaks ties between equal positions by owner.
	points := make([]uint64, 0, len(old.points)+len(add))
	j := 0
	for _, p := range old.points {
		if uint32(p) >= uint32(o) {
			p++
		}
		for j < len(add) && add[j] < p {
			points = append(points, add[j])
			j++
		}
		points = append(points, p)
	}
	s.points = append(points, add[j:]...)
	s.index, s.shift = buildIndex(s.points)
	r.state.Store(s)
	r.changes.Add(1)
}

// publishRemoved makes current the snapshot without node, already deleted
// from r.members, in O(points). It requires r.mu to be held.
func (r *Ring) publishRemoved(node string) {
	old := r.state.Load()
	o, _ := slices.BinarySearch(old.nodes, node)
	s := &ringState{
		nodes:       slices.Delete(slices.Clone(old.nodes), o, o+1),
		weights:     slices.Delete(slices.Clone(old.weights), o, o+1),
		totalWeight: old.totalWeight - old.weights[o],
		probes:      r.probes,
	}
	points := make([]uint64, 0, len(old.points))
	for _, p := range old.points {
		switch owner := uint32(p); {
		case owner == uint32(o):
			continue
		case owner > uint32(o):
			p--
		}
		points = append(points, p)
	}
	s.points = points
	s.index, s.shift = buildIndex(s.points)
	r.state.Store(s)
	r.changes.Add(1)
}

// radixSortHigh sorts a by its top 32 bits, keeping the order of equal
// ones, using tmp (len(a)) as scratch. It returns the sorted slice, which
// is a.
func radixSortHigh(a, tmp []uint64) []uint64 {
	src, dst := a, tmp
	for shift := 32; shift < 64; shift += 8 {
		var count [256]int
		for _, v := range src {
			count[byte(v>>shift)]++
		}
		sum := 0
		for i, c := range count {
			count[i] = sum
			sum += c
		}
		for _, v := range src {
			k := byte(v >> shift)
			dst[count[k]] = v
			count[k]++
		}
		src, dst = dst, src
	}
	return src // four passes: back in a
}

// buildIndex returns a table of 2^k entries, the largest power of two not
// above len(points), giving for each slice of the circle the first point in
// it, so successor scans about one point.
func buildIndex(points []uint64) (index []uint32, shift uint32) {
	k := uint32(0)
	for 2<<k <= len(points) {
		k++
	}
	index = make([]uint32, 1<<k)
	shift = 32 - k
	i := 0
	for b := range index {
		lo := uint64(b) << shift << 32
		for i < len(points) && points[i] < lo {
			i++
		}
		index[b] = uint32(i)
	}
	return index, shift
}
