package backoff

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

func TestConstantLinearExponential(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name    string
		p       Policy
		attempt int
		want    time.Duration
	}{
		{"constant", Constant(5 * ms), 1, 5 * ms},
		{"constant/7", Constant(5 * ms), 7, 5 * ms},
		{"linear/1", NewLinear(10*ms, 5*ms, 30*ms), 1, 10 * ms},
		{"linear/0", NewLinear(10*ms, 5*ms, 30*ms), 0, 10 * ms},
		{"linear/3", NewLinear(10*ms, 5*ms, 30*ms), 3, 20 * ms},
		{"linear/capped", NewLinear(10*ms, 5*ms, 30*ms), 100, 30 * ms},
		{"linear/huge", NewLinear(10*ms, 5*ms, 30*ms), 1 << 62, 30 * ms},
		{"linear/step0", NewLinear(10*ms, 0, 30*ms), 9, 10 * ms},
		{"exp/1", NewExponential(100*ms, 2, 10*time.Second), 1, 100 * ms},
		{"exp/-3", NewExponential(100*ms, 2, 10*time.Second), -3, 100 * ms},
		{"exp/4", NewExponential(100*ms, 2, 10*time.Second), 4, 800 * ms},
		{"exp/capped", NewExponential(100*ms, 2, 10*time.Second), 8, 10 * time.Second},
		{"exp/huge", NewExponential(100*ms, 2, 10*time.Second), 1 << 40, 10 * time.Second},
		{"exp/1.5", NewExponential(100*ms, 1.5, time.Hour), 3, 225 * ms},
		{"exp/factor1", NewExponential(100*ms, 1, time.Hour), 1000, 100 * ms},
		{"exp/beyond-table", NewExponential(1, 1.01, time.Hour), 200, 7},
		{"exp/beyond-table-cap", NewExponential(1, 1.5, time.Hour), 80, time.Hour},
	}
	for _, tt := range tests {
		if got := tt.p.Delay(tt.attempt); got != tt.want {
			t.Errorf("%s: Delay(%d) = %v; want %v", tt.name, tt.attempt, got, tt.want)
		}
	}
}

func TestConstructorsPanic(t *testing.T) {
	for name, f := range map[string]func(){
		"linear/neg":      func() { NewLinear(-1, 0, 0) },
		"linear/cap":      func() { NewLinear(2, 0, 1) },
		"exp/base0":       func() { NewExponential(0, 2, 1) },
		"exp/factor":      func() { NewExponential(1, 0.5, 2) },
		"exp/cap":         func() { NewExponential(2, 2, 1) },
		"full/nil":        func() { NewFullJitter(nil, nil) },
		"equal/nil":       func() { NewEqualJitter(nil, nil) },
		"decorr/base":     func() { NewDecorrelatedJitter(0, 1, nil) },
		"budget/neg":      func() { NewBudget(-1, 0) },
		"budget/nan":      func() { NewBudget(0, nanF()) },
		"opt/policy":      func() { WithPolicy(nil) },
		"opt/attempts":    func() { WithMaxAttempts(0) },
		"opt/attempttime": func() { WithAttemptTimeout(0) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func nanF() float64 { z := 0.0; return z / z }

func TestJitterBounds(t *testing.T) {
	exp := NewExponential(10*time.Millisecond, 2, time.Second)
	src := NewSplitMix(1)
	full := NewFullJitter(exp, src)
	equal := NewEqualJitter(exp, src)
	var sawLow, sawHigh bool
	for attempt := 1; attempt < 12; attempt++ {
		d := exp.Delay(attempt)
		for range 200 {
			f := full.Delay(attempt)
			if f < 0 || f > d {
				t.Fatalf("FullJitter.Delay(%d) = %v; want in [0, %v]", attempt, f, d)
			}
			sawLow = sawLow || f < d/4
			sawHigh = sawHigh || f > 3*d/4
			e := equal.Delay(attempt)
			if e < d/2 || e > d {
				t.Fatalf("EqualJitter.Delay(%d) = %v; want in [%v, %v]", attempt, e, d/2, d)
			}
		}
	}
	if !sawLow || !sawHigh {
		t.Errorf("FullJitter never drew in the low or high quarter: low %v high %v", sawLow, sawHigh)
	}
	// The default source works too.
	if d := NewFullJitter(Constant(time.Second), nil).Delay(1); d < 0 || d > time.Second {
		t.Errorf("FullJitter(nil source).Delay = %v", d)
	}
	if d := NewFullJitter(Constant(0), nil).Delay(1); d != 0 {
		t.Errorf("FullJitter(Constant(0)).Delay = %v; want 0", d)
	}
}

func TestDecorrelatedJitter(t *testing.T) {
	base, cp := 10*time.Millisecond, 500*time.Millisecond
	j := NewDecorrelatedJitter(base, cp, NewSplitMix(7))
	prev := time.Duration(0)
	for attempt := 1; attempt < 50; attempt++ {
		d := j.DelayAfter(attempt, prev)
		hi := min(cp, 3*max(prev, base))
		if d < base || d > hi {
			t.Fatalf("DelayAfter(%d, %v) = %v; want in [%v, %v]", attempt, prev, d, base, hi)
		}
		prev = d
	}
	for attempt := range 80 {
		if d := j.Delay(attempt); d < base || d > cp {
			t.Fatalf("Delay(%d) = %v; want in [%v, %v]", attempt, d, base, cp)
		}
	}
}

func TestSplitMixDeterministic(t *testing.T) {
	a, b := NewSplitMix(42), NewSplitMix(42)
	for i := range 10 {
		if x, y := a.Uint64(), b.Uint64(); x != y {
			t.Fatalf("draw %d: %x != %x", i, x, y)
		}
	}
	// Concurrent draws are all distinct: each takes its own counter value.
	s := NewSplitMix(0)
	var mu sync.Mutex
	seen := map[uint64]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			local := make([]uint64, 1000)
			for i := range local {
				local[i] = s.Uint64()
			}
			mu.Lock()
			for _, v := range local {
				seen[v] = true
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(seen) != 8000 {
		t.Errorf("8000 concurrent draws gave %d distinct values", len(seen))
	}
}

func TestDelayDoesNotAllocate(t *testing.T) {
	exp := NewExponential(time.Millisecond, 2, time.Second)
	policies := map[string]Policy{
		"exponential": exp,
		"full":        NewFullJitter(exp, nil),
		"full/pcg":    NewFullJitter(exp, rand.NewPCG(1, 2)),
		"equal":       NewEqualJitter(exp, NewSplitMix(1)),
		"decorr":      NewDecorrelatedJitter(time.Millisecond, time.Second, nil),
	}
	for name, p := range policies {
		if n := testing.AllocsPerRun(100, func() { p.Delay(5) }); n != 0 {
			t.Errorf("%s: Delay allocates %v times per call; want 0", name, n)
		}
	}
}

func BenchmarkDelay(b *testing.B) {
	exp := NewExponential(time.Millisecond, 2, time.Second)
	for _, bc := range []struct {
		name string
		p    Policy
	}{
		{"exponential", exp},
		{"fulljitter", NewFullJitter(exp, nil)},
		{"equaljitter", NewEqualJitter(exp, nil)},
		{"decorrelated", NewDecorrelatedJitter(time.Millisecond, time.Second, nil)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n++
				bc.p.Delay(n&15 + 1)
			}
		})
		b.Run(bc.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				n := 0
				for pb.Next() {
					n++
					bc.p.Delay(n&15 + 1)
				}
			})
		})
	}
}
