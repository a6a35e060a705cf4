package backoff

import (
	"math/bits"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// TestFastUint64Distribution checks that the default source's values are
// spread evenly: every high-bits bucket, and every bit, near its share.
func TestFastUint64Distribution(t *testing.T) {
	const n, buckets = 1 << 18, 64
	var count [buckets]int
	var ones [64]int
	for range n {
		u := fastUint64()
		count[u>>58]++
		for b := range 64 {
			ones[b] += int(u >> b & 1)
		}
	}
	// Chi-square with 63 degrees of freedom: 110 is beyond p = 0.0002.
	exp := float64(n) / buckets
	chi := 0.0
	for _, c := range count {
		d := float64(c) - exp
		chi += d * d / exp
	}
	if chi > 110 {
		t.Errorf("chi-square over %d buckets = %.1f; want < 110 (counts %v)", buckets, chi, count)
	}
	if ones[0] != 0 {
		t.Errorf("bit 0 set %d times; want 0 (63-bit source shifted left)", ones[0])
	}
	for b := 1; b < 64; b++ {
		// n/2 ± 6 standard deviations (sqrt(n)/2 = 256).
		if d := ones[b] - n/2; d < -1536 || d > 1536 {
			t.Errorf("bit %d set %d times in %d draws; want about %d", b, ones[b], n, n/2)
		}
	}
}

// TestFastUint64Concurrent draws from many goroutines at once (the race
// detector watches) and checks that the goroutines' values do not repeat.
func TestFastUint64Concurrent(t *testing.T) {
	const goroutines, draws = 16, 2000
	var mu sync.Mutex
	seen := make(map[uint64]bool, goroutines*draws)
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			local := make([]uint64, draws)
			for i := range local {
				local[i] = fastUint64()
			}
			mu.Lock()
			for _, v := range local {
				seen[v] = true
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	// 32000 63-bit values: a repeat has probability below 1e-10.
	if len(seen) != goroutines*draws {
		t.Errorf("%d concurrent draws gave %d distinct values", goroutines*draws, len(seen))
	}
}

// TestDefaultJitterSpread checks full jitter with the default source over
// its whole range: each tenth of [0, d] gets about a tenth of the delays.
func TestDefaultJitterSpread(t *testing.T) {
	const n = 100000
	d := time.Second
	p := NewFullJitter(Constant(d), nil)
	var count [10]int
	for range n {
		v := p.Delay(1)
		if v < 0 || v > d {
			t.Fatalf("Delay = %v; want in [0, %v]", v, d)
		}
		count[min(int(v*10/d), 9)]++
	}
	for i, c := range count {
		if c < n/10-600 || c > n/10+600 { // about 6 standard deviations
			t.Errorf("tenth %d holds %d of %d delays; want about %d", i, c, n, n/10)
		}
	}
}

// BenchmarkSource compares the default source with the alternatives it was
// chosen over, alone and under RunParallel.
func BenchmarkSource(b *testing.B) {
	sm := NewSplitMix(1)
	for _, bc := range []struct {
		name string
		f    func() uint64
	}{
		{"runtime", fastUint64},
		{"chacha8", rand.Uint64},
		{"splitmix", sm.Uint64},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var x uint64
			for b.Loop() {
				x += bc.f()
			}
			sinkU64 = x
		})
		b.Run(bc.name+"/parallel", func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				var x uint64
				for pb.Next() {
					x += bc.f()
				}
				if bits.OnesCount64(x) == 65 {
					b.Log(x) // keeps x alive
				}
			})
		})
	}
}

var sinkU64 uint64
