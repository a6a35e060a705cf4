package hashring

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

func TestEmpty(t *testing.T) {
	for _, m := range modes {
		p := m.new()
		if n, ok := p.Lookup("k"); ok || n != "" {
			t.Errorf("%s: empty Lookup = %q, %v; want \"\", false", m.name, n, ok)
		}
		if got := p.Nodes(); len(got) != 0 {
			t.Errorf("%s: empty Nodes() = %v", m.name, got)
		}
	}
	if got := New().LookupN("k", 3); len(got) != 0 {
		t.Errorf("empty LookupN = %v; want none", got)
	}
	if _, ok := New().LookupBytes([]byte("k")); ok {
		t.Error("empty LookupBytes ok = true")
	}
	if _, ok := NewTable().LookupBytes([]byte("k")); ok {
		t.Error("empty Table.LookupBytes ok = true")
	}
	if _, ok := NewPlacement(4).LookupBytes([]byte("k")); ok {
		t.Error("empty Placement.LookupBytes ok = true")
	}
	if _, ok := NewRendezvous().LookupBytes([]byte("k")); ok {
		t.Error("empty Rendezvous.LookupBytes ok = true")
	}
}

func TestMembershipErrors(t *testing.T) {
	for _, m := range modes {
		p := m.new()
		for _, tc := range []struct {
			nodes []string
			want  error
		}{
			{[]string{""}, ErrInvalidNode},
			{[]string{"a", ""}, ErrInvalidNode},
			{[]string{"a", "b", "a"}, ErrNodeExists},
			// Longer lists are checked through a set.
			{append(nodeNames(20), "node-7"), ErrNodeExists},
			{append(nodeNames(20), ""), ErrInvalidNode},
		} {
			if err := p.Add(tc.nodes...); !errors.Is(err, tc.want) {
				t.Errorf("%s: Add(%q) = %v; want %v", m.name, tc.nodes, err, tc.want)
			}
		}
		if p.Len() != 0 {
			t.Errorf("%s: failed Add left %d members; want 0", m.name, p.Len())
		}
		if err := p.Add("b", "a"); err != nil {
			t.Fatalf("%s: Add = %v", m.name, err)
		}
		if err := p.Add("c", "a"); !errors.Is(err, ErrNodeExists) {
			t.Errorf("%s: Add(existing) = %v; want ErrNodeExists", m.name, err)
		}
		if err := p.Remove("zz"); !errors.Is(err, ErrUnknownNode) {
			t.Errorf("%s: Remove(unknown) = %v; want ErrUnknownNode", m.name, err)
		}
		if got := p.Nodes(); !slices.Equal(got, []string{"a", "b"}) {
			t.Errorf("%s: Nodes() = %v; want [a b]", m.name, got)
		}
		if err := p.Remove("a"); err != nil {
			t.Errorf("%s: Remove(a) = %v", m.name, err)
		}
		if n, ok := p.Lookup("anything"); !ok || n != "b" {
			t.Errorf("%s: Lookup with one node = %q, %v; want b, true", m.name, n, ok)
		}
	}
}

