package circuitbreaker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/distkit/distkit/backoff"
)

var (
	// ErrOpen is returned by Allow, AllowAt and Execute while the breaker is
	// forced open, and matched (errors.Is) by the *OpenError they return
	// while it is open.
	ErrOpen = errors.New("circuitbreaker: open")
	// ErrTooManyRequests is returned by Allow, AllowAt and Execute in the
	// half-open state when every permitted probe is taken.
	ErrTooManyRequests = errors.New("circuitbreaker: too many requests")
)

// An OpenError is what Allow, AllowAt and Execute return while the breaker
// is open: errors.Is(err, ErrOpen) holds, and RetryAfter tells how long
// until the breaker lets a probe through. backoff.Retry honours an error's
// RetryAfter method, so a retried call through an open breaker waits for the
// probe (within the retry's elapsed-time limit, budget and context) instead
// of spending its attempts on rejections; to fail fast instead, stop
// retrying on ErrOpen with backoff.WithRetryIf. A Breaker makes one
// OpenError per trip and returns it to every call it rejects, so rejecting
// allocates nothing.
type OpenError struct {
	// Name is the breaker's name (WithName).
	Name string
	// Until is when the open period ends, with a monotonic clock reading.
	Until time.Time
}

// Error returns "circuitbreaker: open", or "circuitbreaker: NAME: open" for
// a breaker with a name.
func (e *OpenError) Error() string {
	if e.Name == "" {
		return ErrOpen.Error()
	}
	return "circuitbreaker: " + e.Name + ": open"
}

// Is reports whether target is ErrOpen.
func (e *OpenError) Is(target error) bool { return target == ErrOpen }

// RetryAfter returns how long until the open period ends, plus timerSlack
// for the breaker's timer to mark the end: a call made right at Until could
// still be rejected. Past Until it returns timerSlack, so that a retry loop
// waits rather than spins.
func (e *OpenError) RetryAfter() time.Duration { return max(time.Until(e.Until), 0) + timerSlack }

// timerSlack is how much later than the end of an open period OpenError
// advises to call again.
const timerSlack = time.Millisecond

// A State is the state of a Breaker.
type State uint8

const (
	// Closed lets every call through and watches the outcomes.
	Closed State = iota
	// Open rejects every call with ErrOpen until the open duration ends.
	Open
	// HalfOpen lets a bounded number of probe calls through.
	HalfOpen
	// ForcedOpen rejects every call until Reset or Disable.
	ForcedOpen
	// Disabled lets every call through and records nothing.
	Disabled
)

var stateNames = [...]string{"closed", "open", "half-open", "forced-open", "disabled"}

// String returns the state's name in lower case ("half-open").
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// MarshalText returns the state's name, so JSON and expvar show "open"
// rather than a number.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a name that String returns. Any other text is an
// error.
func (s *State) UnmarshalText(text []byte) error {
	for i, name := range stateNames {
		if name == string(text) {
			*s = State(i)
			return nil
		}
	}
	return fmt.Errorf("circuitbreaker: unknown state %q", text)
}

// An Outcome is how a call's result counts.
type Outcome uint8

const (
	// Success counts as a successful call.
	Success Outcome = iota
	// Failure counts as a failed call.
	Failure
	// Ignore counts as no call at all; a half-open probe is released.
	Ignore
)

// DefaultClassifier is the classifier a Breaker uses unless WithClassifier
// says otherwise: nil is a Success, an error matching context.Canceled is
// Ignored (the caller gave up), and every other error, including
// context.DeadlineExceeded, is a Failure.
func DefaultClassifier(err error) Outcome {
	if err == nil {
		return Success
	}
	if errors.Is(err, context.Canceled) {
		return Ignore
	}
	return Failure
}

// A StateChange reports one transition of a Breaker.
type StateChange struct {
	Name     string // the breaker's name (WithName)
	From, To State  // the states before and after the transition
}

// Stats is a snapshot of a Breaker's counters.
type Stats struct {
	// State is the breaker's state when the snapshot was taken, as State
	// reports it.
	State State
	// ConsecutiveFailures counts failures since the last success in the
	// closed state (with the consecutive rule; 0 otherwise).
	ConsecutiveFailures int64
	// Calls, Failures and SlowCalls count the calls in the sliding window
	// (0 without a window). A slow failure counts in both.
	Calls, Failures, SlowCalls int64
	// Trips counts the transitions to Open since New, from Closed and from
	// HalfOpen alike.
	Trips uint64
}

