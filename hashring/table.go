package hashring

import (
	"bytes"
	"math"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
)

// A Table is a Maglev lookup table (Eisenbud et al., "Maglev: A Fast and
// Reliable Software Network Load Balancer"): each of its entries, 81,919
// by default (160 KiB), names a node. Every node walks its own
// permutation of the entries, and in each round every node takes the next
// entry of its walk if no node has taken it yet, until it owns its cap:
// the average share plus 10%/√nodes, at most 3% (3% up to 11 nodes, 1% at
// 100). A lookup hashes the key once and maps the hash to an entry with
// one multiplication, so it is the fastest Picker, and no node owns more
// than its cap of entries. The price is a little more disruption than a
// Ring: when a node joins or leaves, a node at its cap fills up a little
// earlier or later, which moves a few keys between nodes that stay (none
// from 10 to 11 nodes, about 0.13% from 100 to 101, where Maglev's own
// fill moves 0.6%). Changing membership rebuilds the table. Nodes all have
// the same weight.
//
// The same members map every key to the same node in every process. A
// Table is safe for concurrent use by multiple goroutines: lookups read an
// immutable snapshot and never wait for Add or Remove, which build the next
// table under a mutex in O(entries · log nodes) time: under 1 ms for 100
// nodes at the default size. Create Tables with NewTable; the zero value is
// not usable.
type Table struct {
	size  int
	state atomic.Pointer[tableState]

	mu      sync.Mutex
	members []string      // sorted; guarded by mu
	changes atomic.Uint64 // written under mu
}

// tableScratch holds the buffers of a build. Builds take one from
// scratchPool and put it back, so that a build allocates little more than
// the new table, and the garbage collector has less to do.
type tableScratch struct {
	taken   []byte
	claimed []uint64
	fs      []uint32
	claims  []uint64
	buf     []uint64
}

var scratchPool = sync.Pool{New: func() any { return new(tableScratch) }}

// rebuild builds the table of the members and publishes it. It requires
// t.mu to be held.
func (t *Table) rebuild() {
	sc := scratchPool.Get().(*tableScratch)
	t.state.Store(buildTable(slices.Clone(t.members), t.size, sc))
	scratchPool.Put(sc)
	t.changes.Add(1)
}

// resize returns s with length n, reusing its array when it is large
// enough; the contents are not cleared.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

type tableState struct {
	nodes   []string
	entries []uint16
	size    uint64 // len(entries)
}

// index maps a key's hash to its entry: the top bits of the hash for a
// power-of-two size, in general ⌊h·size/2^64⌋.
func (s *tableState) index(h uint64) uint64 {
	hi, _ := bits.Mul64(h, s.size)
	return hi
}

