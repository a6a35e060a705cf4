package bloom

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
)

func TestScalableCompoundRate(t *testing.T) {
	for _, p := range []float64{0.01, 0.001} {
		t.Run(fmt.Sprint("p=", p), func(t *testing.T) {
			t.Parallel()
			s := NewScalable(10_000, p)
			for i := range fprN {
				s.AddString("https://example.com/page/" + strconv.Itoa(i))
			}
			for i := range fprN {
				if !s.TestString("https://example.com/page/" + strconv.Itoa(i)) {
					t.Fatalf("Test(key %d) = false after Add; want true", i)
				}
			}
			fp := 0
			var buf []byte
			for i := range fprKeys {
				buf = strconv.AppendInt(append(buf[:0], "https://example.org/absent/"...), int64(i), 10)
				if s.Test(buf) {
					fp++
				}
			}
			rate := float64(fp) / fprKeys
			bpk := float64(s.bits()) / fprN
			t.Logf("p=%v: %d stages, K %d, cap %d, count %d, %.1f bits per key, measured rate %.5f (%.3f p)", p, s.Stages(), s.k, s.Cap(), s.Count(), bpk, rate, rate/p)
			if rate > p*max(1, fprHi*0.9) {
				t.Errorf("compound false-positive rate = %.5f after growing from 10k to %d keys; want <= %v", rate, fprN, p)
			}
			// Geometric growth: 10k·(1 + 2 + 4 + ...) passes 1M at the seventh stage.
			if fprN == 1_000_000 && s.Stages() != 7 {
				t.Errorf("Stages() = %d after 1M keys from a 10k hint; want 7", s.Stages())
			}
			// The stages' capacities sum to 1.27M keys: 22.4 bits per key at
			// p = 1% and 30.7 at 0.1% (growth 4, tightening 0.5 and a K per stage
			// took 63.7 and 87.8).
			if want := map[float64]float64{0.01: 23, 0.001: 31.5}[p]; fprN == 1_000_000 && bpk > want {
				t.Errorf("%.1f bits per key after 1M keys; want <= %.1f", bpk, want)
			}
			if c := s.Count(); c < fprN*99/100 || c > fprN {
				t.Errorf("Count() = %d after %d distinct keys; want within 1%% below", c, fprN)
			}
		})
	}
}

func TestScalableGrowsAtCapacity(t *testing.T) {
	s := NewScalable(100, 0.01, WithGrowth(2), WithTightening(0.8))
	if s.Stages() != 1 || s.Cap() != 100 {
		t.Fatalf("new: Stages %d, Cap %d; want 1, 100", s.Stages(), s.Cap())
	}
	ks := keys("k", 1000)
	for _, k := range ks[:99] {
		s.AddString(k)
	}
	if s.Stages() != 1 {
		t.Fatalf("after 99 keys: Stages %d; want 1", s.Stages())
	}
	// Re-adding present keys spends no capacity.
	for _, k := range ks[:99] {
		s.AddString(k)
		if !s.TestAndAddString(k) {
			t.Fatalf("TestAndAddString(%q) = false for a present key", k)
		}
	}
	for i, k := range ks[99:] {
		s.Add([]byte(k))
		if i == 1 && s.Stages() != 2 {
			t.Fatalf("Stages() = %d past the first capacity; want 2", s.Stages())
		}
	}
	if s.Stages() != 4 || s.Cap() != 100+200+400+800 {
		t.Errorf("after 1000 keys: Stages %d, Cap %d; want 4, 1500", s.Stages(), s.Cap())
	}
	for _, k := range ks {
		if !s.Test([]byte(k)) || !s.TestString(k) {
			t.Fatalf("Test(%q) = false; want true", k)
		}
	}
	if s.TestAndAdd([]byte("new")) || !s.TestAndAdd([]byte("new")) {
		t.Error(`TestAndAdd("new") twice did not give false, true`)
	}
}

func TestScalableConcurrent(t *testing.T) {
	const workers, per = 4, 20_000
	s := NewScalable(1000, 0.01)
	var wg sync.WaitGroup
	fail := make(chan string, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				k := "w" + strconv.Itoa(w) + "-" + strconv.Itoa(i)
				s.AddString(k)
				if !s.TestString(k) {
					fail <- k
					return
				}
			}
		}()
	}
	wg.Wait()
	close(fail)
	for k := range fail {
		t.Errorf("Test(%q) = false right after Add; want true", k)
	}
	if s.Stages() < 4 {
		t.Errorf("Stages() = %d after %d keys from a 1000 hint; want >= 4", s.Stages(), workers*per)
	}
}

// bits returns the number of bits in s's stages.
func (s *Scalable) bits() (n uint64) {
	for _, st := range *s.stages.Load() {
		n += st.f.geom.Bits()
	}
	return n
}

// A steep tightening drives later stages' rates far below the first's, where
// the first stage's K would need many more bits: those stages take their own
// K, and keys in them still test true.
func TestScalableSteepTightening(t *testing.T) {
	s := NewScalable(10, 0.3, WithTightening(0.01))
	ks := keys("k", 700)
	for _, k := range ks {
		s.AddString(k)
	}
	st := *s.stages.Load()
	if len(st) < 6 || st[len(st)-1].k == s.k {
		t.Fatalf("%d stages, last K %d, first K %d; want >= 6 stages and a K of its own for the last", len(st), st[len(st)-1].k, s.k)
	}
	bpk := float64(s.bits()) / float64(s.Cap())
	t.Logf("%d stages, K %d to %d, %.0f bits per key of capacity", len(st), s.k, st[len(st)-1].k, bpk)
	if bpk > 200 {
		t.Errorf("%.0f bits per key of capacity; want <= 200", bpk)
	}
	for _, k := range ks {
		if !s.TestString(k) {
			t.Fatalf("TestString(%q) = false after Add; want true", k)
		}
	}
}

// TestHash reads every stage at once with masks computed for the shared K;
// it must answer as the stages' own Filters do, also at low rates, where K
// passes 10 and the positions come from a second product, and
// with a steep tightening, where later stages have a K of their own.
func TestScalableTestHashMatchesStages(t *testing.T) {
	for _, tc := range []struct{ p, r float64 }{{0.01, 0.8}, {1e-4, 0.8}, {1e-7, 0.8}, {0.3, 0.01}} {
		p := tc.p
		s := NewScalable(1000, p, WithTightening(tc.r))
		for i := range 20_000 {
			s.AddHash(uint64(i) * 0x9E3779B97F4A7C15)
		}
		st := *s.stages.Load()
		rng := rand.New(rand.NewPCG(1, uint64(p*1e9)))
		hits := 0
		for range fprKeys {
			h := rng.Uint64()
			var want bool
			for _, sg := range st {
				want = want || sg.f.TestHash(h)
			}
			if got := s.TestHash(h); got != want {
				t.Fatalf("p=%v, K=%d: TestHash(%#x) = %v; its stages' Filters say %v", p, s.k, h, got, want)
			}
			if want {
				hits++
			}
		}
		t.Logf("p=%v: K %d, %d stages, %d of %d random hashes test true", p, s.k, len(st), hits, fprKeys)
	}
}

func TestNewScalableRejectsBadOptions(t *testing.T) {
	for _, opt := range []ScalableOption{WithGrowth(1), WithGrowth(17), WithTightening(0), WithTightening(1)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewScalable with %v did not panic", opt)
				}
			}()
			NewScalable(10, 0.01, opt)
		}()
	}
}