// state word layout: bits 0-2 State, bit 3 open period ended (set by the
// timer), bits 4- generation, incremented on every transition.
const (
	stateMask  = 7
	expiredBit = 8
	genUnit    = 16
)

func stateOf(w uint64) State { return State(w & stateMask) }

// noTime marks a time not read yet; the clock is read only when needed.
const noTime = math.MinInt64

type ticketKind uint8

const (
	kindNone ticketKind = iota
	kindClosed
	kindProbe
	kindDisabled
)

// A Ticket is the permission AllowAt grants for one call; pass it to DoneAt
// exactly once.
type Ticket struct {
	gen   uint64
	start int64
	kind  ticketKind
}

type config struct {
	name          string
	consecutive   int64
	consecSet     bool
	win           func(clock func() int64) window
	minCalls      int64
	failureRate   float64
	slowThreshold time.Duration
	slowRate      float64
	hasSlow       bool
	open          backoff.Policy
	probes        int
	closeRate     float64
	classify      func(error) Outcome
	listener      func(StateChange)
}

// An Option configures a Breaker.
type Option func(*config)

// WithName names the breaker in StateChange reports. Default: "".
func WithName(name string) Option { return func(c *config) { c.name = name } }

// WithConsecutiveFailures trips the breaker after n failures in a row. It is
// the default rule (n = 5) when no window is configured. It panics if n < 1.
func WithConsecutiveFailures(n int) Option {
	if n < 1 {
		panic("circuitbreaker: WithConsecutiveFailures needs n >= 1")
	}
	return func(c *config) { c.consecutive, c.consecSet = int64(n), true }
}

// WithCountWindow trips the breaker on the failure rate (and slow-call rate)
// of the last size calls, once at least minCalls calls are in the window. It
// replaces a time window. It panics if size < 1 or minCalls < 0.
func WithCountWindow(size, minCalls int) Option {
	if size < 1 || minCalls < 0 {
		panic("circuitbreaker: WithCountWindow needs size >= 1 and minCalls >= 0")
	}
	return func(c *config) {
		c.win = func(func() int64) window { return newCountWindow(size) }
		c.minCalls = int64(minCalls)
	}
}

// WithTimeWindow trips the breaker on the failure rate (and slow-call rate)
// of the calls of the last length, kept in buckets of length/buckets, once
// at least minCalls calls are in the window. It replaces a count window.
// Times count from New; with AllowAt, times before New fall in the first
// bucket. Execute and Allow read no clock to find the current bucket: while
// calls arrive, a runtime timer (no goroutine) moves it at each bucket
// boundary, and it stops after a bucket with no calls, so an idle breaker
// holds no timer (the first call after that reads the clock once). It panics
// if buckets < 1, length < buckets nanoseconds or minCalls < 0.
func WithTimeWindow(length time.Duration, buckets, minCalls int) Option {
	if buckets < 1 || length < time.Duration(buckets) || minCalls < 0 {
		panic("circuitbreaker: WithTimeWindow needs buckets >= 1, length >= buckets ns and minCalls >= 0")
	}
	return func(c *config) {
		c.win = func(clock func() int64) window {
			return newTimeWindow(int64(length)/int64(buckets), buckets, clock)
		}
		c.minCalls = int64(minCalls)
	}
}

// WithFailureRate sets the failure rate, in [0, 1], at or above which a
// window trips the breaker. Default: 0.5. It panics if r is outside [0, 1].
func WithFailureRate(r float64) Option {
	if !(r >= 0 && r <= 1) {
		panic("circuitbreaker: WithFailureRate needs 0 <= r <= 1")
	}
	return func(c *config) { c.failureRate = r }
}

// WithSlowCalls counts calls that take longer than threshold as slow, and
// trips the breaker when the rate of slow calls in the window reaches rate.
// Without a window option, a count window of 100 calls with a minimum of 100
// is used. In the half-open state a slow probe counts as a failure. Slow
// calls cost two clock reads per call (its start and end), and Allow then
// hands out pooled done functions. Default: off. It panics if threshold < 0
// or rate is outside [0, 1].
func WithSlowCalls(threshold time.Duration, rate float64) Option {
	if threshold < 0 || !(rate >= 0 && rate <= 1) {
		panic("circuitbreaker: WithSlowCalls needs threshold >= 0 and 0 <= rate <= 1")
	}
	return func(c *config) { c.slowThreshold, c.slowRate, c.hasSlow = threshold, rate, true }
}

