package idgen

// The Next of the previous release (one CAS per ID), kept while comparing.

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A oldSnowflake issues strictly increasing IDs for one worker ID under one
// Layout. It is safe for concurrent use by multiple goroutines and lock-free:
// the tick and sequence of the last ID live in one atomic word, and an ID
// costs one clock read and one compare-and-swap.
//
// A oldSnowflake made with WithCoarseClock(true) runs a ticker goroutine from
// its first Next until Close; call Close when done with it. Otherwise Close
// does nothing and need not be called.
type oldSnowflake struct {
	state  atomic.Uint64 // tick<<seqBits | sequence of the last ID issued
	high   atomic.Int64  // highest clock tick seen: the logical clock
	expiry atomic.Int64  // ns since base from which Next returns ErrLeaseLost
	coarse atomic.Int64  // coarse clock in ns since base; 0 not started, -1 closed

	layout    Layout
	worker    uint64 // worker ID shifted into place
	seqBits   uint
	seqMask   uint64
	wsBits    uint // worker bits + sequence bits
	base      time.Time
	baseNs    int64 // base - Epoch in ns
	tickNs    int64
	maxTick   int64
	leadTicks int64
	skewTicks int64
	maxWait   int64
	useCoarse bool
	clock     func() int64 // if set, replaces the monotonic clock (tests)

	mu     sync.Mutex
	closed bool          // guarded by mu
	stop   chan struct{} // closed to stop the ticker; guarded by mu
	done   chan struct{} // closed when the ticker has stopped; guarded by mu

	// Counters of rare events only, after the fields Next reads, so that
	// counting costs the common path nothing.
	waits, waited, borrowed, exhausted, regressions, backwards, coarseMisses atomic.Uint64
}

// New returns a oldSnowflake issuing IDs for worker. Its error wraps
// ErrInvalidLayout for an invalid layout or an epoch in the future,
// ErrLayoutExpired when the layout's lifetime is over, and ErrWorkerRange for
// a worker outside 0..Layout.MaxWorker().
func newOld(worker int64, opts ...Option) (*oldSnowflake, error) {
	c := config{layout: DefaultLayout(), lead: time.Second, skew: time.Second, wait: time.Second, timeNow: time.Now}
	for _, o := range opts {
		o(&c)
	}
	l := c.layout
	base := c.timeNow()
	if err := l.validateAt(base); err != nil {
		return nil, err
	}
	if worker < 0 || worker > l.MaxWorker() {
		return nil, fmt.Errorf("%w: worker %d; want 0..%d for %d worker bits", ErrWorkerRange, worker, l.MaxWorker(), l.WorkerBits)
	}
	s := &oldSnowflake{
		layout:    l,
		worker:    uint64(worker) << l.SequenceBits,
		seqBits:   uint(l.SequenceBits),
		seqMask:   1<<l.SequenceBits - 1,
		wsBits:    uint(l.WorkerBits + l.SequenceBits),
		base:      base,
		baseNs:    int64(base.Sub(l.Epoch)),
		tickNs:    int64(l.Tick),
		maxTick:   1<<l.TimeBits - 1,
		leadTicks: int64(c.lead / l.Tick),
		skewTicks: int64(c.skew / l.Tick),
		maxWait:   int64(c.wait),
		useCoarse: c.coarse,
		clock:     c.clock,
	}
	s.expiry.Store(math.MaxInt64)
	return s, nil
}

// Layout returns the generator's layout.
func (s *oldSnowflake) Layout() Layout { return s.layout }

// Worker returns the generator's worker ID.
func (s *oldSnowflake) Worker() int64 { return int64(s.worker >> s.seqBits) }

// Decode splits id under the generator's layout; see Layout.Decode.
func (s *oldSnowflake) Decode(id ID) Parts { return s.layout.Decode(id) }

