package hashring

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestPlacementFull(t *testing.T) {
	p := NewPlacement(3)
	if err := p.Add("a", "b", "c", "d"); !errors.Is(err, ErrFull) {
		t.Errorf("Add of 4 to capacity 3 = %v; want ErrFull", err)
	}
	if err := p.Add("a", "b", "c"); err != nil {
		t.Fatal(err)
	}
	if err := p.Add("d"); !errors.Is(err, ErrFull) {
		t.Errorf("Add to a full Placement = %v; want ErrFull", err)
	}
	if p.Capacity() != 3 || p.Len() != 3 {
		t.Errorf("Capacity, Len = %d, %d; want 3, 3", p.Capacity(), p.Len())
	}
}

// TestPlacementRestore removes nodes and adds new ones: a new node takes
// the bucket of the node removed last, so the mapping comes back.
func TestPlacementRestore(t *testing.T) {
	p := NewPlacement(16)
	p.Add(nodeNames(10)...)
	keys := allKeys()[:20000]
	before := assign(t, p, keys)
	p.Remove("node-3")
	p.Remove("node-7")
	p.Add("x", "y") // x takes node-7's bucket, y node-3's
	after := assign(t, p, keys)
	rename := map[string]string{"node-7": "x", "node-3": "y"}
	for i := range keys {
		want := before[i]
		if r, ok := rename[want]; ok {
			want = r
		}
		if after[i] != want {
			t.Fatalf("key %q on %s; want %s", keys[i], after[i], want)
		}
	}
	if got := p.Nodes(); !slices.Contains(got, "x") || slices.Contains(got, "node-3") {
		t.Errorf("Nodes() = %v", got)
	}
}

// TestPlacementDrain removes every node, then adds nodes back.
func TestPlacementDrain(t *testing.T) {
	p := NewPlacement(4)
	p.Add("a", "b", "c", "d")
	for _, n := range []string{"b", "d", "a", "c"} {
		if err := p.Remove(n); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := p.Lookup("k"); ok {
		t.Error("Lookup on a drained Placement ok = true")
	}
	p.Add("e", "f")
	for i := range 1000 {
		if n, ok := p.Lookup(fmt.Sprint(i)); !ok || (n != "e" && n != "f") {
			t.Fatalf("Lookup = %q, %v; want e or f", n, ok)
		}
	}
}
