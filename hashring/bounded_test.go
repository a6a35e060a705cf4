package hashring

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestBoundedInfeasible(t *testing.T) {
	r := New()
	for _, c := range []float64{1, 0.5, 0, -1, math.NaN(), math.Inf(1), math.Inf(-1)} {
		if b, err := NewBounded(r, c); !errors.Is(err, ErrLoadFactor) || b != nil {
			t.Errorf("NewBounded(c=%v) = %v, %v; want nil, ErrLoadFactor", c, b, err)
		}
	}
	b, err := NewBounded(r, 1.25)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := b.Acquire("k"); !errors.Is(err, ErrNoNodes) {
		t.Errorf("Acquire on an empty ring = %q, %v; want ErrNoNodes", n, err)
	}
	if _, err := b.AcquireBytes([]byte("k")); !errors.Is(err, ErrNoNodes) {
		t.Errorf("AcquireBytes on an empty ring = %v; want ErrNoNodes", err)
	}
	if err := b.Release("a"); !errors.Is(err, ErrNotAcquired) {
		t.Errorf("Release without Acquire = %v; want ErrNotAcquired", err)
	}
}

// TestBoundedChurn acquires and releases keys at random, with nodes joining
// and leaving: every placement respects the capacity at that moment.
func TestBoundedChurn(t *testing.T) {
	const c = 1.1
	r := New()
	r.Add(nodeNames(8)...)
	b, _ := NewBounded(r, c)
	rng := rand.New(rand.NewPCG(3, 4))
	type held struct{ node string }
	var live []held
	for i := range 20000 {
		switch {
		case i == 5000:
			r.Add("node-8")
		case i == 12000:
			r.Remove("node-2")
		}
		if len(live) > 0 && rng.IntN(3) == 0 {
			j := rng.IntN(len(live))
			if err := b.Release(live[j].node); err != nil {
				t.Fatalf("Release(%s) = %v", live[j].node, err)
			}
			live[j] = live[len(live)-1]
			live = live[:len(live)-1]
			continue
		}
		node, err := b.Acquire(fmt.Sprintf("conn-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		live = append(live, held{node})
		if limit := int(math.Ceil(c * float64(b.Total()) / float64(r.Len()))); b.Load(node) > limit {
			t.Fatalf("step %d: %s holds %d; want <= %d", i, node, b.Load(node), limit)
		}
	}
	if b.Total() != len(live) {
		t.Errorf("Total() = %d; want %d", b.Total(), len(live))
	}
	for _, h := range live {
		if err := b.Release(h.node); err != nil {
			t.Fatal(err)
		}
	}
	if b.Total() != 0 || b.Load("node-0") != 0 {
		t.Errorf("after releasing all: Total() = %d, Load(node-0) = %d; want 0, 0", b.Total(), b.Load("node-0"))
	}
}

// TestBoundedWeights: capacities follow weights, and with an ample load
// factor keys stay on their owner.
func TestBoundedWeights(t *testing.T) {
	r := New()
	r.Add("a", "b")
	r.AddWeighted("c", 2)
	b, _ := NewBounded(r, 1.01)
	for i := range 4000 {
		if _, err := b.AcquireBytes(fmt.Appendf(nil, "k%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if got := b.Load("c"); got < 1980 || got > 2021 {
		t.Errorf("Load(c) with weight 2 of 4 = %d; want about 2000", got)
	}
}

func TestCapacityRounding(t *testing.T) {
	for _, tc := range []struct {
		x    float64
		want int
	}{{1.1 * 10, 11}, {11.5, 12}, {12500, 12500}, {12500.01, 12501}, {0.5, 1}} {
		if got := capacity(tc.x); got != tc.want {
			t.Errorf("capacity(%v) = %d; want %d", tc.x, got, tc.want)
		}
	}
}