// SetExpiry makes Next and NextAt return ErrLeaseLost from t on, as measured
// by the monotonic clock, until a later SetExpiry moves t. A worker ID lease
// (package redisidgen) uses it so that a holder whose lease may have passed
// to another process stops issuing, even if it was paused and its renewal
// never ran. The zero Time stops the generator at once.
func (s *oldSnowflake) SetExpiry(t time.Time) { s.expiry.Store(int64(t.Sub(s.base))) }

// Next returns a new ID, greater than every ID the generator issued before.
// It reads the monotonic clock: an ID's time is the wall time at New plus the
// monotonic time since, so a step of the wall clock, back or forward, does
// not affect a running generator (only those made after it).
// When the sequence is used up up to the maximum lead it waits for the clock,
// at most MaxWait per call, and otherwise returns ErrExhausted. It also
// returns ErrLeaseLost after the expiry set by SetExpiry, and
// ErrLayoutExpired once the layout's lifetime is over. It allocates nothing.
func (s *oldSnowflake) Next() (ID, error) {
	var waited int64
	precise := !s.useCoarse
	// A monotonic reading below the latest tick seen is stale (another
	// goroutine read the clock later), never a step back. Only a test clock
	// can step back.
	monotonic := s.clock == nil
	for {
		var el int64
		if precise {
			el = s.preciseNow()
		} else {
			el = s.coarseNow()
		}
		var wait int64
		var err error
		for {
			old := s.state.Load()
			var nxt uint64
			// A lost CAS retries with the same reading: reading the clock
			// again would only widen the window for the next loss.
			nxt, wait, err = s.advance(old, s.high.Load(), el, monotonic)
			if err != nil {
				break
			}
			if s.state.CompareAndSwap(old, nxt) {
				if nxt&s.seqMask == 0 {
					s.issued(nxt)
				}
				return s.compose(nxt), nil
			}
		}
		if !precise {
			// The coarse clock may lag: decide to wait on the real one.
			precise = true
			s.coarseMisses.Add(1)
			s.raiseCoarse(s.preciseNow())
			continue
		}
		if wait <= 0 || waited+wait > s.maxWait {
			s.failed(err)
			return 0, err
		}
		s.waits.Add(1)
		s.waited.Add(uint64(wait))
		time.Sleep(time.Duration(wait))
		waited += wait
	}
}

// NextAt returns a new ID as Next does, with now as the clock. A now earlier
// than a time already seen is the clock stepping back: within MaxSkew the
// generator keeps issuing from the latest tick seen, beyond it NextAt returns
// ErrClockBackwards. NextAt never waits: where Next would, it returns
// ErrExhausted or ErrClockBackwards. It allocates nothing.
func (s *oldSnowflake) NextAt(now time.Time) (ID, error) {
	el := int64(now.Sub(s.base))
	for {
		old := s.state.Load()
		hw := s.high.Load()
		nxt, _, err := s.advance(old, hw, el, false)
		if err != nil {
			s.failed(err)
			return 0, err
		}
		if s.state.CompareAndSwap(old, nxt) {
			if s.baseNs+el < hw*s.tickNs {
				s.regressions.Add(1)
			}
			if nxt&s.seqMask == 0 {
				s.issued(nxt)
			}
			return s.compose(nxt), nil
		}
	}
}

// advance returns the state that follows old when the clock reads el (ns
// since base) and hw is the highest tick seen. When it cannot, it returns an
// error and, if waiting can help, how many ns the clock must advance first.
// With monotonic set, a reading below hw is stale rather than a step back.
func (s *oldSnowflake) advance(old uint64, hw, el int64, monotonic bool) (nxt uint64, wait int64, err error) {
	if el >= s.expiry.Load() {
		return 0, 0, ErrLeaseLost
	}
	ns := s.baseNs + el
	n := s.tickOf(el)
	if n < hw {
		if !monotonic && hw-n > s.skewTicks {
			return 0, (hw-s.skewTicks)*s.tickNs - ns, ErrClockBackwards
		}
		n = hw // the logical clock does not go back
	} else if n > hw {
		if n > s.maxTick {
			return 0, 0, ErrLayoutExpired // and a reading past the layout moves nothing
		}
		s.raiseHigh(hw, n)
	}
	if last := int64(old >> s.seqBits); n > last {
		nxt = uint64(n) << s.seqBits
	} else {
		nxt = old + 1 // a used-up sequence carries into the next tick
	}
	t := int64(nxt >> s.seqBits)
	if t > s.maxTick {
		return 0, 0, ErrLayoutExpired
	}
	if t-n > s.leadTicks {
		return 0, (t-s.leadTicks)*s.tickNs - ns, ErrExhausted
	}
	return nxt, 0, nil
}

