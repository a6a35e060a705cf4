package ratelimit

import (
	"math/rand/v2"
	"testing"
)

// TestTableMatchesMap checks the table against a map under random inserts,
// updates, deletes and sweeps, with hashes whose low bits, which pick the
// slot, mostly collide.
func TestTableMatchesMap(t *testing.T) {
	for _, lowBits := range []uint{0, 2, 6} {
		var tb table
		ref := map[uint64]int64{}
		hash := func(k uint64) uint64 {
			return k<<32 | (k*0x9e3779b97f4a7c15)>>(64-lowBits)&(1<<lowBits-1)
		}
		r := rand.New(rand.NewPCG(1, uint64(lowBits)))
		for step := range 20000 {
			k := uint64(r.IntN(300))
			i := tb.find(hash(k))
			_, inRef := ref[k]
			if (i >= 0) != inRef {
				t.Fatalf("step %d: find(%d) = %d; map has it: %v", step, k, i, inRef)
			}
			switch op := r.IntN(10); {
			case op < 5 && i < 0:
				v := int64(r.IntN(1000))
				tb.insert(hash(k), v)
				ref[k] = v
			case op < 7 && i >= 0:
				tb.del(i)
				delete(ref, k)
			case op < 8:
				now := int64(r.IntN(1000))
				tb.sweep(now)
				for k, v := range ref {
					if tb.find(hash(k)) < 0 {
						if v > now {
							t.Fatalf("step %d: sweep at %d dropped %d with tat %d", step, now, k, v)
						}
						delete(ref, k)
					}
				}
			case op < 9 && tb.n > 0:
				tb.del(tb.oldest())
				for k := range ref {
					if tb.find(hash(k)) < 0 {
						delete(ref, k)
					}
				}
			case i >= 0:
				tb.e[i].tat = int64(r.IntN(1000))
				ref[k] = tb.e[i].tat
			}
			if tb.n != len(ref) {
				t.Fatalf("step %d: table holds %d keys; map %d", step, tb.n, len(ref))
			}
		}
		for k, v := range ref {
			if i := tb.find(hash(k)); i < 0 || tb.e[i].tat != v {
				t.Errorf("key %d: find = %d; want its tat %d", k, i, v)
			}
		}
	}
}
