package backoff

import (
	"math"
	"sync/atomic"
	"time"
)

// micro is the fixed-point unit of a Budget's balance: one retry.
const micro = 1_000_000

// A Budget limits retries to a fraction of successful calls plus a floor per
// second, as Finagle's RetryBudget and gRPC's retry throttling do: each
// success deposits ratio of a retry (up to a maximum balance), each retry
// withdraws one, and minPerSecond retries per second are allowed even with
// nothing deposited, so that a quiet client can still retry. When a
// dependency fails hard, retries stop within a few calls instead of
// multiplying its load.
//
// A Budget is lock-free and safe for concurrent use by multiple goroutines;
// share one per dependency. Deposit writes no shared memory while the
// balance is full. Use it from Retry (WithBudget) or on its own.
type Budget struct {
	deposit   int64 // micro-retries per success
	maxEarned int64 // micro-retries
	interval  int64 // ns between floor retries; 0: no floor
	burstSpan int64 // ns: the floor allows a second's worth at once
	base      time.Time
	earned    atomic.Int64 // micro-retries
	floorTAT  atomic.Int64 // GCRA theoretical arrival time, ns since base
	_         [0]func()    // not comparable

	// Counters for Stats, off the line every Deposit reads, in stripes of
	// a cache line each: a Withdraw counts in a stripe picked at random, so
	// that goroutines refused at once (every caller, when a dependency is
	// down) seldom write the same line.
	_       [64]byte
	stripes [budgetStripes]budgetStripe
}

// budgetStripes is how many stripes a Budget's counters are split into: with
// 8, two goroutines counting at once share one an eighth of the time.
const budgetStripes = 8

// A budgetStripe is a share of a Budget's counters, one cache line long.
type budgetStripe struct {
	allowed, refused atomic.Uint64
	_                [48]byte
}

// stripe returns a stripe of b's counters picked at random.
func (b *Budget) stripe() *budgetStripe {
	return &b.stripes[fastUint64()>>61&(budgetStripes-1)]
}

// BudgetStats is a snapshot of a Budget's balance and counters, for
// monitoring.
type BudgetStats struct {
	// Balance is the retries saved up from successes now, as Balance
	// reports.
	Balance float64
	// Allowed counts the withdrawals that allowed a retry, from the floor or
	// from the earned balance, since NewBudget.
	Allowed uint64
	// Refused counts the withdrawals refused: retries the Budget stopped. A
	// rise means a dependency fails more than the budget allows retries for.
	Refused uint64
}

// Stats returns a snapshot of the Budget's balance and counters. Deposits
// are not counted: Deposit runs after every success, and writes no shared
// memory while the balance is full, which a counter would undo; count
// successes where the calls are made. Each field is read atomically, but
// not all at one instant.
func (b *Budget) Stats() BudgetStats {
	s := BudgetStats{Balance: b.Balance()}
	for i := range b.stripes {
		s.Allowed += b.stripes[i].allowed.Load()
		s.Refused += b.stripes[i].refused.Load()
	}
	return s
}

// A BudgetOption configures a Budget.
type BudgetOption func(*Budget)

// WithMaxBalance sets the most retries a Budget saves up from successes.
// Default: 100.
func WithMaxBalance(n float64) BudgetOption {
	return func(b *Budget) { b.maxEarned = int64(n * micro) }
}

// NewBudget returns a Budget that earns ratio retries per success (0.1: one
// retry per ten successes) and allows minPerSecond retries per second
// regardless. Its balance starts empty. It panics if ratio or minPerSecond is
// negative, NaN or infinite.
func NewBudget(ratio, minPerSecond float64, opts ...BudgetOption) *Budget {
	if !(ratio >= 0) || !(minPerSecond >= 0) || math.IsInf(ratio, 0) || math.IsInf(minPerSecond, 0) {
		panic("backoff: NewBudget needs finite ratio >= 0 and minPerSecond >= 0")
	}
	b := &Budget{deposit: int64(ratio * micro), maxEarned: 100 * micro, base: time.Now()}
	if minPerSecond > 0 {
		b.interval = int64(float64(time.Second) / minPerSecond)
		if b.interval < 1 {
			b.interval = 1
		}
		b.burstSpan = max(int64(time.Second), b.interval)
		b.floorTAT.Store(math.MinInt64 / 2)
	}
	for _, o := range opts {
		o(b)
	}
	if b.maxEarned < 0 {
		b.maxEarned = 0
	}
	return b
}

// Deposit records a success. It costs an atomic load, plus an atomic add
// when the balance is not full.
func (b *Budget) Deposit() {
	if b.deposit == 0 || b.earned.Load() >= b.maxEarned {
		return
	}
	// Racing depositors may overshoot maxEarned by a few deposits; they are
	// spent like any other.
	b.earned.Add(b.deposit)
}

// Withdraw is WithdrawAt(time.Now()), but reads only the monotonic clock,
// and no clock at all when the Budget has no floor.
func (b *Budget) Withdraw() bool {
	if b.interval > 0 && b.takeFloor(int64(time.Since(b.base))) {
		b.stripe().allowed.Add(1)
		return true
	}
	return b.withdrawEarned()
}

// WithdrawAt reports whether one retry may happen at now, and if so takes it
// from the floor or, when the floor is spent, from the earned balance.
func (b *Budget) WithdrawAt(now time.Time) bool {
	if b.interval > 0 && b.takeFloor(int64(now.Sub(b.base))) {
		b.stripe().allowed.Add(1)
		return true
	}
	return b.withdrawEarned()
}

// withdrawEarned takes one retry from the earned balance, if it holds one.
func (b *Budget) withdrawEarned() bool {
	for {
		v := b.earned.Load()
		if v < micro {
			b.stripe().refused.Add(1)
			return false
		}
		if b.earned.CompareAndSwap(v, v-micro) {
			b.stripe().allowed.Add(1)
			return true
		}
	}
}

// takeFloor is a lock-free GCRA over the floor rate.
func (b *Budget) takeFloor(now int64) bool {
	for {
		tat := b.floorTAT.Load()
		next := max(tat, now) + b.interval
		if next-now > b.burstSpan {
			return false
		}
		if b.floorTAT.CompareAndSwap(tat, next) {
			return true
		}
	}
}

// Balance returns the retries saved up from successes, not counting the
// floor.
func (b *Budget) Balance() float64 {
	return float64(b.earned.Load()) / micro
}
