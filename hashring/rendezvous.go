package hashring

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
)

// Rendezvous is weighted rendezvous (highest random weight) hashing, in its
// logarithmic form (Schindelhauer and Schomaker): each node scores the key
// -weight/ln(u), with u uniform in (0, 1) from the key's and the node's
// hashes, and the highest score wins. Removing a node moves only its keys,
// adding one moves keys only to it, weights are exact in expectation and
// there is no state but the member list, which makes it the reference the
// other Pickers are measured against. A lookup costs O(nodes), so prefer a
// Ring, Table or Placement beyond a few dozen nodes.
//
// The same members with the same weights map every key to the same node in
// every process. A Rendezvous is safe for concurrent use by multiple
// goroutines: lookups read an immutable snapshot and never wait. Create
// one with NewRendezvous; the zero value is not usable.
type Rendezvous struct {
	state atomic.Pointer[rendezvousState]

	mu      sync.Mutex
	changes atomic.Uint64 // written under mu
}

type rendezvousState struct {
	nodes   []string // sorted
	seeds   []uint64
	weights []int
	uniform bool // all weights are equal: compare hashes, skip the logarithms
}

// NewRendezvous returns an empty Rendezvous.
func NewRendezvous() *Rendezvous {
	r := &Rendezvous{}
	r.state.Store(&rendezvousState{uniform: true})
	return r
}

// Lookup returns the node with the highest score for key, or ok == false
// when there are no nodes. It does not allocate and costs O(nodes).
func (r *Rendezvous) Lookup(key string) (node string, ok bool) {
	return r.state.Load().lookup(hashKey(key))
}

// LookupBytes is Lookup for a key held in a byte slice.
func (r *Rendezvous) LookupBytes(key []byte) (node string, ok bool) {
	return r.state.Load().lookup(hashBytes(key))
}

func (s *rendezvousState) lookup(h uint64) (string, bool) {
	if len(s.nodes) == 0 {
		return "", false
	}
	best := 0
	if s.uniform {
		var top uint64
		for i, seed := range s.seeds {
			if v := mix(h ^ seed); v > top || i == 0 {
				best, top = i, v
			}
		}
		return s.nodes[best], true
	}
	top := math.Inf(-1)
	for i, seed := range s.seeds {
		// u in (0, 1): 53 random bits, never 0 or 1.
		u := (float64(mix(h^seed)>>11) + 0.5) / (1 << 53)
		if v := -float64(s.weights[i]) / math.Log(u); v > top {
			best, top = i, v
		}
	}
	return s.nodes[best], true
}

// Add adds nodes, each with weight 1. It returns ErrInvalidNode or
// ErrNodeExists (for a node already a member or named twice), and then adds
// none.
func (r *Rendezvous) Add(nodes ...string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.state.Load()
	if err := checkNew(nodes, func(n string) bool { _, ok := slices.BinarySearch(old.nodes, n); return ok }); err != nil {
		return err
	}
	all := append(slices.Clone(old.nodes), nodes...)
	weight := make(map[string]int, len(all))
	for i, n := range old.nodes {
		weight[n] = old.weights[i]
	}
	slices.Sort(all)
	weights := make([]int, len(all))
	for i, n := range all {
		weights[i] = max(weight[n], 1)
	}
	r.publish(all, weights)
	return nil
}

// publish makes nodes, with their weights, the members lookups see, and
// counts the change. It requires r.mu to be held.
func (r *Rendezvous) publish(nodes []string, weights []int) {
	r.state.Store(newRendezvousState(nodes, weights))
	r.changes.Add(1)
}

// AddWeighted adds node with the given weight: it gets about weight times
// the keys of a node of weight 1. It returns ErrInvalidNode, ErrNodeExists
// or ErrInvalidWeight.
func (r *Rendezvous) AddWeighted(node string, weight int) error {
	if err := checkName(node); err != nil {
		return err
	}
	if weight < 1 || weight > MaxWeight {
		return ErrInvalidWeight
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.state.Load()
	i, found := slices.BinarySearch(old.nodes, node)
	if found {
		return fmt.Errorf("%w: %q", ErrNodeExists, node)
	}
	nodes := slices.Insert(slices.Clone(old.nodes), i, node)
	weights := slices.Insert(slices.Clone(old.weights), i, weight)
	r.publish(nodes, weights)
	return nil
}

// Remove removes node; only its keys move. It returns ErrUnknownNode if
// node is not a member.
func (r *Rendezvous) Remove(node string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.state.Load()
	i, found := slices.BinarySearch(old.nodes, node)
	if !found {
		return ErrUnknownNode
	}
	nodes := slices.Delete(slices.Clone(old.nodes), i, i+1)
	weights := slices.Delete(slices.Clone(old.weights), i, i+1)
	r.publish(nodes, weights)
	return nil
}

// SetWeight changes the weight of node. It returns ErrUnknownNode or
// ErrInvalidWeight.
func (r *Rendezvous) SetWeight(node string, weight int) error {
	if weight < 1 || weight > MaxWeight {
		return ErrInvalidWeight
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.state.Load()
	i, found := slices.BinarySearch(old.nodes, node)
	if !found {
		return ErrUnknownNode
	}
	if old.weights[i] == weight {
		return nil
	}
	weights := slices.Clone(old.weights)
	weights[i] = weight
	r.publish(old.nodes, weights)
	return nil
}

// Stats returns the number of members and of membership changes so far.
// It does not wait for a membership change in progress.
func (r *Rendezvous) Stats() Stats {
	return Stats{Nodes: len(r.state.Load().nodes), Changes: r.changes.Load()}
}

// Nodes returns the members in lexical order.
func (r *Rendezvous) Nodes() []string { return slices.Clone(r.state.Load().nodes) }

// Len returns the number of members.
func (r *Rendezvous) Len() int { return len(r.state.Load().nodes) }

func newRendezvousState(nodes []string, weights []int) *rendezvousState {
	s := &rendezvousState{nodes: nodes, weights: weights, uniform: true, seeds: make([]uint64, len(nodes))}
	for i, n := range nodes {
		s.seeds[i] = hashKey(n)
		if weights[i] != weights[0] {
			s.uniform = false
		}
	}
	return s
}