// tickOf returns the tick of el ns since base, rounded down.
func (s *oldSnowflake) tickOf(el int64) int64 {
	ns := s.baseNs + el
	n := ns / s.tickNs
	if ns < 0 && ns%s.tickNs != 0 {
		n--
	}
	return n
}

func (s *oldSnowflake) raiseHigh(hw, n int64) {
	for !s.high.CompareAndSwap(hw, n) {
		if hw = s.high.Load(); hw >= n {
			return
		}
	}
}

func (s *oldSnowflake) compose(st uint64) ID {
	return ID((st>>s.seqBits)<<s.wsBits | s.worker | st&s.seqMask)
}

// preciseNow returns the monotonic time since base in ns.
func (s *oldSnowflake) preciseNow() int64 {
	if s.clock != nil {
		return s.clock()
	}
	return int64(time.Since(s.base))
}

func (s *oldSnowflake) coarseNow() int64 {
	c := s.coarse.Load()
	if c > 0 {
		return c
	}
	if c < 0 {
		return s.preciseNow() // closed
	}
	return s.startCoarse()
}

// startCoarse starts the ticker unless it runs or the generator is closed,
// and returns the precise time.
func (s *oldSnowflake) startCoarse() int64 {
	now := s.preciseNow()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.coarse.Load() != 0 {
		return now
	}
	s.coarse.Store(max(now, 1))
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go s.tick(s.stop, s.done)
	return now
}

func (s *oldSnowflake) tick(stop, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(s.layout.Tick)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.raiseCoarse(s.preciseNow())
		case <-stop:
			return
		}
	}
}

// raiseCoarse moves a running coarse clock forward to now.
func (s *oldSnowflake) raiseCoarse(now int64) {
	for {
		c := s.coarse.Load()
		if c <= 0 || c >= now || s.coarse.CompareAndSwap(c, now) {
			return
		}
	}
}

// Close stops the coarse clock's ticker, if any, and waits for it to end.
// Next keeps working after Close, reading the precise clock. Close is safe to
// call more than once and always returns nil.
func (s *oldSnowflake) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.coarse.Store(-1)
	stop, done := s.stop, s.done
	s.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
	return nil
}

// issued counts the rare events of issuing state st: a tick borrowed ahead
// of the clock. Callers call it only for the first ID of a tick.
func (s *oldSnowflake) issued(st uint64) {
	if int64(st>>s.seqBits) > s.high.Load() {
		s.borrowed.Add(1)
	}
}

// failed counts err, returned by Next or NextAt.
func (s *oldSnowflake) failed(err error) {
	switch err {
	case ErrExhausted:
		s.exhausted.Add(1)
	case ErrClockBackwards:
		s.backwards.Add(1)
	}
}

func BenchmarkAB(b *testing.B) {
	for _, coarse := range []bool{false, true} {
		name := "clock=precise"
		if coarse {
			name = "clock=coarse"
		}
		b.Run(name+"/impl=old", func(b *testing.B) {
			s, err := newOld(1, WithCoarseClock(coarse), WithMaxLead(time.Hour))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					s.Next()
				}
			})
		})
		b.Run(name+"/impl=new", func(b *testing.B) {
			s, err := New(1, WithCoarseClock(coarse), WithMaxLead(time.Hour))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					s.Next()
				}
			})
		})
	}
}
