package hashring

import (
	"strconv"
	"testing"
)

// TestStats checks that Changes counts exactly the membership changes that
// published a snapshot, and Nodes the members.
func TestStats(t *testing.T) {
	for _, m := range modes {
		p := m.new()
		stats := func() Stats { return p.(interface{ Stats() Stats }).Stats() }
		check := func(step string, want Stats) {
			t.Helper()
			if got := stats(); got != want {
				t.Errorf("%s: after %s Stats() = %+v; want %+v", m.name, step, got, want)
			}
		}
		check("New", Stats{})
		if err := p.Add("a", "b", "c"); err != nil {
			t.Fatal(err)
		}
		check("Add of three nodes", Stats{Nodes: 3, Changes: 1})
		p.Add("a")
		p.Add("")
		p.Remove("zz")
		check("failed calls", Stats{Nodes: 3, Changes: 1})
		if err := p.Remove("b"); err != nil {
			t.Fatal(err)
		}
		check("Remove", Stats{Nodes: 2, Changes: 2})
		if w, ok := p.(interface {
			SetWeight(string, int) error
		}); ok {
			if err := w.SetWeight("a", 3); err != nil {
				t.Fatal(err)
			}
			check("SetWeight", Stats{Nodes: 2, Changes: 3})
			w.SetWeight("a", 3)
			w.SetWeight("a", 0)
			check("SetWeight to the same or an invalid weight", Stats{Nodes: 2, Changes: 3})
		}
		if n := testing.AllocsPerRun(100, func() { stats() }); n != 0 {
			t.Errorf("%s: Stats allocates %v times; want 0", m.name, n)
		}
	}
}

// TestBoundedStats checks each counter of a Bounded against the placements
// it made.
func TestBoundedStats(t *testing.T) {
	r := New()
	b, err := NewBounded(r, 1.05)
	if err != nil {
		t.Fatal(err)
	}
	b.Acquire("k")
	b.AcquireBytes([]byte("k"))
	b.Release("nobody")
	if got, want := b.Stats(), (BoundedStats{Refused: 2}); got != want {
		t.Errorf("on an empty ring Stats() = %+v; want %+v", got, want)
	}
	r.Add(nodeNames(10)...)
	var want BoundedStats
	want.Refused = 2
	loads := map[string]int{}
	var placed []string
	for i := range 5000 {
		key := "key-" + strconv.Itoa(i)
		node, err := b.Acquire(key)
		if err != nil {
			t.Fatal(err)
		}
		placed = append(placed, node)
		loads[node]++
		want.Acquired++
		if owner, _ := r.Lookup(key); owner != node {
			want.Forwarded++
		}
	}
	for _, node := range placed[:1000] {
		if err := b.Release(node); err != nil {
			t.Fatal(err)
		}
		loads[node]--
		want.Released++
	}
	want.Total = 4000
	for _, l := range loads {
		want.MaxLoad = max(want.MaxLoad, l)
	}
	got := b.Stats()
	if got != want {
		t.Errorf("Stats() = %+v; want %+v", got, want)
	}
	// With c = 1.05 the bound binds: some keys must have been forwarded.
	if got.Forwarded == 0 || got.Forwarded == got.Acquired {
		t.Errorf("Forwarded = %d of %d; want some but not all", got.Forwarded, got.Acquired)
	}
}