// WithOpenDuration sets how long the breaker stays open before probing.
// Default: 60s. It replaces WithOpenBackoff.
func WithOpenDuration(d time.Duration) Option {
	return func(c *config) { c.open = backoff.Constant(d) }
}

// WithOpenBackoff makes the open duration grow on repeated trips: the n-th
// trip since the breaker last closed stays open p.Delay(n). It replaces
// WithOpenDuration. It panics if p is nil.
func WithOpenBackoff(p backoff.Policy) Option {
	if p == nil {
		panic("circuitbreaker: WithOpenBackoff(nil)")
	}
	return func(c *config) { c.open = p }
}

// WithHalfOpenProbes sets how many probe calls the half-open state permits.
// Default: 1. It panics if n < 1.
func WithHalfOpenProbes(n int) Option {
	if n < 1 {
		panic("circuitbreaker: WithHalfOpenProbes needs n >= 1")
	}
	return func(c *config) { c.probes = n }
}

// WithHalfOpenSuccessRate sets the share of the permitted probes, in (0, 1],
// that must succeed to close the breaker; the breaker reopens as soon as that
// can no longer happen. Default: 1 (every probe must succeed). It panics if r
// is outside (0, 1].
func WithHalfOpenSuccessRate(r float64) Option {
	if !(r > 0 && r <= 1) {
		panic("circuitbreaker: WithHalfOpenSuccessRate needs 0 < r <= 1")
	}
	return func(c *config) { c.closeRate = r }
}

// WithClassifier sets how a call's error counts. Default: DefaultClassifier.
func WithClassifier(f func(err error) Outcome) Option {
	return func(c *config) { c.classify = f }
}

// WithOnStateChange sets a listener called once per transition, in order,
// never with a lock held and never concurrently with itself; it may call the
// Breaker's methods. It runs on the goroutine that caused the transition
// (or on one that caused a later one), so it should return quickly.
func WithOnStateChange(f func(StateChange)) Option {
	return func(c *config) { c.listener = f }
}

// A Breaker is a circuit breaker. It is safe for concurrent use by multiple
// goroutines. Create one with New; the zero value is not usable. While open
// it holds a runtime timer (no goroutine) that marks the end of the open
// period, so that rejections need not read the clock.
type Breaker struct {
	state  atomic.Uint64
	_      [56]byte // keep the hot state word off the counters' line
	consec atomic.Int64
	_      [56]byte

	cfg       config
	win       window // nil without a window
	needStart bool   // slow calls: the start of each call is needed
	plain     bool   // no window and no slow calls: a success only resets consec
	base      time.Time
	openUntil atomic.Int64 // ns since base
	openErr   atomic.Pointer[OpenError]
	trips     atomic.Uint64

	doneClosed func(error)
	calls      sync.Pool // *call, for Allow with slow calls

	mu         sync.Mutex
	repeated   int         // trips since the breaker last closed; guarded by mu
	admitted   int         // probes handed out in this half-open period; guarded by mu
	succeeded  int         // guarded by mu
	failed     int         // guarded by mu
	timer      *time.Timer // guarded by mu
	pending    []StateChange
	delivering bool
}

// New returns a closed Breaker. Without a trip rule it trips after 5
// consecutive failures. It panics on invalid options, as each option's doc
// says.
func New(opts ...Option) *Breaker {
	c := config{
		failureRate: 0.5,
		open:        backoff.Constant(60 * time.Second),
		probes:      1,
		closeRate:   1,
		classify:    DefaultClassifier,
	}
	for _, o := range opts {
		o(&c)
	}
	if c.hasSlow && c.win == nil {
		WithCountWindow(100, 100)(&c)
	}
	if c.win == nil && !c.consecSet {
		c.consecutive = 5
	}
	if c.classify == nil {
		c.classify = DefaultClassifier
	}
	b := &Breaker{cfg: c, needStart: c.hasSlow, base: time.Now()}
	if c.win != nil {
		b.win = c.win(b.now)
	}
	b.plain = b.win == nil && !b.needStart
	b.doneClosed = b.finishClosed
	b.calls.New = func() any {
		cl := &call{b: b}
		cl.done = cl.finish
		return cl
	}
	return b
}

// now returns the time since b.base in nanoseconds.
func (b *Breaker) now() int64 { return int64(time.Since(b.base)) }

func (b *Breaker) at(t time.Time) int64 { return int64(t.Sub(b.base)) }

