package hashring

import (
	"fmt"
	"slices"
	"testing"
)

// FuzzMembership applies random Add, Remove and SetWeight calls, two bytes
// each, to every Picker. None may panic; each call's error must match the
// membership; after the sequence, a Ring, Table and Rendezvous must map
// keys exactly like ones built afresh from the final members, and a
// Placement like one that replays the same calls. Removing a node from a
// Placement moves only its keys.
func FuzzMembership(f *testing.F) {
	f.Add([]byte{0, 1, 0, 2, 1, 1, 2, 2})
	f.Add([]byte{0, 0, 0, 1, 0, 2, 0, 3, 1, 1, 0, 1, 1, 0, 1, 2, 1, 3})
	f.Add([]byte{2, 0, 0, 5, 2, 5, 2, 0x35, 1, 5, 1, 5})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 200 {
			ops = ops[:200]
		}
		ring, table, rv := New(WithVirtualNodes(16)), NewTable(WithTableSize(1<<10)), NewRendezvous()
		place := NewPlacement(8)
		weights := map[string]int{}
		keys := make([]string, 64)
		for i := range keys {
			keys[i] = fmt.Sprint("k", i)
		}
		apply := func(p *Placement, op, arg byte) error {
			node := fmt.Sprint("n", arg&7)
			if op%3 == 1 {
				return p.Remove(node)
			}
			if op%3 == 0 {
				return p.Add(node)
			}
			return nil
		}
		for i := 0; i+1 < len(ops); i += 2 {
			op, arg := ops[i], ops[i+1]
			node := fmt.Sprint("n", arg&7)
			_, member := weights[node]
			switch op % 3 {
			case 0:
				errs := []error{ring.Add(node), table.Add(node), rv.Add(node)}
				for _, err := range errs {
					if (err == nil) == member {
						t.Fatalf("Add(%s) = %v with member = %v", node, err, member)
					}
				}
				if !member {
					weights[node] = 1
				}
			case 1:
				before := assign(t, place, keys[:0])
				if place.Len() > 0 {
					before = assign(t, place, keys)
				}
				errs := []error{ring.Remove(node), table.Remove(node), rv.Remove(node), apply(place, op, arg)}
				for _, err := range errs {
					if (err == nil) != member {
						t.Fatalf("Remove(%s) = %v with member = %v", node, err, member)
					}
				}
				delete(weights, node)
				if place.Len() > 0 {
					for j, now := range assign(t, place, keys) {
						if before[j] != node && before[j] != now {
							t.Fatalf("removing %s moved %s from %s to %s", node, keys[j], before[j], now)
						}
					}
				}
				continue
			case 2:
				w := int(arg>>3)%4 + 1
				errs := []error{ring.SetWeight(node, w), rv.SetWeight(node, w)}
				for _, err := range errs {
					if (err == nil) != member {
						t.Fatalf("SetWeight(%s) = %v with member = %v", node, err, member)
					}
				}
				if member {
					weights[node] = w
				}
				continue
			}
			if err := apply(place, op, arg); (err == nil) == member {
				t.Fatalf("Placement.Add(%s) = %v with member = %v", node, err, member)
			}
		}

		// Fresh instances from the final members.
		ring2, table2, rv2, place2 := New(WithVirtualNodes(16)), NewTable(WithTableSize(1<<10)), NewRendezvous(), NewPlacement(8)
		names := slices.Sorted(func(yield func(string) bool) {
			for n := range weights {
				if !yield(n) {
					return
				}
			}
		})
		for _, n := range names {
			ring2.AddWeighted(n, weights[n])
			rv2.AddWeighted(n, weights[n])
		}
		table2.Add(names...)
		for i := 0; i+1 < len(ops); i += 2 {
			apply(place2, ops[i], ops[i+1])
		}
		if got := ring.Nodes(); !slices.Equal(got, names) {
			t.Fatalf("Nodes() = %v; want %v", got, names)
		}
		for _, pair := range [][2]Picker{{ring, ring2}, {table, table2}, {rv, rv2}, {place, place2}} {
			for _, k := range keys {
				a, okA := pair[0].Lookup(k)
				b, okB := pair[1].Lookup(k)
				if a != b || okA != okB || okA != (len(names) > 0) {
					t.Fatalf("%T: Lookup(%q) = %q, %v after the calls, %q, %v fresh", pair[0], k, a, okA, b, okB)
				}
			}
		}
	})
}
