package ratelimit

import (
	"hash/maphash"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestTableMatchesMap checks the table against a map under random inserts,
// updates, deletes and sweeps, with hashes forced to collide.
func TestTableMatchesMap(t *testing.T) {
	seed := maphash.MakeSeed()
	for _, bitsOfHash := range []uint{2, 6, 64} {
		var tb table
		ref := map[string]int64{}
		hash := func(k string) uint64 {
			h := maphash.String(seed, k)
			if bitsOfHash < 64 {
				h &= 1<<bitsOfHash - 1
			}
			return h
		}
		r := rand.New(rand.NewPCG(1, uint64(bitsOfHash)))
		for step := range 20000 {
			k := strconv.Itoa(r.IntN(300))
			i := tb.find(hash(k), k)
			_, inRef := ref[k]
			if (i >= 0) != inRef {
				t.Fatalf("step %d: find(%s) = %d; map has it: %v", step, k, i, inRef)
			}
			switch op := r.IntN(10); {
			case op < 5 && i < 0:
				v := int64(r.IntN(1000))
				tb.insert(hash(k), k, v)
				ref[k] = v
			case op < 7 && i >= 0:
				tb.del(i)
				delete(ref, k)
			case op < 8:
				now := int64(r.IntN(1000))
				tb.sweep(now)
				for k, v := range ref {
					if tb.find(hash(k), k) < 0 {
						if v > now {
							t.Fatalf("step %d: sweep at %d dropped %s with tat %d", step, now, k, v)
						}
						delete(ref, k)
					}
				}
			case op < 9 && tb.n > 0:
				tb.evict()
				for k := range ref {
					if tb.find(hash(k), k) < 0 {
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
			if i := tb.find(hash(k), k); i < 0 || tb.e[i].tat != v {
				t.Errorf("key %s: find = %d; want its tat %d", k, i, v)
			}
		}
	}
}
