package backoff

import (
	"sync"
	"testing"
	"time"
	"unsafe"
)

func TestBudgetFloor(t *testing.T) {
	b := NewBudget(0, 2) // two retries per second, nothing earned
	t0 := time.Now()
	steps := []struct {
		at   time.Duration
		want bool
	}{
		{0, true}, {0, true}, {0, false}, // a second's worth at once
		{400 * time.Millisecond, false},
		{500 * time.Millisecond, true}, {500 * time.Millisecond, false},
		{time.Second, true}, {time.Second, false},
		{10 * time.Second, true}, {10 * time.Second, true}, {10 * time.Second, false}, // no more than the burst saved
	}
	for _, s := range steps {
		if got := b.WithdrawAt(t0.Add(s.at)); got != s.want {
			t.Errorf("WithdrawAt(t0+%v) = %v; want %v", s.at, got, s.want)
		}
	}
}

func TestBudgetRatioAndMax(t *testing.T) {
	b := NewBudget(0.25, 0, WithMaxBalance(2))
	now := time.Now()
	if b.WithdrawAt(now) {
		t.Fatal("WithdrawAt on an empty budget = true")
	}
	for range 4 {
		b.Deposit()
	}
	if got := b.Balance(); got != 1 {
		t.Errorf("Balance after 4 deposits of 0.25 = %v; want 1", got)
	}
	first, second := b.WithdrawAt(now), b.WithdrawAt(now)
	if !first || second {
		t.Errorf("one retry earned: WithdrawAt = %v, then %v; want true, then false", first, second)
	}
	for range 100 {
		b.Deposit()
	}
	if got := b.Balance(); got != 2 {
		t.Errorf("Balance after many deposits = %v; want the max 2", got)
	}
	w1, w2, w3 := b.Withdraw(), b.Withdraw(), b.Withdraw()
	if !w1 || !w2 || w3 {
		t.Errorf("Withdraw from a balance of 2 = %v, %v, %v; want true, true, false", w1, w2, w3)
	}
	if z := NewBudget(0, 0, WithMaxBalance(-1)); z.Withdraw() {
		t.Error("zero budget allowed a retry")
	}
}

func TestBudgetConcurrentExact(t *testing.T) {
	b := NewBudget(1, 0, WithMaxBalance(1e9))
	const g, n = 8, 1000
	var wg sync.WaitGroup
	for range g {
		wg.Go(func() {
			for range n {
				b.Deposit()
			}
		})
	}
	wg.Wait()
	var mu sync.Mutex
	took := 0
	for range g {
		wg.Go(func() {
			k := 0
			for b.Withdraw() {
				k++
			}
			mu.Lock()
			took += k
			mu.Unlock()
		})
	}
	wg.Wait()
	if took != g*n {
		t.Errorf("withdrew %d retries after %d deposits of 1; want exactly %d", took, g*n, g*n)
	}
}

func TestBudgetDoesNotAllocate(t *testing.T) {
	b := NewBudget(0.1, 10)
	if n := testing.AllocsPerRun(100, func() { b.Deposit(); b.Withdraw() }); n != 0 {
		t.Errorf("Deposit+Withdraw allocate %v times; want 0", n)
	}
}

func BenchmarkBudgetDeposit(b *testing.B) {
	bud := NewBudget(0.1, 10)
	b.ReportAllocs()
	for b.Loop() {
		bud.Deposit()
	}
}

func BenchmarkBudgetDepositParallel(b *testing.B) {
	bud := NewBudget(0.1, 10)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			bud.Deposit()
		}
	})
}

func BenchmarkBudgetWithdrawParallel(b *testing.B) {
	bud := NewBudget(1, 1e6, WithMaxBalance(1e9))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			bud.Deposit()
			bud.Withdraw()
		}
	})
}

// BenchmarkBudgetRefusedParallel withdraws from an empty Budget without a
// floor from every goroutine: the path every caller takes while a dependency
// is down.
func BenchmarkBudgetRefusedParallel(b *testing.B) {
	bud := NewBudget(0, 0)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if bud.Withdraw() {
				b.Fatal("Withdraw from an empty budget allowed a retry")
			}
		}
	})
}

func TestBudgetStats(t *testing.T) {
	b := NewBudget(0.5, 1) // one floor retry per second
	t0 := time.Now()
	steps := []struct {
		name string
		do   func()
		want BudgetStats
	}{
		{"new", func() {}, BudgetStats{}},
		{"floor retry", func() { b.WithdrawAt(t0) }, BudgetStats{Allowed: 1}},
		{"refused", func() { b.WithdrawAt(t0) }, BudgetStats{Allowed: 1, Refused: 1}},
		{"two deposits", func() { b.Deposit(); b.Deposit() }, BudgetStats{Balance: 1, Allowed: 1, Refused: 1}},
		{"earned retry", func() { b.WithdrawAt(t0) }, BudgetStats{Allowed: 2, Refused: 1}},
		{"refused again", func() { b.WithdrawAt(t0) }, BudgetStats{Allowed: 2, Refused: 2}},
		{"floor refilled", func() { b.WithdrawAt(t0.Add(time.Second)) }, BudgetStats{Allowed: 3, Refused: 2}},
	}
	for _, s := range steps {
		s.do()
		if got := b.Stats(); got != s.want {
			t.Errorf("after %s: Stats = %+v; want %+v", s.name, got, s.want)
		}
	}
}

func TestBudgetCountersOffTheDepositLine(t *testing.T) {
	var b Budget
	// Deposit reads earned; a Withdraw writes a stripe of the counters.
	// Words 64 bytes apart never share a cache line, and stripes 64 bytes
	// long, each its own.
	earned, stripes := unsafe.Offsetof(b.earned), unsafe.Offsetof(b.stripes)
	if stripes-earned < 64 {
		t.Errorf("earned at %d, stripes at %d: want the counters at least 64 bytes after earned", earned, stripes)
	}
	if n := unsafe.Sizeof(b.stripes[0]); n != 64 {
		t.Errorf("a stripe is %d bytes; want 64, a cache line", n)
	}
}