// State returns the breaker's state. An open breaker whose open period has
// ended reports Open until the next call moves it to HalfOpen.
func (b *Breaker) State() State { return stateOf(b.state.Load()) }

// Name returns the name given by WithName.
func (b *Breaker) Name() string { return b.cfg.name }

// Stats returns a snapshot of the breaker's counters.
func (b *Breaker) Stats() Stats {
	s := Stats{State: b.State(), ConsecutiveFailures: b.consec.Load(), Trips: b.trips.Load()}
	if b.win != nil {
		s.Calls, s.Failures, s.SlowCalls = b.win.counts(b.now())
	}
	return s
}

// Allow asks permission for one call. If the breaker rejects it, Allow
// returns an *OpenError (which matches ErrOpen), ErrOpen when forced open,
// or ErrTooManyRequests. Otherwise the caller makes the call and then calls
// done exactly once with its error (nil for success); calling done again
// corrupts the counts. A half-open probe that is never
// done keeps its slot until the breaker changes state by other means.
//
// In the closed state Allow returns a preallocated done and allocates
// nothing (with slow calls, a pooled one); a half-open probe allocates its
// done. The decision does not depend on ctx, which is there for the shape of
// middleware.
func (b *Breaker) Allow(ctx context.Context) (done func(error), err error) {
	w := b.state.Load()
	switch stateOf(w) {
	case Closed:
		if !b.needStart {
			return b.doneClosed, nil
		}
		cl := b.calls.Get().(*call)
		cl.t = Ticket{gen: w, start: b.now(), kind: kindClosed}
		return cl.done, nil
	case Open:
		if w&expiredBit == 0 {
			return nil, b.errOpen()
		}
	case ForcedOpen:
		return nil, ErrOpen
	case Disabled:
		return noop, nil
	}
	t, err := b.acquire(b.now())
	if err != nil {
		return nil, err
	}
	switch t.kind {
	case kindClosed:
		if !b.needStart {
			return b.doneClosed, nil
		}
		cl := b.calls.Get().(*call)
		cl.t = t
		return cl.done, nil
	case kindProbe:
		return func(err error) { b.release(t, noTime, b.cfg.classify(err)) }, nil
	}
	return noop, nil
}

func noop(error) {}

// call carries a closed-state ticket for Allow when slow calls are counted.
type call struct {
	b    *Breaker
	t    Ticket
	done func(error)
}

func (c *call) finish(err error) {
	b, t := c.b, c.t
	b.calls.Put(c)
	b.release(t, noTime, b.cfg.classify(err))
}

// finishClosed is the preallocated done of the closed state: the ticket is
// implied, and a call that finishes after the breaker left the closed state
// is not counted.
func (b *Breaker) finishClosed(err error) {
	if err == nil && b.plain && b.consec.Load() == 0 {
		return // nothing to record: no write, no clock
	}
	if err == nil {
		b.closedOutcome(b.state.Load(), Success, noTime, noTime)
		return
	}
	b.closedOutcome(b.state.Load(), b.cfg.classify(err), noTime, noTime)
}

// AllowAt is Allow at an explicit time: it returns a Ticket to pass to
// DoneAt, or an *OpenError, ErrOpen or ErrTooManyRequests. A time earlier
// than a previous call's counts as no time passing for the window.
func (b *Breaker) AllowAt(now time.Time) (Ticket, error) {
	return b.acquire(b.at(now))
}

// DoneAt records, at now, the outcome of the call t permitted. Call it
// exactly once per Ticket.
func (b *Breaker) DoneAt(t Ticket, now time.Time, err error) {
	b.release(t, b.at(now), b.cfg.classify(err))
}

// acquire decides at now (ns since base) whether a call may start.
func (b *Breaker) acquire(now int64) (Ticket, error) {
	for {
		w := b.state.Load()
		switch stateOf(w) {
		case Closed:
			return Ticket{gen: w, start: now, kind: kindClosed}, nil
		case Disabled:
			return Ticket{kind: kindDisabled}, nil
		case ForcedOpen:
			return Ticket{}, ErrOpen
		case Open:
			if now < b.openUntil.Load() {
				return Ticket{}, b.errOpen()
			}
		}
		// Open past its period, or half-open: the rare path, under the lock.
		b.mu.Lock()
		w2 := b.state.Load()
		switch stateOf(w2) {
		case Open:
			if now < b.openUntil.Load() {
				b.mu.Unlock()
				return Ticket{}, b.errOpen()
			}
			w2 = b.setLocked(w2, HalfOpen, now)
		case HalfOpen:
		default:
			b.mu.Unlock()
			continue // the state moved on meanwhile
		}
		if b.admitted >= b.cfg.probes {
			b.mu.Unlock()
			b.deliver()
			return Ticket{}, ErrTooManyRequests
		}
		b.admitted++
		b.mu.Unlock()
		b.deliver()
		return Ticket{gen: w2, start: now, kind: kindProbe}, nil
	}
}

