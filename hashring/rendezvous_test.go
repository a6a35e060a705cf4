package hashring

import "testing"

// TestRendezvousUniformWeights: equal weights other than 1 map like weight 1.
func TestRendezvousUniformWeights(t *testing.T) {
	a, b := NewRendezvous(), NewRendezvous()
	for _, n := range nodeNames(5) {
		a.Add(n)
		b.AddWeighted(n, 3)
	}
	keys := allKeys()[:10000]
	x, y := assign(t, a, keys), assign(t, b, keys)
	for i := range keys {
		if x[i] != y[i] {
			t.Fatalf("key %q: %s with weight 1, %s with weight 3", keys[i], x[i], y[i])
		}
	}
	b.SetWeight("node-0", 4)
	b.Add("node-9")
	if w := b.state.Load().weights; w[0] != 4 || w[len(w)-1] != 1 {
		t.Errorf("weights = %v; want node-0 at 4 and node-9 at 1", w)
	}
}
