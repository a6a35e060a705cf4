package circuitbreaker

import (
	"sync"
	"sync/atomic"
	"time"
)

// A window counts the outcomes of recent calls. Implementations are safe for
// concurrent use.
type window interface {
	// record adds one call, at now or, if now is noTime, at the present.
	// It costs at most one contended atomic add.
	record(now int64, failure, slow bool)
	// counts returns the calls, failures and slow calls in the window at
	// now or, if now is noTime, at the present.
	counts(now int64) (calls, failures, slow int64)
	// reset empties the window.
	reset()
}

// countWindow holds the outcomes of the last size calls in a ring. Each
// call takes a slot with one atomic add on the sequence; it swaps its
// outcome in, and adjusts the totals, only when the outcome it replaces
// differs, so a run of successes writes nothing but the sequence.
type countWindow struct {
	seq      atomic.Int64
	_        [56]byte
	failures atomic.Int64
	slow     atomic.Int64
	size     int64
	slots    []atomic.Uint32 // 0: empty; else filled|failure|slow bits
}

const (
	slotFailure = 1
	slotSlow    = 2
	slotFilled  = 4
)

func newCountWindow(size int) *countWindow {
	return &countWindow{size: int64(size), slots: make([]atomic.Uint32, size)}
}

func (w *countWindow) record(_ int64, failure, slow bool) {
	v := uint32(slotFilled)
	if failure {
		v |= slotFailure
	}
	if slow {
		v |= slotSlow
	}
	slot := &w.slots[(w.seq.Add(1)-1)%w.size]
	if slot.Load() == v {
		// Nothing changes: read, do not write, so that a run of equal
		// outcomes leaves the ring's cache lines shared. Every change goes
		// through Swap with its delta, so the totals still equal the ring.
		return
	}
	old := slot.Swap(v)
	if old == v {
		return
	}
	if d := int64(v&slotFailure) - int64(old&slotFailure); d != 0 {
		w.failures.Add(d)
	}
	if d := int64(v&slotSlow)/slotSlow - int64(old&slotSlow)/slotSlow; d != 0 {
		w.slow.Add(d)
	}
}

func (w *countWindow) counts(int64) (calls, failures, slow int64) {
	return min(w.seq.Load(), w.size), w.failures.Load(), w.slow.Load()
}

func (w *countWindow) reset() {
	for i := range w.slots {
		w.slots[i].Store(0)
	}
	w.failures.Store(0)
	w.slow.Store(0)
	w.seq.Store(0)
}

// Outcome categories of a time bucket: one counter each, so that a call is
// one atomic add.
const (
	catSuccess = iota
	catFailure
	catSlowSuccess
	catSlowFailure
	numCats
)

type bucket struct {
	n      [numCats]atomic.Int64
	folded [numCats]int64 // what was added to the totals; guarded by mu
	_      [32]byte
}

// timeWindow counts the calls of the last n buckets of width ns. Calls add
// to the current bucket only. When time moves to a new bucket, the old
// current bucket's counts are folded into running totals and the buckets
// that fell out of the window are subtracted from them (subtract on evict),
// so counts costs a few loads whatever n is. A call that records into a
// bucket after it was folded (a race of nanoseconds at a bucket boundary)
// is kept in the bucket but not in the totals.
//
// Calls at the present (now == noTime) read no clock while the window
// ticks: a runtime timer (no goroutine) moves the current bucket at each
// bucket boundary, so such a call is a load and an atomic add. The timer
// stops after a bucket with no calls; the next call then reads the clock
// once and starts it again. The current bucket can thus lag the clock by
// the timer's delay in firing, typically well under a millisecond.
type timeWindow struct {
	cur     atomic.Int64 // index of the current bucket << 1, | ticking while the timer runs
	_       [56]byte
	width   int64
	buckets []bucket
	clock   func() int64 // ns since the breaker's base
	mu      sync.Mutex
	timer   *time.Timer // guarded by mu
	totals  [numCats]atomic.Int64
}

// ticking is the bit of timeWindow.cur set while the timer moves the
// current bucket.
const ticking = 1

func newTimeWindow(width int64, n int, clock func() int64) *timeWindow {
	return &timeWindow{width: width, buckets: make([]bucket, n), clock: clock}
}

