package hashring

import (
	"math"
	"slices"
	"testing"
)

// The quality tests print their figures (go test -v -run Quality) and
// assert the bounds the package promises, over a million keys. Under the
// race detector they place 100,000 keys, and bounds on balance
// widen by the extra sampling noise of fewer keys per node.

// balanceBound returns bound, widened under fewer keys than a million by
// three standard deviations of the added sampling noise.
func balanceBound(bound float64, nodes, keys int) float64 {
	if keys >= 1_000_000 {
		return bound
	}
	return bound + 3*(math.Sqrt(float64(nodes)/float64(keys))-math.Sqrt(float64(nodes)/1e6))
}

func TestQualityBalance(t *testing.T) {
	t.Parallel()
	// The table's bound is on its entries; over keys, even a perfect split
	// shows sampling noise of about 1 + 2.5/sqrt(keys per node), 1.025 for
	// a million keys on 100 nodes, so the bound over keys is 1.04.
	bounds := map[string]float64{"ring": 1.10, "table": 1.04, "placement": 1.04, "rendezvous": 1.05}
	keys := testKeys()
	for _, m := range modes {
		for _, n := range []int{10, 100} {
			p := build(t, m, nodeNames(n))
			got, _ := maxOverAvg(assign(t, p, keys), n)
			bound := balanceBound(bounds[m.name], n, len(keys))
			t.Logf("%-10s nodes=%3d keys=%d max/avg=%.4f (bound %.3f)", m.name, n, len(keys), got, bound)
			if got > bound {
				t.Errorf("%s with %d nodes: max/avg = %.4f; want <= %.3f", m.name, n, got, bound)
			}
		}
	}
}

func TestQualityTableEntries(t *testing.T) {
	t.Parallel()
	for _, n := range []int{10, 100} {
		tb := build(t, modes[1], nodeNames(n)).(*Table)
		s := tb.state.Load()
		count := make([]int, n)
		for _, e := range s.entries {
			count[e]++
		}
		got := float64(slices.Max(count)) / (float64(len(s.entries)) / float64(n))
		mem := len(s.entries) * 2
		t.Logf("table nodes=%3d entries=%d max/avg=%.4f memory=%d KiB", n, len(s.entries), got, mem/1024)
		if got > 1.03 {
			t.Errorf("table with %d nodes: entries max/avg = %.4f; want <= 1.03", n, got)
		}
		if mem > 160<<10 {
			t.Errorf("table with %d nodes: %d bytes; want <= 160 KiB", n, mem)
		}
	}
}

// TestQualityRingMemory checks the default Ring's footprint for 100 nodes.
func TestQualityRingMemory(t *testing.T) {
	t.Parallel()
	r := build(t, modes[0], nodeNames(100)).(*Ring)
	s := r.state.Load()
	mem := len(s.points)*8 + len(s.index)*4
	t.Logf("ring nodes=100 points=%d memory=%d KiB", len(s.points), mem/1024)
	if mem > 512<<10 {
		t.Errorf("ring with 100 nodes: %d bytes; want <= 512 KiB", mem)
	}
}

// tableJoinChurn and tableLeaveChurn are the shares of keys a Table may
// move between nodes that stay when one joins or leaves: a full node fills
// up a little earlier or later. Measured at 0 for 10->11 nodes and 0.13%
// for 100->101 with the default 81,919 entries, 0.11-0.13% on a leave
// from 100.
const (
	tableJoinChurn  = 0.002
	tableLeaveChurn = 0.002
)

// TestQualityJoin adds an eleventh node to ten (and a 101st to 100): keys
// may move only to the new node, at most 1.1/n' of them; the table may
// also move up to tableJoinChurn of keys between nodes that stay.
func TestQualityJoin(t *testing.T) {
	t.Parallel()
	keys := testKeys()
	for _, m := range modes {
		for _, n := range []int{10, 100} {
			p := build(t, m, nodeNames(n))
			before := assign(t, p, keys)
			if err := p.Add("node-new"); err != nil {
				t.Fatal(err)
			}
			after := assign(t, p, keys)
			moved, elsewhere := 0, 0
			for i := range keys {
				if before[i] != after[i] {
					moved++
					if after[i] != "node-new" {
						elsewhere++
					}
				}
			}
			share := float64(moved) / float64(len(keys))
			between := float64(elsewhere) / float64(len(keys))
			limit := 1.1 / float64(n+1)
			t.Logf("%-10s %3d->%3d nodes: moved %.4f of keys (limit %.4f), between old nodes %.5f", m.name, n, n+1, share, limit, between)
			if m.name == "table" {
				limit += tableJoinChurn
			}
			if share > limit {
				t.Errorf("%s %d->%d: moved %.4f of keys; want <= %.4f", m.name, n, n+1, share, limit)
			}
			switch {
			case m.name == "table" && between > tableJoinChurn:
				t.Errorf("table %d->%d: %.5f of keys moved between old nodes; want <= %v", n, n+1, between, tableJoinChurn)
			case m.name != "table" && elsewhere > 0:
				t.Errorf("%s %d->%d: %d keys moved between old nodes; want 0", m.name, n, n+1, elsewhere)
			}
		}
	}
}

