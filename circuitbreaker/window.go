package circuitbreaker

import (
	"sync"
	"sync/atomic"
)

// A window counts the outcomes of recent calls. Implementations are safe for
// concurrent use.
type window interface {
	// needsTime reports whether record and counts use now.
	needsTime() bool
	// record adds one call. It costs at most one contended atomic add.
	record(now int64, failure, slow bool)
	// counts returns the calls, failures and slow calls in the window.
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

func (w *countWindow) needsTime() bool { return false }

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
type timeWindow struct {
	cur     atomic.Int64 // index of the current bucket (now / width)
	_       [56]byte
	width   int64
	buckets []bucket
	mu      sync.Mutex
	totals  [numCats]atomic.Int64
}

func newTimeWindow(width int64, n int) *timeWindow {
	w := &timeWindow{width: width, buckets: make([]bucket, n)}
	return w
}

func (w *timeWindow) needsTime() bool { return true }

func (w *timeWindow) index(now int64) int64 {
	if now < 0 {
		return 0
	}
	return now / w.width
}

func (w *timeWindow) record(now int64, failure, slow bool) {
	c := w.cur.Load()
	if idx := w.index(now); idx > c {
		w.rotate(idx)
		c = idx
	}
	cat := catSuccess
	if failure {
		cat = catFailure
	}
	if slow {
		cat += catSlowSuccess
	}
	w.buckets[c%int64(len(w.buckets))].n[cat].Add(1)
}

// rotate makes idx the current bucket.
func (w *timeWindow) rotate(idx int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.cur.Load()
	if idx <= c {
		return
	}
	n := int64(len(w.buckets))
	if idx-c >= n {
		w.clearLocked()
	} else {
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
	w.cur.Store(idx)
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
	c := w.cur.Load()
	if idx := w.index(now); idx > c {
		w.rotate(idx)
		c = idx
	}
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
