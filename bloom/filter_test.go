package bloom

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"testing"
)

// keys returns n distinct keys with the given prefix.
func keys(prefix string, n int) []string {
	ks := make([]string, n)
	for i := range ks {
		ks[i] = prefix + strconv.Itoa(i)
	}
	return ks
}

func TestFalsePositiveRate(t *testing.T) {
	for _, tc := range []struct {
		p          float64
		maxBitsKey float64
	}{
		{0.01, 10.6},
		{0.001, 16.0},
	} {
		t.Run(fmt.Sprint("p=", tc.p), func(t *testing.T) {
			t.Parallel()
			f := New(fprN, tc.p)
			for i := range fprN {
				f.AddString("https://example.com/page/" + strconv.Itoa(i))
			}
			if bpk := float64(f.Geometry().Bits()) / fprN; bpk > tc.maxBitsKey {
				t.Errorf("New(%d, %v) uses %.2f bits per key; want <= %v", fprN, tc.p, bpk, tc.maxBitsKey)
			}
			fp := 0
			var buf []byte
			for i := range fprKeys {
				buf = strconv.AppendInt(append(buf[:0], "https://example.org/absent/"...), int64(i), 10)
				if f.Test(buf) {
					fp++
				}
			}
			rate := float64(fp) / fprKeys
			t.Logf("p=%v: k=%d, %.2f bits/key, measured rate %.5f (%.3f p)", tc.p, f.K(),
				float64(f.Geometry().Bits())/fprN, rate, rate/tc.p)
			if rate < fprLo*tc.p || rate > fprHi*tc.p {
				t.Errorf("false-positive rate over %d absent keys = %.5f; want within [%v, %v] × %v", fprKeys, rate, fprLo, fprHi, tc.p)
			}
		})
	}
}

func TestNoFalseNegatives(t *testing.T) {
	f := New(10_000, 0.01)
	ks := keys("k", 10_000)
	for i, k := range ks {
		if i%2 == 0 {
			f.AddString(k)
		} else {
			f.Add([]byte(k))
		}
	}
	for _, k := range ks {
		if !f.TestString(k) || !f.Test([]byte(k)) || !f.TestHash(HashString(k)) {
			t.Fatalf("Test(%q) = false after Add; want true", k)
		}
	}
}

func TestTestAndAdd(t *testing.T) {
	f := New(1000, 0.001)
	if f.TestAndAddString("a") {
		t.Error(`first TestAndAddString("a") = true; want false`)
	}
	if !f.TestAndAddString("a") {
		t.Error(`second TestAndAddString("a") = false; want true`)
	}
	if f.TestAndAdd([]byte("b")) || !f.TestAndAdd([]byte("b")) {
		t.Error(`TestAndAdd("b") twice did not give false, true`)
	}
	u := NewUnsync(1000, 0.001)
	if u.TestAndAddString("a") || !u.TestAndAddString("a") || u.TestAndAdd([]byte("b")) || !u.TestAndAdd([]byte("b")) {
		t.Error("Unsync.TestAndAdd twice did not give false, true")
	}
}

func TestSizeFormulas(t *testing.T) {
	for _, tc := range []struct {
		n     int
		p     float64
		wantK int
	}{
		{1_000_000, 0.01, 6},
		{1_000_000, 0.001, 9},
		{0, 0.5, 1},
		{1, 0.01, 6},
	} {
		g := Size(tc.n, tc.p)
		if g.K != tc.wantK || !g.Valid() {
			t.Errorf("Size(%d, %v) = %+v; want K %d and valid", tc.n, tc.p, g, tc.wantK)
		}
		// The model must predict the requested rate, with the sizing margin.
		c := float64(g.Bits()) / float64(max(tc.n, 1))
		if fpr := blockedFPR(c, g.K); fpr > tc.p*sizingMargin*1.0001 {
			t.Errorf("Size(%d, %v): model rate %v; want <= %v", tc.n, tc.p, fpr, tc.p*sizingMargin)
		}
	}
	// Tiny rates stay within MaxK and a finite size.
	if g := Size(1000, 1e-15); !g.Valid() {
		t.Errorf("Size(1000, 1e-15) = %+v; want valid", g)
	}
	// The blocked model approaches the classic formula as blocks grow
	// unimportant: it is never below it.
	for _, p := range []float64{0.1, 0.01, 0.001, 1e-4} {
		classic := -math.Log(p) / (math.Ln2 * math.Ln2)
		if c, _ := optimal(p); c < classic || c > 1.2*classic {
			t.Errorf("optimal(%v) = %.2f bits per key; want within [1, 1.2] × classic %.2f", p, c, classic)
		}
	}
}