func (w *timeWindow) index(now int64) int64 {
	if now < 0 {
		return 0
	}
	return now / w.width
}

// current returns the index of the bucket for a call at now (noTime: the
// present), moving the window forward if needed.
func (w *timeWindow) current(now int64) int64 {
	cw := w.cur.Load()
	if now == noTime {
		if cw&ticking != 0 {
			return cw >> 1
		}
		now = w.clock()
		w.rotate(w.index(now), now, true)
		return w.cur.Load() >> 1
	}
	if idx := w.index(now); idx > cw>>1 {
		w.rotate(idx, now, false)
		return w.cur.Load() >> 1
	}
	return cw >> 1
}

func (w *timeWindow) record(now int64, failure, slow bool) {
	c := w.current(now)
	cat := catSuccess
	if failure {
		cat = catFailure
	}
	if slow {
		cat += catSlowSuccess
	}
	w.buckets[c%int64(len(w.buckets))].n[cat].Add(1)
}

// rotate makes idx the current bucket if it is later than the current one,
// at now. With start, it also starts the timer if it is not running.
func (w *timeWindow) rotate(idx, now int64, start bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	cw := w.cur.Load()
	c, tick := cw>>1, cw&ticking
	if idx > c {
		w.advanceLocked(c, idx)
		c = idx
	}
	if start && tick == 0 {
		w.armLocked(c, now)
		tick = ticking
	}
	w.cur.Store(c<<1 | tick)
}

// armLocked sets the timer for the end of bucket c, at now.
func (w *timeWindow) armLocked(c, now int64) {
	d := time.Duration(max((c+1)*w.width-now, 1))
	if w.timer == nil {
		w.timer = time.AfterFunc(d, w.tick)
	} else {
		w.timer.Reset(d)
	}
}

// tick runs at a bucket boundary: it moves the current bucket and sets the
// timer for the next boundary, or stops if the bucket that ended was empty.
func (w *timeWindow) tick() {
	now := w.clock()
	idx := w.index(now)
	w.mu.Lock()
	defer w.mu.Unlock()
	cw := w.cur.Load()
	if cw&ticking == 0 {
		return // defensive: only a ticking window has a pending timer
	}
	c := cw >> 1
	var calls int64
	cb := &w.buckets[c%int64(len(w.buckets))]
	for k := range cb.n {
		calls += cb.n[k].Load()
	}
	if idx > c {
		w.advanceLocked(c, idx)
		c = idx
	}
	if calls == 0 {
		w.cur.Store(c << 1) // idle: the next call reads the clock
		return
	}
	w.armLocked(c, now)
	w.cur.Store(c<<1 | ticking)
}

// advanceLocked moves the current bucket from c to idx > c.
func (w *timeWindow) advanceLocked(c, idx int64) {
	n := int64(len(w.buckets))
	if idx-c >= n {
		w.clearLocked()
		return
	}
	cb := &w.buckets[c%n]
	for k := range cb.n {
		v := cb.n[k].Load()
		cb.folded[k] = v
		w.totals[k].Add(v)
	}
	for e := c + 1; e <= idx; e++ {
		b := &w.buckets[e%n]
		for k := range b.n {
			w.totals[k].Add(-b.folded[k])
			b.folded[k] = 0
			b.n[k].Store(0)
		}
	}
}

func (w *timeWindow) clearLocked() {
	for i := range w.buckets {
		b := &w.buckets[i]
		for k := range b.n {
			b.n[k].Store(0)
			b.folded[k] = 0
		}
	}
	for k := range w.totals {
		w.totals[k].Store(0)
	}
}

func (w *timeWindow) counts(now int64) (calls, failures, slow int64) {
	c := w.current(now)
	cb := &w.buckets[c%int64(len(w.buckets))]
	var v [numCats]int64
	for k := range v {
		v[k] = w.totals[k].Load() + cb.n[k].Load()
	}
	calls = v[catSuccess] + v[catFailure] + v[catSlowSuccess] + v[catSlowFailure]
	return calls, v[catFailure] + v[catSlowFailure], v[catSlowSuccess] + v[catSlowFailure]
}

func (w *timeWindow) reset() {
	w.mu.Lock()
	w.clearLocked()
	w.mu.Unlock()
}