func TestWeightErrors(t *testing.T) {
	type weighted interface {
		AddWeighted(node string, weight int) error
		SetWeight(node string, weight int) error
	}
	for _, w := range []weighted{New(), NewRendezvous()} {
		for _, bad := range []int{0, -1, MaxWeight + 1} {
			if err := w.AddWeighted("a", bad); !errors.Is(err, ErrInvalidWeight) {
				t.Errorf("%T: AddWeighted(a, %d) = %v; want ErrInvalidWeight", w, bad, err)
			}
		}
		if err := w.AddWeighted("", 1); !errors.Is(err, ErrInvalidNode) {
			t.Errorf("%T: AddWeighted(\"\", 1) = %v; want ErrInvalidNode", w, err)
		}
		if err := w.AddWeighted("a", 3); err != nil {
			t.Fatal(err)
		}
		if err := w.AddWeighted("a", 3); !errors.Is(err, ErrNodeExists) {
			t.Errorf("%T: AddWeighted twice = %v; want ErrNodeExists", w, err)
		}
		if err := w.SetWeight("a", 0); !errors.Is(err, ErrInvalidWeight) {
			t.Errorf("%T: SetWeight(a, 0) = %v; want ErrInvalidWeight", w, err)
		}
		if err := w.SetWeight("b", 1); !errors.Is(err, ErrUnknownNode) {
			t.Errorf("%T: SetWeight(b, 1) = %v; want ErrUnknownNode", w, err)
		}
		if err := w.SetWeight("a", 3); err != nil {
			t.Errorf("%T: SetWeight to the same weight = %v", w, err)
		}
	}
	r := New()
	r.AddWeighted("a", 3)
	if w, ok := r.Weight("a"); !ok || w != 3 {
		t.Errorf("Weight(a) = %d, %v; want 3, true", w, ok)
	}
	if _, ok := r.Weight("b"); ok {
		t.Error("Weight(b) ok = true for a non-member")
	}
}

func TestConstructorsPanic(t *testing.T) {
	for name, f := range map[string]func(){
		"WithVirtualNodes(0)":   func() { New(WithVirtualNodes(0)) },
		"WithProbes(0)":         func() { New(WithProbes(0)) },
		"WithProbes(17)":        func() { New(WithProbes(17)) },
		"WithTableSize(2^24+1)": func() { NewTable(WithTableSize(1<<24 + 1)) },
		"WithTableSize(128)":    func() { NewTable(WithTableSize(128)) },
		"NewPlacement(0)":       func() { NewPlacement(0) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", name)
				}
			}()
			f()
		}()
	}
}

func TestLookupBytesAgrees(t *testing.T) {
	type bytesPicker interface {
		Picker
		LookupBytes([]byte) (string, bool)
	}
	for _, m := range modes {
		p := build(t, m, nodeNames(20)).(bytesPicker)
		for i := range 1000 {
			k := fmt.Sprintf("key-%d", i)
			a, _ := p.Lookup(k)
			b, _ := p.LookupBytes([]byte(k))
			if a != b {
				t.Fatalf("%s: Lookup(%q) = %q but LookupBytes = %q", m.name, k, a, b)
			}
		}
	}
}