// release records outcome o of the call t permitted, at now (noTime: read
// the clock if needed).
func (b *Breaker) release(t Ticket, now int64, o Outcome) {
	switch t.kind {
	case kindClosed:
		w := b.state.Load()
		if w != t.gen {
			return // the breaker left this closed period: the outcome is stale
		}
		b.closedOutcome(w, o, t.start, now)
	case kindProbe:
		b.probeOutcome(t, now, o)
	}
}

// closedOutcome records a call that finished in the closed period w.
func (b *Breaker) closedOutcome(w uint64, o Outcome, start, now int64) {
	if stateOf(w) != Closed || o == Ignore {
		return
	}
	slow := false
	if b.needStart && start != noTime {
		if now == noTime {
			now = b.now()
		}
		slow = now-start > int64(b.cfg.slowThreshold)
	}
	if o == Success {
		// The consecutive rule: write only when there is something to reset.
		if b.consec.Load() != 0 {
			b.consec.Store(0)
		}
		if b.win == nil {
			return
		}
		b.win.record(now, false, slow)
		if slow {
			b.evaluate(w, now)
		}
		return
	}
	if b.cfg.consecutive > 0 && b.consec.Add(1) >= b.cfg.consecutive {
		b.trip(w, now)
		return
	}
	if b.win != nil {
		b.win.record(now, true, slow)
		b.evaluate(w, now)
	}
}

// evaluate trips the breaker if the window's rates call for it.
func (b *Breaker) evaluate(w uint64, now int64) {
	calls, failures, slow := b.win.counts(now)
	if calls == 0 || calls < b.cfg.minCalls {
		return
	}
	if float64(failures) >= b.cfg.failureRate*float64(calls) ||
		(b.cfg.hasSlow && float64(slow) >= b.cfg.slowRate*float64(calls)) {
		b.trip(w, now)
	}
}

// trip opens the breaker if it is still in the closed period w.
func (b *Breaker) trip(w uint64, now int64) {
	b.mu.Lock()
	if b.state.Load() != w {
		b.mu.Unlock()
		return
	}
	if now == noTime {
		now = b.now()
	}
	b.setLocked(w, Open, now)
	b.mu.Unlock()
	b.deliver()
}

func (b *Breaker) probeOutcome(t Ticket, now int64, o Outcome) {
	b.mu.Lock()
	defer b.deliver()
	defer b.mu.Unlock()
	w := b.state.Load()
	if w != t.gen {
		return // a probe of an earlier half-open period
	}
	if o == Success && b.cfg.hasSlow {
		if now == noTime {
			now = b.now()
		}
		if now-t.start > int64(b.cfg.slowThreshold) {
			o = Failure
		}
	}
	switch o {
	case Ignore:
		b.admitted--
		return
	case Success:
		b.succeeded++
	case Failure:
		b.failed++
	}
	need := int(math.Ceil(b.cfg.closeRate*float64(b.cfg.probes) - 1e-9))
	switch {
	case b.succeeded >= need:
		b.setLocked(w, Closed, now)
	case b.failed > b.cfg.probes-need:
		if now == noTime {
			now = b.now()
		}
		b.setLocked(w, Open, now)
	}
}

// setLocked moves the breaker from state word w to state to, at now, and
// returns the new word. It requires b.mu to be held.
func (b *Breaker) setLocked(w uint64, to State, now int64) uint64 {
	from := stateOf(w)
	switch to {
	case Closed:
		b.repeated = 0
		b.consec.Store(0)
		if b.win != nil {
			b.win.reset()
		}
	case Open:
		b.repeated++
		b.trips.Add(1)
		d := b.cfg.open.Delay(b.repeated)
		b.openUntil.Store(now + int64(d))
		b.openErr.Store(&OpenError{Name: b.cfg.name, Until: b.base.Add(time.Duration(now) + d)})
		if b.timer == nil {
			b.timer = time.AfterFunc(d, b.expire)
		} else {
			b.timer.Reset(d)
		}
	case HalfOpen:
		b.admitted, b.succeeded, b.failed = 0, 0, 0
	}
	nw := (w &^ (stateMask | expiredBit)) + genUnit | uint64(to)
	b.state.Store(nw)
	if b.cfg.listener != nil && from != to {
		b.pending = append(b.pending, StateChange{Name: b.cfg.name, From: from, To: to})
	}
	return nw
}