func TestConstructorsPanic(t *testing.T) {
	for name, fn := range map[string]func(){
		"New(-1, 0.01)":       func() { New(-1, 0.01) },
		"New(10, 0)":          func() { New(10, 0) },
		"New(10, 1)":          func() { New(10, 1) },
		"New(10, NaN)":        func() { New(10, math.NaN()) },
		"NewGeometry(0 K)":    func() { NewGeometry(Geometry{Blocks: 1}) },
		"NewGeometry(0 B)":    func() { NewGeometry(Geometry{K: 3}) },
		"NewScalable(0, .01)": func() { NewScalable(0, 0.01) },
		"NewScalable(1, 2)":   func() { NewScalable(1, 2) },
		"WithGrowth(1)":       func() { NewScalable(1, 0.01, WithGrowth(1)) },
		"WithTightening(1)":   func() { NewScalable(1, 0.01, WithTightening(1)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", name)
				}
			}()
			fn()
		}()
	}
}

func TestAccessors(t *testing.T) {
	f := New(1000, 0.01)
	if f.Cap() != 1000 || f.K() != 6 {
		t.Errorf("Cap, K = %d, %d; want 1000, 6", f.Cap(), f.K())
	}
	if f.FillRatio() != 0 || f.EstimatedCount() != 0 {
		t.Errorf("empty filter: FillRatio %v, EstimatedCount %d; want 0, 0", f.FillRatio(), f.EstimatedCount())
	}
	g := NewGeometry(Geometry{Blocks: 3, K: 4})
	if g.Cap() != 0 || g.Geometry() != (Geometry{Blocks: 3, K: 4}) {
		t.Errorf("NewGeometry: Cap %d, Geometry %+v", g.Cap(), g.Geometry())
	}
}

func TestEstimatedCountAndFillRatio(t *testing.T) {
	const n = 100_000
	f := New(n, 0.01)
	for _, k := range keys("k", n) {
		f.AddString(k)
	}
	if got := f.EstimatedCount(); math.Abs(float64(got-n)) > 0.02*n {
		t.Errorf("EstimatedCount() = %d after %d keys; want within 2%%", got, n)
	}
	// At the optimum about half the bits are set.
	if r := f.FillRatio(); r < 0.4 || r > 0.6 {
		t.Errorf("FillRatio() = %.3f at capacity; want about 0.5", r)
	}
	f.Reset()
	if f.FillRatio() != 0 || f.TestString("k1") {
		t.Error("after Reset the filter is not empty")
	}
	// An overfull filter with saturated blocks still gives a finite count.
	tiny := NewGeometry(Geometry{Blocks: 1, K: 8})
	for _, k := range keys("x", 5000) {
		tiny.AddString(k)
	}
	if got := tiny.EstimatedCount(); got <= 0 || got > 10_000 {
		t.Errorf("saturated EstimatedCount() = %d; want positive and finite", got)
	}
}

func TestUnionIntersect(t *testing.T) {
	a, b := New(10_000, 0.01), New(10_000, 0.01)
	for _, k := range keys("a", 3000) {
		a.AddString(k)
	}
	for _, k := range keys("b", 3000) {
		b.AddString(k)
	}
	both := New(10_000, 0.01)
	for _, k := range keys("a", 3000) {
		both.AddString(k)
	}
	for _, k := range keys("b", 3000) {
		both.AddString(k)
	}
	u := New(10_000, 0.01)
	if err := u.Union(a); err != nil {
		t.Fatal(err)
	}
	if err := u.Union(b); err != nil {
		t.Fatal(err)
	}
	if !equalWords(u, both) {
		t.Error("Union of a and b differs from a filter given the keys of both")
	}
	for _, k := range append(keys("a", 3000), keys("b", 3000)...) {
		if !u.TestString(k) {
			t.Fatalf("union: Test(%q) = false; want true", k)
		}
	}
	if err := both.Intersect(a); err != nil {
		t.Fatal(err)
	}
	if !equalWords(both, a) {
		t.Error("(a ∪ b) ∩ a differs from a")
	}
	other := New(20_000, 0.01)
	if err := a.Union(other); !errors.Is(err, ErrIncompatible) {
		t.Errorf("Union of different geometries = %v; want ErrIncompatible", err)
	}
	if err := a.Intersect(other); !errors.Is(err, ErrIncompatible) {
		t.Errorf("Intersect of different geometries = %v; want ErrIncompatible", err)
	}
}