// NewTable returns an empty Table. It panics if WithTableSize is given a
// size outside 2^8 to 2^24.
func NewTable(opts ...Option) *Table {
	c := newConfig(opts)
	if c.tableSize < 1<<8 || c.tableSize > 1<<24 {
		panic("hashring: table size must be between 2^8 and 2^24")
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
	return s.nodes[s.entries[s.index(hashKey(key))]], true
}

// LookupBytes is Lookup for a key held in a byte slice.
func (t *Table) LookupBytes(key []byte) (node string, ok bool) {
	s := t.state.Load()
	if len(s.nodes) == 0 {
		return "", false
	}
	return s.nodes[s.entries[s.index(hashBytes(key))]], true
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
	t.rebuild()
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
	t.rebuild()
	return nil
}

// Partitions returns the number of partitions keys fall into: the table's
// entries (WithTableSize). Partition and PartitionOwner split Lookup in two,
// as buraksezer/consistent's FindPartitionID and GetPartitionOwner do, for
// data that moves between nodes a partition at a time.
func (t *Table) Partitions() int { return t.size }

// Partition returns the partition key falls into, in [0, Partitions()). It
// depends on the key alone: when nodes join or leave, a partition changes
// owner, never its keys. It does not allocate.
func (t *Table) Partition(key string) int {
	hi, _ := bits.Mul64(hashKey(key), uint64(t.size))
	return int(hi)
}

// PartitionOwner returns the node that owns partition p, so that
// PartitionOwner(Partition(k)) is Lookup(k). It returns ok == false when the
// table is empty or p is not in [0, Partitions()).
func (t *Table) PartitionOwner(p int) (node string, ok bool) {
	s := t.state.Load()
	if len(s.nodes) == 0 || p < 0 || p >= len(s.entries) {
		return "", false
	}
	return s.nodes[s.entries[p]], true
}

// Stats returns the number of members and of membership changes so far.
// It does not wait for a membership change in progress.
func (t *Table) Stats() Stats {
	return Stats{Nodes: len(t.state.Load().nodes), Changes: t.changes.Load()}
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

// buildTable fills a table of size entries for nodes. Node i's
// permutation starts at an offset and steps by a skip coprime with size,
// so it visits every entry; both come from xxhash(name), so the table
// depends on the members alone.
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
//
// sc holds the buffers the build reuses; nil builds with fresh ones.
func buildTable(nodes []string, size int, sc *tableScratch) *tableState {
	if sc == nil {
		sc = new(tableScratch)
	}
	s := &tableState{nodes: nodes, size: uint64(size)}
	n := len(nodes)
	if n == 0 {
		return s
	}
	m := uint32(size)
	limit := uint32(tableCap(n, size))
	entries := make([]uint16, size)
	// taken marks claimed entries, a byte each: testing a byte takes
	// fewer instructions than testing a bit, which is what the rounds
	// spend their time on.
	sc.taken = resize(sc.taken, size)
	taken := sc.taken
	clear(taken)
	// The nodes not yet full, in order: the position of each in its
	// permutation, its step, how many entries it owns and its index.
	pos, skip, owned := make([]uint32, n), make([]uint32, n), make([]uint32, n)
	node := make([]uint16, n)
	for i, name := range nodes {
		pos[i], skip[i] = tablePermutation(name, m)
		node[i] = uint16(i)
	}
	free, active := size, n
	// Rounds cost one step per node and claim fewer entries as the table
	// fills; once few entries are free, the endgame below finds each free
	// entry's claimant directly.
	// A node claims at most one entry per round, so no node can fill up
	// within as many rounds as the smallest number of entries an active
	// node may still claim: those rounds run in one batch, and the entries
	// they claimed are handed out after it, in the same order as round by
	// round. Within a batch the steps are branch-free, since whether an
	// entry is free is a coin toss: a step marks the entry it reaches as
	// taken and lists it if it was free.
	sc.claimed = resize(sc.claimed, max(n, tableBatch))
	claimed := sc.claimed
	most := uint32(0) // the most entries an active node owns
	for 2*n*free > size {
		pos, skip, owned, node := pos[:active], skip[:active], owned[:active], node[:active]
		rounds := max(1, min(int(limit-most), tableBatch/active))
		k := 0
		for range rounds {
			k += tableRound(pos, skip, taken, claimed[k:], m)
		}
		free -= k
		for _, c := range claimed[:k] {
			a := uint16(c)
			entries[c>>16] = node[a]
			owned[a]++
			most = max(most, owned[a])
		}
		if most == limit {
			j := 0
			most = 0
			for a := range pos {
				if owned[a] < limit {
					pos[j], skip[j], owned[j], node[j] = pos[a], skip[a], owned[a], node[a]
					most = max(most, owned[a])
					j++
				}
			}
			active = j
		}
	}
	if free == 0 {
		s.entries = entries
		return s
	}
	pos, skip, owned, node = pos[:active], skip[:active], owned[:active], node[:active]
	fs := resize(sc.fs, free)[:0]
	for f := 0; ; f++ {
		i := bytes.IndexByte(taken[f:], 0)
		if i < 0 {
			break
		}
		f += i
		fs = append(fs, uint32(f))
	}
	sc.fs = fs
	tableEndgame(entries, fs, pos, skip, owned, node, m, limit, sc)
	s.entries = entries
	return s
}

// tableEndgame gives the free entries fs to the nodes of pos, which all
// stand at the same round and own fewer than limit entries: the node that
// would claim free entry f next is the one with the fewest steps j from
// its position to f, ties going to the earlier node. Claims go in order of
// (j, node); a claim by a node that has meanwhile filled up passes to the
// entry's next claimant. A claim packs (j, position in pos, entry) into one
// key ordered by j, then node: 24 + 16 + 24 bits.
func tableEndgame(entries []uint16, fs []uint32, pos, skip, owned []uint32, node []uint16, m, limit uint32, sc *tableScratch) {
	walks := make([]tableWalk, len(pos))
	for a := range walks {
		inv := invMod(skip[a], m)
		walks[a] = tableWalk{neg: m - pos[a], inv: inv, shoup: uint64(inv) << 32 / uint64(m)}
	}
	sc.claims, sc.buf = resize(sc.claims, len(fs)), resize(sc.buf, len(fs))
	claims := sc.claims
	for i, f := range fs {
		claims[i] = tableClaim(walks, f, m, nil, limit)
	}
	sortClaims(claims, sc.buf, m)
	// Claims passed on go to a heap, merged with the sorted ones: few
	// claimants fill up during the endgame.
	var h claimHeap
	for i := 0; i < len(claims) || len(h) > 0; {
		var c uint64
		if len(h) > 0 && (i == len(claims) || h[0] < claims[i]) {
			c = h[0]
			h.pop()
		} else {
			c = claims[i]
			i++
		}
		f := uint32(c & (1<<24 - 1))
		if a := uint16(c >> 24); owned[a] < limit {
			entries[f] = node[a]
			owned[a]++
			continue
		}
		h.push(tableClaim(walks, f, m, owned, limit))
	}
}

// A tableWalk is a node's permutation seen from its position pos: entry f
// is j = (f - pos)·skip⁻¹ mod m steps ahead.
type tableWalk struct {
	neg   uint32 // m - pos
	inv   uint32 // skip⁻¹ mod m
	shoup uint64 // ⌊inv·2^32/m⌋, for Shoup's modular multiplication
}

// tableClaim returns the claim on entry f of the walk that reaches it in
// the fewest steps, ties going to the earlier walk, among the walks that
// own fewer than limit entries (all of them if owned is nil).
func tableClaim(walks []tableWalk, f, m uint32, owned []uint32, limit uint32) uint64 {
	best := uint64(math.MaxUint64)
	for a, w := range walks {
		if owned != nil && owned[a] >= limit {
			continue
		}
		x := f + w.neg
		x = min(x, x-m) // (f - pos) mod m
		// x·inv mod m: the quotient estimate is short by at most one.
		j := uint64(x)*uint64(w.inv) - (uint64(x)*w.shoup>>32)*uint64(m)
		j = min(j, j-uint64(m))
		best = min(best, j<<40|uint64(a)<<24)
	}
	return best | uint64(f)
}

// sortClaims sorts claims by their top 40 bits, (j, node), with a radix
// sort on j in buf and an insertion sort for the rare ties on j.
func sortClaims(claims, buf []uint64, m uint32) {
	src, dst := claims, buf
	for shift := 40; shift < 40+bits.Len32(m-1); shift += 8 {
		var count [257]int
		for _, c := range src {
			count[c>>shift&0xff+1]++
		}
		for d := 1; d < 256; d++ {
			count[d] += count[d-1]
		}
		for _, c := range src {
			d := c >> shift & 0xff
			dst[count[d]] = c
			count[d]++
		}
		src, dst = dst, src
	}
	if len(src) > 0 && &src[0] != &claims[0] {
		copy(claims, src)
	}
	for i := 1; i < len(claims); i++ {
		for k := i; k > 0 && claims[k] < claims[k-1]; k-- {
			claims[k], claims[k-1] = claims[k-1], claims[k]
		}
	}
}

// tablePermutation returns the first entry and the step of node's
// permutation of m entries: the step is coprime with m, so the walk visits
// every entry once in m steps.
func tablePermutation(node string, m uint32) (pos, skip uint32) {
	h := hashKey(node)
	pos = reduce(h, m)
	skip = 1 + reduce(mix(h), m-1)
	for gcd(skip, m) != 1 {
		if skip++; skip == m {
			skip = 1
		}
	}
	return pos, skip
}

func gcd(a, b uint32) uint32 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// invMod returns a⁻¹ mod m for a coprime with m, by the extended
// Euclidean algorithm.
func invMod(a, m uint32) uint32 {
	t, newT := int64(0), int64(1)
	r, newR := int64(m), int64(a)
	for newR != 0 {
		q := r / newR
		t, newT = newT, t-q*newT
		r, newR = newR, r-q*newR
	}
	if t < 0 {
		t += int64(m)
	}
	return uint32(t)
}

// claimHeap is a binary min-heap of packed claims.
type claimHeap []uint64

func (h *claimHeap) push(c uint64) {
	*h = append(*h, c)
	for i := len(*h) - 1; i > 0; {
		p := (i - 1) / 2
		if (*h)[p] <= (*h)[i] {
			break
		}
		(*h)[p], (*h)[i] = (*h)[i], (*h)[p]
		i = p
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

// tableBatch is the most claims one batch of rounds lists.
const tableBatch = 1024

// tableRound steps every node of pos once: it marks the entry each
// reaches as taken and lists it in claimed, as entry<<16 | node, if it was
// free. It returns how many entries it listed. It is a function of its own
// so that the loop keeps its counters in registers.
//
//go:noinline
func tableRound(pos, skip []uint32, taken []byte, claimed []uint64, m uint32) int {
	skip = skip[:len(pos)]
	claimed = claimed[:len(pos)]
	k := 0
	for a := range pos {
		p := pos[a]
		q := p + skip[a]
		pos[a] = min(q, q-m) // (p + skip) mod m: q-m wraps around when q < m
		t := taken[p]
		taken[p] = 1
		claimed[k] = uint64(p)<<16 | uint64(a)
		k += int(t ^ 1)
	}
	return k
}
