package idgen

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// A Snowflake issues strictly increasing IDs for one worker ID under one
// Layout. It is safe for concurrent use by multiple goroutines and lock-free:
// the tick and sequence of the last ID live in one atomic word. In the common
// case, within the tick of the clock, an ID costs one clock read and one
// atomic add on that word, which never has to be retried; moving to a new
// tick takes a compare-and-swap.
//
// A Snowflake made with WithCoarseClock(true) runs a ticker goroutine from
// its first Next until Close; call Close when done with it. Otherwise Close
// does nothing and need not be called.
type Snowflake struct {
	// state is written by every Next: alone on its cache line, it does not
	// drag the fields below from core to core.
	_     [cacheLine]byte
	state atomic.Uint64 // tick<<seqBits | sequence of the last ID issued
	_     [cacheLine - 8]byte

	// Read by every Next, written about once a tick at most.
	high   atomic.Int64 // highest clock tick seen: the logical clock
	resume atomic.Int64 // tick from which Next's atomic add is open again
	expiry atomic.Int64 // ns since base from which Next returns ErrLeaseLost
	coarse atomic.Int64 // coarse clock in ns since base; 0 not started, -1 closed

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

// cacheLine is the size of a cache line on the common 64-bit CPUs.
const cacheLine = 64

// An Option configures a Snowflake.
type Option func(*config)

type config struct {
	layout  Layout
	lead    time.Duration
	skew    time.Duration
	wait    time.Duration
	coarse  bool
	clock   func() int64
	timeNow func() time.Time
}

// WithLayout sets the layout of the IDs. Default: DefaultLayout().
func WithLayout(l Layout) Option { return func(c *config) { c.layout = l } }

// WithMaxLead sets how far ahead of the clock a burst may run: once a tick's
// sequence is used up, Next issues IDs of the following ticks, up to d ahead
// of the clock and never beyond. With 0 it never runs ahead. A generator's
// worker ID must not be reused until d after it stopped. Default: 1 second,
// which lets a burst of 4.096M IDs (default layout) pass without waiting.
// It panics if d < 0.
func WithMaxLead(d time.Duration) Option {
	if d < 0 {
		panic("idgen: negative max lead")
	}
	return func(c *config) { c.lead = d }
}

// WithMaxSkew sets how far the time passed to NextAt may step back before
// NextAt reports ErrClockBackwards: within d the generator keeps issuing from
// the latest tick it has seen (a logical clock), never repeating an ID. Next
// reads the monotonic clock, which does not step back. Default: 1 second. It
// panics if d < 0.
func WithMaxSkew(d time.Duration) Option {
	if d < 0 {
		panic("idgen: negative max skew")
	}
	return func(c *config) { c.skew = d }
}

// WithMaxWait sets how long one call of Next may wait for the clock when the
// sequence is used up to the maximum lead; past it Next returns ErrExhausted.
// With 0 Next never waits. NextAt never waits. Default: 1 second. It panics
// if d < 0.
func WithMaxWait(d time.Duration) Option {
	if d < 0 {
		panic("idgen: negative max wait")
	}
	return func(c *config) { c.wait = d }
}

// WithCoarseClock makes Next read an atomic clock refreshed every tick by a
// ticker goroutine instead of reading the monotonic clock on every call, which
// is most of the cost of Next (a coarse Next costs a quarter of a precise one
// where the clock read takes 30 ns), at the price of IDs whose time may lag
// the clock by a tick or so (they stay unique and increasing, and Next reads
// the real clock before waiting). The ticker starts with the first Next and
// stops on Close. Default: false.
func WithCoarseClock(on bool) Option { return func(c *config) { c.coarse = on } }

// New returns a Snowflake issuing IDs for worker. Its error wraps
// ErrInvalidLayout for an invalid layout or an epoch in the future,
// ErrLayoutExpired when the layout's lifetime is over, and ErrWorkerRange for
// a worker outside 0..Layout.MaxWorker().
func New(worker int64, opts ...Option) (*Snowflake, error) {
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
	s := &Snowflake{
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
func (s *Snowflake) Layout() Layout { return s.layout }

// Worker returns the generator's worker ID.
func (s *Snowflake) Worker() int64 { return int64(s.worker >> s.seqBits) }

// Decode splits id under the generator's layout; see Layout.Decode.
func (s *Snowflake) Decode(id ID) Parts { return s.layout.Decode(id) }

// SetExpiry makes Next and NextAt return ErrLeaseLost from t on, as measured
// by the monotonic clock, until a later SetExpiry moves t. A worker ID lease
// (package redisidgen) uses it so that a holder whose lease may have passed
// to another process stops issuing, even if it was paused and its renewal
// never ran. The zero Time stops the generator at once.
func (s *Snowflake) SetExpiry(t time.Time) { s.expiry.Store(int64(t.Sub(s.base))) }

// Next returns a new ID, greater than every ID the generator issued before.
// It reads the monotonic clock: an ID's time is the wall time at New plus the
// monotonic time since, so a step of the wall clock, back or forward, does
// not affect a running generator (only those made after it).
// When the sequence is used up up to the maximum lead it waits for the clock,
// at most MaxWait per call, and otherwise returns ErrExhausted. It also
// returns ErrLeaseLost after the expiry set by SetExpiry, and
// ErrLayoutExpired once the layout's lifetime is over. It allocates nothing.
func (s *Snowflake) Next() (ID, error) {
	var el int64
	if !s.useCoarse {
		el = s.preciseNow()
	} else if el = s.coarse.Load(); el <= 0 {
		el = s.coarseNow()
	}
	// The common case: the clock in the highest tick seen, the lease held,
	// and one atomic add, which unlike a compare-and-swap cannot lose to
	// another goroutine and is never retried. Anything else, a new tick, a
	// wait or an error, is for nextSlow.
	hw := s.high.Load()
	if uint64(el+s.baseNs-hw*s.tickNs) < uint64(s.tickNs) && hw >= s.resume.Load() && el < s.expiry.Load() {
		if nxt := s.state.Add(1); int64(nxt>>s.seqBits) == hw || s.added(nxt, hw) {
			return s.compose(nxt), nil
		}
	}
	return s.nextSlow(el)
}

// added reports whether nxt, the state taken by Next's atomic add when the
// clock was in tick hw, the highest seen, may be issued: when it lands in
// that tick or a later one within the lead and the layout's lifetime. If it
// lands beyond, added gives it back.
//
// Why no state is issued twice and each goroutine's states increase: every
// change of state is an atomic read-modify-write. Call taken the states
// written by an add or by a compare-and-swap of nextSlow or NextAt, unless
// given back. The goroutine whose add wrote a state beyond the lead gives it
// back with CompareAndSwap(nxt, nxt-1), which succeeds only while state still
// equals nxt. Invariant: the taken states are distinct and none exceeds
// state. An add or compare-and-swap writes a value above state, so above
// every taken state, and keeps it. A give-back finds state = nxt, which is
// taken; every other taken state is distinct from nxt and not above it, so at
// most nxt-1, and the invariant holds after it. An issued state is never given
// back, so it stays taken and at most state: every state taken after it, by
// any goroutine, is greater. A taken state that is not issued (a give-back
// that lost the race, a tick the clock has left) is skipped.
//
// A give-back fails only if another goroutine took a state meanwhile; the
// state is then lost. To bound the loss, a state beyond the lead closes the
// add until the clock reaches the tick from which that state would do
// (resume): while the sequence is used up, calls take nothing, and each
// goroutine can lose at most one state each time the add reopens.
func (s *Snowflake) added(nxt uint64, hw int64) bool {
	t := int64(nxt >> s.seqBits)
	if t == hw {
		return true
	}
	if t < hw {
		return false // the tick is over: nxt is skipped, nextSlow moves on
	}
	if t-hw <= s.leadTicks && t <= s.maxTick {
		if nxt&s.seqMask == 0 {
			s.borrowed.Add(1)
		}
		return true
	}
	s.state.CompareAndSwap(nxt, nxt-1)
	r := int64(math.MaxInt64)
	if t <= s.maxTick {
		r = t - s.leadTicks
	}
	s.resume.Store(r)
	return false
}

// nextSlow is Next when the atomic add could not issue at el: it moves to a
// new tick, waits, or fails.
func (s *Snowflake) nextSlow(el int64) (ID, error) {
	var waited int64
	precise := !s.useCoarse
	// A monotonic reading below the latest tick seen is stale (another
	// goroutine read the clock later), never a step back. Only a test clock
	// can step back.
	monotonic := s.clock == nil
	for {
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
			el = s.preciseNow()
			s.raiseCoarse(el)
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
		el = s.preciseNow()
	}
}

// NextAt returns a new ID as Next does, with now as the clock. A now earlier
// than a time already seen is the clock stepping back: within MaxSkew the
// generator keeps issuing from the latest tick seen, beyond it NextAt returns
// ErrClockBackwards. NextAt never waits: where Next would, it returns
// ErrExhausted or ErrClockBackwards. It allocates nothing.
func (s *Snowflake) NextAt(now time.Time) (ID, error) {
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
func (s *Snowflake) advance(old uint64, hw, el int64, monotonic bool) (nxt uint64, wait int64, err error) {
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
func (s *Snowflake) tickOf(el int64) int64 {
	ns := s.baseNs + el
	n := ns / s.tickNs
	if ns < 0 && ns%s.tickNs != 0 {
		n--
	}
	return n
}

func (s *Snowflake) raiseHigh(hw, n int64) {
	for !s.high.CompareAndSwap(hw, n) {
		if hw = s.high.Load(); hw >= n {
			return
		}
	}
}

func (s *Snowflake) compose(st uint64) ID {
	return ID((st>>s.seqBits)<<s.wsBits | s.worker | st&s.seqMask)
}

// preciseNow returns the monotonic time since base in ns.
func (s *Snowflake) preciseNow() int64 {
	if s.clock != nil {
		return s.clock()
	}
	return int64(time.Since(s.base))
}

func (s *Snowflake) coarseNow() int64 {
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
func (s *Snowflake) startCoarse() int64 {
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

func (s *Snowflake) tick(stop, done chan struct{}) {
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
func (s *Snowflake) raiseCoarse(now int64) {
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
func (s *Snowflake) Close() error {
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