func equalWords(a, b *Filter) bool {
	if len(a.words) != len(b.words) {
		return false
	}
	for i := range a.words {
		if a.words[i] != b.words[i] {
			return false
		}
	}
	return true
}

func TestLocateMatchesFilter(t *testing.T) {
	// K = 6 has a path of its own; past K = 10 the positions come from a
	// second product, past 24 the words wrap round the block.
	for _, k := range []int{1, 2, 3, 6, 7, 9, 10, 11, 20, 25, 32} {
		g := Geometry{Blocks: 97, K: k}
		f, u, manual := NewGeometry(g), &Unsync{*NewGeometry(g)}, NewGeometry(g)
		var pos []uint16
		for _, key := range keys("k", 500) {
			h := HashString(key)
			f.AddHash(h)
			u.AddHash(h)
			var block uint64
			block, pos = g.Locate(h, pos)
			if len(pos) != g.K {
				t.Fatalf("K=%d: Locate gave %d positions; want K", k, len(pos))
			}
			var m [blockWords]uint64
			for _, p := range pos {
				manual.words[block*blockWords+uint64(p/64)] |= 1 << (p % 64)
				m[p/64] |= 1 << (p % 64)
			}
			if m != masks(h, k) {
				t.Fatalf("K=%d: masks differ from Locate for %q", k, key)
			}
		}
		if !equalWords(f, manual) || !equalWords(&u.Filter, manual) {
			t.Errorf("K=%d: bits set from Locate differ from the Filter's or the Unsync's", k)
		}
		for _, key := range keys("x", 2000) {
			h := HashString(key)
			if f.TestHash(h) != u.TestHash(h) {
				t.Fatalf("K=%d: Test(%q) differs between Filter and Unsync", k, key)
			}
		}
	}
	if Hash([]byte("abc")) != HashString("abc") {
		t.Error("Hash and HashString disagree")
	}
}

func TestUnsyncMatchesFilter(t *testing.T) {
	f, u := New(5000, 0.01), NewUnsync(5000, 0.01)
	for i, k := range keys("k", 5000) {
		f.AddString(k)
		if i%2 == 0 {
			u.AddString(k)
		} else {
			u.Add([]byte(k))
		}
	}
	if !equalWords(f, &u.Filter) {
		t.Error("Unsync sets other bits than Filter")
	}
	for _, k := range keys("x", 20_000) {
		if f.TestString(k) != u.TestString(k) || f.Test([]byte(k)) != u.Test([]byte(k)) {
			t.Fatalf("Test(%q) differs between Filter and Unsync", k)
		}
	}
}

// TestConcurrentAddThenTest checks that a key added by any goroutine tests
// true, from any goroutine, once Add has returned.
func TestConcurrentAddThenTest(t *testing.T) {
	const workers, per = 8, 5000
	f := New(workers*per, 0.01)
	var wg sync.WaitGroup
	errs := make(chan string, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				k := fmt.Sprintf("w%d-%d", w, i)
				f.AddString(k)
				if !f.TestString(k) {
					errs <- k
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for k := range errs {
		t.Errorf("Test(%q) = false right after Add; want true", k)
	}
	for w := range workers {
		for i := range per {
			if k := fmt.Sprintf("w%d-%d", w, i); !f.TestString(k) {
				t.Fatalf("Test(%q) = false after all Adds; want true", k)
			}
		}
	}
}

func TestHotPathsDoNotAllocate(t *testing.T) {
	f := New(1000, 0.01)
	u := NewUnsync(1000, 0.01)
	s := NewScalable(1000, 0.01)
	key, skey := []byte("some-key"), "some-key"
	for name, fn := range map[string]func(){
		"Filter.Add":              func() { f.Add(key) },
		"Filter.AddString":        func() { f.AddString(skey) },
		"Filter.Test":             func() { f.Test(key) },
		"Filter.TestString":       func() { f.TestString(skey) },
		"Filter.TestAndAddString": func() { f.TestAndAddString(skey) },
		"Unsync.AddString":        func() { u.AddString(skey) },
		"Unsync.TestString":       func() { u.TestString(skey) },
		"Scalable.AddString":      func() { s.AddString(skey) },
		"Scalable.TestString":     func() { s.TestString(skey) },
	} {
		if n := testing.AllocsPerRun(100, fn); n != 0 {
			t.Errorf("%s allocates %v times per call; want 0", name, n)
		}
	}
}
