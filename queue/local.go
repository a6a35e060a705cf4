package queue

import (
	"context"
	"strconv"
	"sync"
	"time"
)

// A Local is a bounded in-memory Queue for the goroutines of one process. It
// is safe for concurrent use by multiple goroutines.
//
// Ready messages are served first in, first out; a message that becomes
// ready again (after a delay, a nack or an expired visibility timeout) joins
// the back. Delays and visibility deadlines share one min-heap, so a Local
// starts no goroutine and no timer per message; a deadline that passed is
// acted on by the next call that looks at the queue, and a blocked Receive
// or Enqueue wakes up for it. The zero Local is not usable; call NewLocal.
type Local struct {
	capacity    int
	block       bool
	maxAttempts int
	maxBody     int
	dedupWindow time.Duration

	// wake holds a token when a message may be ready: one blocked Receive
	// takes it and passes it on if messages remain.
	wake chan struct{}

	mu      sync.Mutex
	seq     uint64            // last message ID; guarded by mu
	token   uint64            // last delivery token; guarded by mu
	live    int               // ready, delayed and in-flight messages; guarded by mu
	msgs    map[string]*entry // live and dead messages by ID; guarded by mu
	ready   fifo              // guarded by mu
	timers  timerHeap         // delayed and in-flight messages; guarded by mu
	dead    []*entry          // oldest death first; guarded by mu
	dedup   map[string]time.Time
	dedupQ  []dedupRecord // dedup IDs in order of expiry; guarded by mu
	spaceCh chan struct{} // closed when space frees up; nil without waiters; guarded by mu
	stats   LocalStats    // guarded by mu
}

type dedupRecord struct {
	id      string
	expires time.Time
}

var (
	_ Queue       = (*Local)(nil)
	_ DeadLetters = (*Local)(nil)
)

// A LocalOption configures a Local.
type LocalOption func(*Local)

// WithCapacity bounds how many messages (ready, delayed and in flight; dead
// ones do not count) a Local holds. Default: 10000.
func WithCapacity(n int) LocalOption { return func(l *Local) { l.capacity = n } }

// WithBlock chooses what Enqueue does on a full Local: wait until there is
// room or ctx ends (true), or return ErrFull at once (false). Default: true.
func WithBlock(block bool) LocalOption { return func(l *Local) { l.block = block } }

// WithMaxAttempts sets how many deliveries a message gets before it moves to
// the dead-letter queue. Default: DefaultMaxAttempts.
func WithMaxAttempts(n int) LocalOption { return func(l *Local) { l.maxAttempts = n } }

// WithMaxBodySize sets the largest body Enqueue accepts. Default:
// DefaultMaxBodySize.
func WithMaxBodySize(n int) LocalOption { return func(l *Local) { l.maxBody = n } }

// WithDedupWindow sets how long a DedupID suppresses duplicates after its
// first enqueue. Default: DefaultDedupWindow.
func WithDedupWindow(d time.Duration) LocalOption { return func(l *Local) { l.dedupWindow = d } }

// NewLocal returns an empty Local. It panics if the capacity or MaxAttempts
// is less than 1, or the body size limit or dedup window is negative.
func NewLocal(opts ...LocalOption) *Local {
	l := &Local{
		capacity:    10000,
		block:       true,
		maxAttempts: DefaultMaxAttempts,
		maxBody:     DefaultMaxBodySize,
		dedupWindow: DefaultDedupWindow,
		wake:        make(chan struct{}, 1),
		msgs:        make(map[string]*entry),
		dedup:       make(map[string]time.Time),
	}
	for _, o := range opts {
		o(l)
	}
	switch {
	case l.capacity < 1:
		panic("queue: capacity < 1")
	case l.maxAttempts < 1:
		panic("queue: MaxAttempts < 1")
	case l.maxBody < 0:
		panic("queue: negative body size limit")
	case l.dedupWindow < 0:
		panic("queue: negative dedup window")
	}
	return l
}