// TestRingLookupN checks LookupN against a walk of the points in order.
func TestRingLookupN(t *testing.T) {
	r := New(WithVirtualNodes(8))
	r.Add(nodeNames(10)...)
	s := r.state.Load()
	for i := range 500 {
		k := fmt.Sprintf("key-%d", i)
		for _, n := range []int{0, 1, 3, 10, 70} {
			got := r.LookupN(k, n)
			var want []string
			for j, at := 0, s.find(hashKey(k)); len(want) < min(n, 10); j++ {
				node := s.nodes[uint32(s.points[(at+j)%len(s.points)])]
				if !slices.Contains(want, node) {
					want = append(want, node)
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("LookupN(%q, %d) = %v; want %v", k, n, got, want)
			}
			if n > 0 {
				if owner, _ := r.Lookup(k); got[0] != owner {
					t.Fatalf("LookupN(%q, %d)[0] = %q; Lookup = %q", k, n, got[0], owner)
				}
			}
		}
	}
	// More than 64 replicas take the other path.
	big := New(WithVirtualNodes(4))
	big.Add(nodeNames(100)...)
	if got := big.LookupN("k", 80); len(got) != 80 || len(slices.Compact(slices.Sorted(slices.Values(got)))) != 80 {
		t.Errorf("LookupN(k, 80) returned %d nodes, not 80 distinct", len(got))
	}
}

// TestRingOrderIndependent: the mapping depends on the members, not on the
// order or batching of Add calls.
func TestRingOrderIndependent(t *testing.T) {
	names := nodeNames(30)
	a := New()
	a.Add(names...)
	b := New()
	for _, i := range rand.New(rand.NewPCG(1, 2)).Perm(len(names)) {
		b.Add(names[i])
	}
	b.Add("extra")
	b.Remove("extra")
	// b was built by merging one node at a time, a in one sort.
	if sa, sb := a.state.Load(), b.state.Load(); !slices.Equal(sa.points, sb.points) || !slices.Equal(sa.index, sb.index) {
		t.Fatal("merged snapshot differs from the sorted one")
	}
	for i := range 20000 {
		k := fmt.Sprintf("key-%d", i)
		x, _ := a.Lookup(k)
		y, _ := b.Lookup(k)
		if x != y {
			t.Fatalf("Lookup(%q) = %q and %q for the same members", k, x, y)
		}
	}
}

// TestRingSetWeight: raising a weight moves keys only to the node, and
// lowering it back restores the original mapping.
func TestRingSetWeight(t *testing.T) {
	r := New()
	r.Add(nodeNames(10)...)
	keys := allKeys()[:50000]
	before := assign(t, r, keys)
	if err := r.SetWeight("node-4", 3); err != nil {
		t.Fatal(err)
	}
	raised := assign(t, r, keys)
	for i := range keys {
		if before[i] != raised[i] && raised[i] != "node-4" {
			t.Fatalf("raising node-4 moved %q from %s to %s", keys[i], before[i], raised[i])
		}
	}
	if err := r.SetWeight("node-4", 1); err != nil {
		t.Fatal(err)
	}
	if after := assign(t, r, keys); !slices.Equal(before, after) {
		t.Error("lowering the weight back did not restore the mapping")
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	for _, m := range modes {
		p := build(t, m, nodeNames(100))
		key := []byte("user:1234")
		type bytesPicker interface {
			LookupBytes([]byte) (string, bool)
		}
		if n := testing.AllocsPerRun(100, func() { p.Lookup("user:1234") }); n != 0 {
			t.Errorf("%s: Lookup allocates %v times per call; want 0", m.name, n)
		}
		if n := testing.AllocsPerRun(100, func() { p.(bytesPicker).LookupBytes(key) }); n != 0 {
			t.Errorf("%s: LookupBytes allocates %v times per call; want 0", m.name, n)
		}
	}
	r := build(t, modes[0], nodeNames(100)).(*Ring)
	dst := make([]string, 0, 3)
	if n := testing.AllocsPerRun(100, func() { dst = r.AppendN(dst[:0], "user:1234", 3) }); n != 0 {
		t.Errorf("AppendN allocates %v times per call; want 0", n)
	}
	rv := NewRendezvous()
	rv.AddWeighted("a", 1)
	rv.AddWeighted("b", 2)
	if n := testing.AllocsPerRun(100, func() { rv.Lookup("user:1234") }); n != 0 {
		t.Errorf("weighted Rendezvous.Lookup allocates %v times per call; want 0", n)
	}
}

// TestConcurrentMembership runs lookups while another goroutine changes
// membership; every lookup finds a node, and the race detector checks
// the snapshots are shared safely.
func TestConcurrentMembership(t *testing.T) {
	for _, m := range modes {
		p := build(t, m, nodeNames(20))
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for g := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					if _, ok := p.Lookup(fmt.Sprint(g, i)); !ok {
						t.Errorf("%s: Lookup found no node", m.name)
						return
					}
				}
			}()
		}
		for i := range 20 {
			n := fmt.Sprintf("node-%d", i)
			if err := p.Remove(n); err != nil {
				t.Error(err)
			}
			if err := p.Add(n); err != nil {
				t.Error(err)
			}
		}
		close(stop)
		wg.Wait()
		if p.Len() != 20 {
			t.Errorf("%s: Len() = %d after churn; want 20", m.name, p.Len())
		}
	}
}