// TestQualityLeave removes a node from the middle of the membership: only
// its keys may move (the table may also move tableLeaveChurn of others).
func TestQualityLeave(t *testing.T) {
	t.Parallel()
	keys := testKeys()
	for _, m := range modes {
		nodes := nodeNames(100)
		p := build(t, m, nodes)
		before := assign(t, p, keys)
		for _, gone := range []string{"node-37", "node-0", "node-99"} {
			if err := p.Remove(gone); err != nil {
				t.Fatal(err)
			}
			after := assign(t, p, keys)
			wrong := 0
			for i := range keys {
				if before[i] != after[i] && before[i] != gone {
					wrong++
				}
			}
			frac := float64(wrong) / float64(len(keys))
			t.Logf("%-10s remove %s: %.5f of keys of other nodes moved", m.name, gone, frac)
			if (m.name == "table" && frac > tableLeaveChurn) || (m.name != "table" && wrong > 0) {
				t.Errorf("%s: removing %s moved %d keys of other nodes", m.name, gone, wrong)
			}
			before = after
		}
	}
}

// TestQualityWeights gives one of ten nodes weight 2: it gets twice the
// keys of a weight-1 node, within 10%.
func TestQualityWeights(t *testing.T) {
	t.Parallel()
	keys := testKeys()
	type weighted interface {
		picker
		SetWeight(node string, weight int) error
	}
	for _, m := range []weighted{New(), NewRendezvous()} {
		for _, n := range nodeNames(10) {
			if err := m.Add(n); err != nil {
				t.Fatal(err)
			}
		}
		if err := m.SetWeight("node-3", 2); err != nil {
			t.Fatal(err)
		}
		_, loads := maxOverAvg(assign(t, m, keys), 10)
		others := 0
		for n, l := range loads {
			if n != "node-3" {
				others += l
			}
		}
		ratio := float64(loads["node-3"]) / (float64(others) / 9)
		t.Logf("%T: weight 2 gets %.3f times a weight-1 node's keys", m, ratio)
		if ratio < 1.8 || ratio > 2.2 {
			t.Errorf("%T: weight 2 gets %.3f times the keys of weight 1; want 2 ± 10%%", m, ratio)
		}
	}
}

// TestQualityBounded places keys with load factor c: no node ever holds
// more than ⌈c·average⌉, checked after every placement.
func TestQualityBounded(t *testing.T) {
	t.Parallel()
	keys := testKeys()
	// 1.25 as in the paper; 1.02 is below the ring's own imbalance, so the
	// bound binds and keys cascade to later nodes.
	for _, tc := range []struct {
		c float64
		n int
	}{{1.25, 10}, {1.25, 100}, {1.02, 10}, {1.02, 100}} {
		c, n := tc.c, tc.n
		r := build(t, modes[0], nodeNames(n)).(*Ring)
		b, err := NewBounded(r, c)
		if err != nil {
			t.Fatal(err)
		}
		loads := make(map[string]int)
		home := 0
		for i, k := range keys {
			node, err := b.Acquire(k)
			if err != nil {
				t.Fatalf("Acquire(%q) = %v", k, err)
			}
			if owner, _ := r.Lookup(k); owner == node {
				home++
			}
			loads[node]++
			if limit := int(math.Ceil(c * float64(i+1) / float64(n))); loads[node] > limit {
				t.Fatalf("after %d keys %s holds %d; want <= %d", i+1, node, loads[node], limit)
			}
		}
		m := 0
		for _, l := range loads {
			m = max(m, l)
		}
		avg := float64(len(keys)) / float64(n)
		t.Logf("bounded c=%.2f nodes=%3d: max/avg=%.4f (limit ⌈c·avg⌉=%d, max=%d), %.3f of keys on their owner",
			c, n, float64(m)/avg, int(math.Ceil(c*avg)), m, float64(home)/float64(len(keys)))
		if m > int(math.Ceil(c*avg)) {
			t.Errorf("bounded with %d nodes: max load %d; want <= %d", n, m, int(math.Ceil(c*avg)))
		}
		if b.Total() != len(keys) {
			t.Errorf("Total() = %d; want %d", b.Total(), len(keys))
		}
	}
}