// errOpen returns the error for a call rejected in the open state.
func (b *Breaker) errOpen() error {
	if e := b.openErr.Load(); e != nil {
		return e
	}
	return ErrOpen
}

// expire marks the end of an open period so that Allow reads the clock.
func (b *Breaker) expire() {
	for {
		w := b.state.Load()
		if stateOf(w) != Open || w&expiredBit != 0 || b.state.CompareAndSwap(w, w|expiredBit) {
			return
		}
	}
}

// deliver calls the listener for pending changes, in order, without the
// lock; one goroutine delivers at a time.
func (b *Breaker) deliver() {
	if b.cfg.listener == nil {
		return
	}
	b.mu.Lock()
	if b.delivering {
		b.mu.Unlock()
		return
	}
	b.delivering = true
	defer func() {
		b.delivering = false
		b.mu.Unlock()
	}()
	for len(b.pending) > 0 {
		c := b.pending[0]
		b.pending = b.pending[1:]
		b.mu.Unlock()
		func() {
			defer b.mu.Lock() // even if the listener panics
			b.cfg.listener(c)
		}()
	}
	b.pending = nil
}

// ForceOpen holds the breaker open, rejecting every call with ErrOpen,
// until Reset or Disable.
func (b *Breaker) ForceOpen() { b.force(ForcedOpen) }

// Disable lets every call through and records nothing, until Reset or
// ForceOpen.
func (b *Breaker) Disable() { b.force(Disabled) }

// Reset closes the breaker and clears its counts.
func (b *Breaker) Reset() { b.force(Closed) }

func (b *Breaker) force(to State) {
	b.mu.Lock()
	b.setLocked(b.state.Load(), to, b.now())
	b.mu.Unlock()
	b.deliver()
}

// Execute runs fn if b permits, and records its outcome. It returns an
// *OpenError, ErrOpen (forced open) or ErrTooManyRequests without calling fn
// when b rejects the call,
// and fn's result otherwise. If fn panics, the call counts as a failure and
// the panic continues. In the closed state it allocates nothing.
func Execute[T any](ctx context.Context, b *Breaker, fn func(ctx context.Context) (T, error)) (T, error) {
	w := b.state.Load()
	if w&(stateMask|expiredBit) == uint64(Open) {
		var zero T
		return zero, b.errOpen() // a rejection is two loads and a compare
	}
	if stateOf(w) == ForcedOpen {
		var zero T
		return zero, ErrOpen
	}
	if stateOf(w) != Closed || b.needStart {
		return execute(ctx, b, fn)
	}
	// The closed state: the ticket is implied, and a success with nothing
	// to record returns after one load, with no call but fn's.
	g := panicGuard{b: b, t: Ticket{gen: w, start: noTime, kind: kindClosed}}
	defer g.check()
	v, err := fn(ctx)
	g.returned = true
	if err == nil {
		if b.plain && b.consec.Load() == 0 {
			return v, nil // nothing to record: no write, no clock
		}
		b.release(g.t, noTime, Success)
	} else {
		b.release(g.t, noTime, b.cfg.classify(err))
	}
	return v, err
}

// panicGuard counts a call that panicked as a failure; deferred, it costs
// no closure.
type panicGuard struct {
	b        *Breaker
	t        Ticket
	returned bool
}

func (g *panicGuard) check() {
	if !g.returned {
		g.b.release(g.t, noTime, Failure)
	}
}

// execute is Execute when the call needs a ticket from acquire: half-open,
// open past its period, disabled, or a start time for slow calls.
func execute[T any](ctx context.Context, b *Breaker, fn func(ctx context.Context) (T, error)) (T, error) {
	t, err := b.acquire(b.now())
	if err != nil {
		var zero T
		return zero, err
	}
	g := panicGuard{b: b, t: t}
	defer g.check()
	v, err := fn(ctx)
	g.returned = true
	if err == nil {
		b.release(t, noTime, Success)
	} else {
		b.release(t, noTime, b.cfg.classify(err))
	}
	return v, err
}