// Enqueue adds msgs, all or none. When the Local lacks room for them it
// waits until there is room or ctx ends, or returns ErrFull at once if so
// configured; a batch larger than the capacity returns ErrFull. It returns an
// error wrapping ErrTooLarge or ErrInvalid for an invalid message. The Local
// keeps Body and Headers without copying: do not modify them afterwards.
func (l *Local) Enqueue(ctx context.Context, msgs ...Message) error {
	for i := range msgs {
		// Only the errors matter here; the delay is computed under the lock.
		if _, err := Validate(&msgs[i], l.maxBody, time.Time{}); err != nil {
			return err
		}
	}
	if len(msgs) > l.capacity {
		l.mu.Lock()
		l.stats.Full++
		l.mu.Unlock()
		return ErrFull
	}
	blocked := false
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		l.mu.Lock()
		now := time.Now()
		l.expireDedup(now)
		// A message dead on an expired deadline frees room.
		l.promote(now)
		need := 0
		for i := range msgs {
			if _, dup := l.dedup[msgs[i].DedupID]; msgs[i].DedupID == "" || !dup {
				need++
			}
		}
		if l.live+need <= l.capacity {
			for i := range msgs {
				l.insert(&msgs[i], now)
			}
			l.mu.Unlock()
			// Wake a blocked Receive: a message is ready, or a delayed one
			// may be due before the deadline it waits for.
			l.signal()
			return nil
		}
		if !l.block {
			l.stats.Full++
			l.mu.Unlock()
			return ErrFull
		}
		if !blocked {
			blocked = true
			l.stats.Blocked++
		}
		if l.spaceCh == nil {
			l.spaceCh = make(chan struct{})
		}
		space := l.spaceCh
		var tc <-chan time.Time
		if len(l.timers) > 0 {
			wait := l.timers[0].due.Sub(now)
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			tc = timer.C
		}
		l.mu.Unlock()
		select {
		case <-space:
		case <-tc:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// insert adds one validated message. It requires l.mu to be held.
func (l *Local) insert(m *Message, now time.Time) {
	if m.DedupID != "" {
		if _, dup := l.dedup[m.DedupID]; dup {
			l.stats.Deduplicated++
			return
		}
		exp := now.Add(l.dedupWindow)
		l.dedup[m.DedupID] = exp
		l.dedupQ = append(l.dedupQ, dedupRecord{m.DedupID, exp})
	}
	delay, _ := Validate(m, l.maxBody, now)
	l.seq++
	e := &entry{
		id:       strconv.FormatUint(l.seq, 10),
		body:     m.Body,
		headers:  m.Headers,
		enqueued: now,
		idx:      -1,
	}
	l.msgs[e.id] = e
	l.live++
	l.stats.Enqueued++
	if delay > 0 {
		e.state, e.due = stateDelayed, now.Add(delay)
		l.timers.push(e)
	} else {
		e.state = stateReady
		l.ready.push(e)
	}
}

// expireDedup forgets dedup IDs whose window has passed. It requires l.mu to
// be held.
func (l *Local) expireDedup(now time.Time) {
	i := 0
	for i < len(l.dedupQ) && !now.Before(l.dedupQ[i].expires) {
		delete(l.dedup, l.dedupQ[i].id)
		i++
	}
	if i > 0 {
		n := copy(l.dedupQ, l.dedupQ[i:])
		clear(l.dedupQ[n:])
		l.dedupQ = l.dedupQ[:n]
	}
}

// signal hands a wake-up token to one blocked Receive.
func (l *Local) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// freed wakes every Enqueue waiting for room. It requires l.mu to be held.
func (l *Local) freed() {
	if l.spaceCh != nil {
		close(l.spaceCh)
		l.spaceCh = nil
	}
}

// promote acts on every deadline that has passed: delayed messages become
// ready, in-flight messages whose visibility expired become ready again or
// dead. It requires l.mu to be held.
func (l *Local) promote(now time.Time) {
	for len(l.timers) > 0 && !now.Before(l.timers[0].due) {
		e := l.timers[0]
		l.timers.remove(e)
		if e.state == stateInFlight {
			l.stats.Expired++
			if e.attempt >= l.maxAttempts {
				l.kill(e)
				continue
			}
		}
		e.state = stateReady
		l.ready.push(e)
	}
}

// kill moves e to the dead-letter queue. It requires l.mu to be held.
func (l *Local) kill(e *entry) {
	l.timers.remove(e)
	e.state = stateDead
	l.dead = append(l.dead, e)
	l.live--
	l.stats.Dead++
	l.freed()
}

// Receive returns between 1 and max ready messages, oldest first, each
// invisible to other consumers for visibility. It blocks until a message is
// ready or ctx ends, and is woken as soon as one is enqueued or becomes ready.
// It returns an error wrapping ErrInvalid if max < 1 or visibility <= 0.
func (l *Local) Receive(ctx context.Context, max int, visibility time.Duration) ([]Delivery, error) {
	if err := CheckReceive(max, visibility); err != nil {
		return nil, err
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		l.mu.Lock()
		now := time.Now()
		l.promote(now)
		if n := min(max, l.ready.len()); n > 0 {
			out := make([]Delivery, n)
			due := now.Add(visibility)
			for i := range out {
				e := l.ready.pop()
				l.token++
				e.attempt++
				e.token = l.token
				e.state, e.due = stateInFlight, due
				l.timers.push(e)
				out[i] = l.delivery(e)
			}
			l.stats.Delivered += uint64(n)
			more := l.ready.len() > 0
			l.mu.Unlock()
			if more {
				l.signal()
			}
			return out, nil
		}
		wait := time.Duration(-1)
		if len(l.timers) > 0 {
			wait = l.timers[0].due.Sub(now)
		}
		l.mu.Unlock()

		var tc <-chan time.Time
		if wait >= 0 {
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			tc = timer.C
		}
		select {
		case <-l.wake:
		case <-tc:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (l *Local) delivery(e *entry) Delivery {
	return Delivery{
		Receipt:     Receipt{ID: e.id, Token: e.token},
		Body:        e.body,
		Headers:     e.headers,
		Attempt:     e.attempt,
		MaxAttempts: l.maxAttempts,
		EnqueuedAt:  e.enqueued,
	}
}

// held returns the in-flight entry r holds at now, or nil. It requires l.mu
// to be held.
func (l *Local) held(r Receipt, now time.Time) *entry {
	e := l.msgs[r.ID]
	if e == nil || e.state != stateInFlight || e.token != r.Token || !now.Before(e.due) {
		return nil
	}
	return e
}

// Ack deletes the messages of receipts. It returns ErrNotHeld if any receipt
// is void; the others are still acked. It does not block.
func (l *Local) Ack(_ context.Context, receipts ...Receipt) error {
	var err error
	l.mu.Lock()
	now := time.Now()
	for _, r := range receipts {
		e := l.held(r, now)
		if e == nil {
			err = ErrNotHeld
			continue
		}
		l.timers.remove(e)
		delete(l.msgs, e.id)
		l.live--
		l.stats.Acked++
	}
	if len(receipts) > 0 {
		l.freed()
	}
	l.mu.Unlock()
	return err
}

// Nack makes the message of r visible again after delay, or moves it to the
// dead-letter queue if this was its last attempt. It returns ErrNotHeld if r
// is void and an error wrapping ErrInvalid if delay < 0. It does not block.
func (l *Local) Nack(_ context.Context, r Receipt, delay time.Duration) error {
	if err := CheckDelay(delay); err != nil {
		return err
	}
	l.mu.Lock()
	now := time.Now()
	e := l.held(r, now)
	if e == nil {
		l.mu.Unlock()
		return ErrNotHeld
	}
	l.stats.Nacked++
	switch {
	case e.attempt >= l.maxAttempts:
		l.kill(e)
	case delay > 0:
		e.state, e.due = stateDelayed, now.Add(delay)
		l.timers.fix(e)
	default:
		l.timers.remove(e)
		e.state = stateReady
		l.ready.push(e)
	}
	l.mu.Unlock()
	// A blocked Receive may be waiting on a later deadline.
	l.signal()
	return nil
}

// Extend makes the message of r invisible for visibility from now. It
// returns ErrNotHeld if r is void and an error wrapping ErrInvalid if
// visibility < 0. It does not block.
func (l *Local) Extend(_ context.Context, r Receipt, visibility time.Duration) error {
	if err := CheckDelay(visibility); err != nil {
		return err
	}
	l.mu.Lock()
	now := time.Now()
	e := l.held(r, now)
	if e == nil {
		l.mu.Unlock()
		return ErrNotHeld
	}
	e.due = now.Add(visibility)
	l.timers.fix(e)
	l.mu.Unlock()
	if visibility == 0 {
		l.signal()
	}
	return nil
}

// Dead returns up to max dead messages, oldest death first. It returns an
// error wrapping ErrInvalid if max < 1. It does not block.
func (l *Local) Dead(_ context.Context, max int) ([]Delivery, error) {
	if max < 1 {
		return nil, errMax
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.promote(time.Now())
	out := make([]Delivery, 0, min(max, len(l.dead)))
	for _, e := range l.dead[:min(max, len(l.dead))] {
		d := l.delivery(e)
		d.Token = 0
		out = append(out, d)
	}
	return out, nil
}

// Redrive moves the dead messages with the given IDs back to the queue,
// ready at once with their attempt count reset, and returns how many it
// moved. Redriven messages may take the Local over its capacity. It does
// not block.
func (l *Local) Redrive(_ context.Context, ids ...string) (int, error) {
	l.mu.Lock()
	n := 0
	for _, id := range ids {
		e := l.msgs[id]
		if e == nil || e.state != stateDead {
			continue
		}
		e.state, e.attempt = stateReady, 0
		l.ready.push(e)
		l.live++
		n++
	}
	l.stats.Redriven += uint64(n)
	if n > 0 {
		kept := l.dead[:0]
		for _, e := range l.dead {
			if e.state == stateDead {
				kept = append(kept, e)
			}
		}
		clear(l.dead[len(kept):])
		l.dead = kept
	}
	l.mu.Unlock()
	if n > 0 {
		l.signal()
	}
	return n, nil
}

// Counts says how many messages a queue holds in each state.
type Counts struct {
	// Ready messages wait for a consumer; Delayed ones become ready later;
	// InFlight ones are received and not yet acked; Dead ones are in the
	// dead-letter queue.
	Ready, Delayed, InFlight, Dead int
}

// Len returns how many messages the Local holds in each state. It never
// fails; it takes a context and returns an error so that code written for
// redisqueue.Queue's Len works with a Local too.
func (l *Local) Len(context.Context) (Counts, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.promote(time.Now())
	c := Counts{Ready: l.ready.len(), Dead: len(l.dead)}
	for _, e := range l.timers {
		if e.state == stateDelayed {
			c.Delayed++
		} else {
			c.InFlight++
		}
	}
	return c, nil
}
