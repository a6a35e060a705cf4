package queue

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// A Handler processes one delivery. Returning nil acks the message; an
// error (or a panic) fails the attempt. ctx ends when the Worker loses the
// message (its visibility could not be extended) or gives up on the handler
// during shutdown; the handler should then return.
type Handler func(ctx context.Context, d Delivery) error

// A RetryPolicy says how long to wait before redelivering a message whose
// attempt failed. Delay gets the number of the failed attempt, 1 for the
// first. It must be safe for concurrent use. Every
// [github.com/distkit/distkit/backoff.Policy] satisfies it, so the policies
// of package backoff (Constant, Linear, Exponential, with or without
// jitter) can be passed to WithRetryPolicy as they are.
type RetryPolicy interface {
	Delay(attempt int) time.Duration
}

// RetryFunc adapts a function to a RetryPolicy.
type RetryFunc func(attempt int) time.Duration

// Delay returns f(attempt).
func (f RetryFunc) Delay(attempt int) time.Duration { return f(attempt) }

// defaultRetry doubles from one second up to five minutes.
var defaultRetry = RetryFunc(func(attempt int) time.Duration {
	if attempt >= 9 {
		return 5 * time.Minute
	}
	return min(time.Second<<max(attempt-1, 0), 5*time.Minute)
})

// A PanicError is the failure recorded for a handler that panicked.
type PanicError struct {
	Value any    // what the handler panicked with
	Stack []byte // the goroutine's stack at the panic
}

// Error describes the panic value.
func (e *PanicError) Error() string { return fmt.Sprintf("queue: handler panicked: %v", e.Value) }

// WorkerStats counts what a Worker did since it was created.
type WorkerStats struct {
	// Processed counts handlers that returned nil and whose ack succeeded.
	Processed uint64
	// Failed counts handlers that returned an error or panicked.
	Failed uint64
	// Retried counts failed messages given back for another attempt.
	Retried uint64
	// Dead counts failed messages on their last attempt, moved to the
	// dead-letter queue.
	Dead uint64
	// Lost counts messages the Worker could not settle because the queue
	// no longer held them for it (ErrNotHeld or a backend error): they are
	// redelivered when their visibility expires. The acks of a batched
	// AckReceive that failed are tried again one by one, and one that finds
	// its message gone counts as processed: the batch may have acked it.
	Lost uint64
}

// A Worker runs a Handler over the messages of a Queue with bounded
// concurrency. While a handler runs, the Worker extends the message's
// visibility; when the handler fails, it nacks the message with the delay of
// its RetryPolicy, and the queue dead-letters it after MaxAttempts. A
// panicking handler is recovered and counted as a failure (a *PanicError is
// passed to the error handler). Over a queue that is also an AckReceiver
// (redisqueue.Queue), the acks of finished messages ride on the round trips
// that receive the next ones. Its methods are safe for concurrent use.
type Worker struct {
	q           Queue
	h           Handler
	concurrency int
	batch       int
	batchSet    bool
	visibility  time.Duration
	heartbeat   time.Duration
	grace       time.Duration
	retry       RetryPolicy
	onError     func(Delivery, error)

	processed, failed, retried, dead, lost atomic.Uint64
}

// A WorkerOption configures a Worker.
type WorkerOption func(*Worker)

// WithConcurrency sets how many handlers run at once. Default: 10.
func WithConcurrency(n int) WorkerOption { return func(w *Worker) { w.concurrency = n } }

// WithReceiveBatch sets how many messages one Receive may return, up to the
// number of idle handler slots. The Worker runs concurrency/n receive loops
// (rounded up); with n = 1 each handler slot receives for itself. Default:
// the concurrency, so one loop receives for every idle slot at once.
func WithReceiveBatch(n int) WorkerOption {
	return func(w *Worker) { w.batch, w.batchSet = n, true }
}

// WithVisibility sets the visibility timeout of received messages: a message
// whose Worker dies is redelivered this long after its last heartbeat.
// Default: 30s.
func WithVisibility(d time.Duration) WorkerOption { return func(w *Worker) { w.visibility = d } }

// WithHeartbeat sets how often a running handler's message has its
// visibility extended. Default: a third of the visibility timeout.
func WithHeartbeat(d time.Duration) WorkerOption { return func(w *Worker) { w.heartbeat = d } }

// WithGracePeriod sets how long Run waits for running handlers once its ctx
// ended, before it nacks their messages for immediate redelivery and
// cancels their contexts. Default: 10s.
func WithGracePeriod(d time.Duration) WorkerOption { return func(w *Worker) { w.grace = d } }

// WithRetryPolicy sets the delay before a failed message is delivered
// again. Default: one second, doubling per attempt, at most five minutes.
func WithRetryPolicy(p RetryPolicy) WorkerOption { return func(w *Worker) { w.retry = p } }

// WithErrorHandler sets a function called, from the handler's goroutine,
// with every handler failure and every failure to settle a message.
// Default: none.
func WithErrorHandler(f func(Delivery, error)) WorkerOption {
	return func(w *Worker) { w.onError = f }
}

// NewWorker returns a Worker that runs h over q. It starts nothing; call
// Run. It panics if q or h is nil, the concurrency or batch is less than 1,
// the visibility or heartbeat is not positive, the heartbeat is not shorter
// than the visibility, or the grace period is negative.
func NewWorker(q Queue, h Handler, opts ...WorkerOption) *Worker {
	w := &Worker{q: q, h: h, concurrency: 10, visibility: 30 * time.Second, grace: 10 * time.Second, retry: defaultRetry}
	for _, o := range opts {
		o(w)
	}
	if !w.batchSet {
		w.batch = w.concurrency
	}
	if w.heartbeat == 0 {
		w.heartbeat = w.visibility / 3
	}
	switch {
	case q == nil || h == nil:
		panic("queue: nil Queue or Handler")
	case w.concurrency < 1 || w.batch < 1:
		panic("queue: concurrency or batch < 1")
	case w.visibility <= 0 || w.heartbeat <= 0 || w.heartbeat >= w.visibility:
		panic("queue: need 0 < heartbeat < visibility")
	case w.grace < 0:
		panic("queue: negative grace period")
	case w.retry == nil:
		panic("queue: nil RetryPolicy")
	}
	return w
}

// Stats returns the Worker's counts so far.
func (w *Worker) Stats() WorkerStats {
	return WorkerStats{
		Processed: w.processed.Load(),
		Failed:    w.failed.Load(),
		Retried:   w.retried.Load(),
		Dead:      w.dead.Load(),
		Lost:      w.lost.Load(),
	}
}

// A job is one delivery being handled.
type job struct {
	d      Delivery
	cancel context.CancelFunc
	// abandoned is set when shutdown nacked the message; the handler's
	// result is then ignored. Guarded by Worker.run's mutex.
	abandoned bool
}

// Run receives and handles messages until ctx ends, then shuts down: it
// stops receiving, waits up to the grace period for running handlers, nacks
// the messages of those still running so they are redelivered at once,
// cancels their contexts, and returns once every handler has returned (such
// a nack counts as an attempt: on its last one the message is dead). It
// returns nil after a shutdown caused by ctx. Receive errors other than
// ctx's are retried after a pause of up to a second. Call Run once at a
// time.
func (w *Worker) Run(ctx context.Context) error {
	var (
		mu   sync.Mutex
		jobs = make(map[*job]struct{})
		wg   sync.WaitGroup
	)
	slots := make(chan struct{}, w.concurrency)
	for range w.concurrency {
		slots <- struct{}{}
	}
	// Handlers outlive ctx by the grace period.
	base, cancelAll := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelAll()

	// With an AckReceiver, a handler that succeeds leaves its receipt in
	// pending for a receive loop, which acks every pending receipt in the
	// round trip that receives the next messages. Only while every loop is
	// blocked waiting for new messages does a handler ack by itself.
	ar, _ := w.q.(AckReceiver)
	loops := (w.concurrency + w.batch - 1) / w.batch
	var (
		pending  []Receipt // guarded by mu
		blocking int       // loops inside a blocking Receive; guarded by mu
		stopped  bool      // no loop will take pending receipts; guarded by mu
	)
	dispatch := func(ds []Delivery) {
		for _, d := range ds {
			hctx, cancel := context.WithCancel(base)
			j := &job{d: d, cancel: cancel}
			mu.Lock()
			jobs[j] = struct{}{}
			mu.Unlock()
			wg.Go(func() {
				defer func() { slots <- struct{}{} }()
				defer cancel()
				err := w.handle(hctx, d)
				mu.Lock()
				delete(jobs, j)
				if j.abandoned {
					mu.Unlock()
					return
				}
				if err == nil && ar != nil && !stopped && blocking < loops {
					pending = append(pending, d.Receipt)
					mu.Unlock()
					return
				}
				mu.Unlock()
				w.settle(base, d, err)
			})
		}
	}
	// takeAcks returns the pending receipts. With block set it also counts
	// the caller as blocking, under the same lock: a handler that finishes
	// after that acks by itself, so no receipt is left in pending while
	// every loop waits in Receive (it would stay unacked until its message
	// was redelivered).
	takeAcks := func(block bool) []Receipt {
		mu.Lock()
		defer mu.Unlock()
		acks := pending
		pending = nil
		if block {
			blocking++
		}
		return acks
	}
	ackNow := func(acks []Receipt) {
		for _, r := range acks {
			w.settle(base, Delivery{Receipt: r}, nil)
		}
	}
	// ackAgain acks one by one the receipts of an AckReceive that failed.
	// Its acks may have taken effect before the error, so a receipt now void
	// counts as processed, not lost: the queue no longer holding it for us is
	// what the batch would have left.
	ackAgain := func(acks []Receipt) {
		for _, r := range acks {
			err := w.q.Ack(base, r)
			switch {
			case err == nil || errors.Is(err, ErrNotHeld):
				w.processed.Add(1)
			default:
				w.lost.Add(1)
				w.report(Delivery{Receipt: r}, err)
			}
		}
	}
	// Enough receive loops to fill every slot with batches: with a batch of
	// 1, each slot has its own, so receives overlap.
	var receivers sync.WaitGroup
	for range loops {
		receivers.Go(func() {
			pause := time.Duration(0)
			for ctx.Err() == nil {
				select {
				case <-slots:
				case <-ctx.Done():
					continue
				}
				n := 1
				for n < w.batch {
					select {
					case <-slots:
						n++
						continue
					default:
					}
					break
				}
				var ds []Delivery
				var err error
				if ar != nil {
					// Without waiting: ack what finished, take what is ready.
					for len(ds) == 0 && err == nil && ctx.Err() == nil {
						acks := takeAcks(false)
						var void int
						ds, void, err = ar.AckReceive(base, acks, n, w.visibility)
						if err != nil {
							ackAgain(acks)
							break
						}
						w.processed.Add(uint64(len(acks) - void))
						w.lost.Add(uint64(void))
						if len(ds) == 0 {
							// Rarely, a handler finished during the round trip.
							ackNow(takeAcks(true))
							ds, err = w.q.Receive(ctx, n, w.visibility)
							mu.Lock()
							blocking--
							mu.Unlock()
							break
						}
					}
				} else {
					ds, err = w.q.Receive(ctx, n, w.visibility)
				}
				for range n - len(ds) {
					slots <- struct{}{}
				}
				if err != nil {
					if ctx.Err() != nil {
						break
					}
					pause = min(max(2*pause, 10*time.Millisecond), time.Second)
					sleep(ctx, pause)
					continue
				}
				pause = 0
				dispatch(ds)
			}
		})
	}
	receivers.Wait()
	mu.Lock()
	stopped = true
	mu.Unlock()
	ackNow(takeAcks(false))

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	timer := time.NewTimer(w.grace)
	defer timer.Stop()
	select {
	case <-done:
		return nil
	case <-timer.C:
	}
	mu.Lock()
	var left []*job
	for j := range jobs {
		j.abandoned = true
		left = append(left, j)
	}
	mu.Unlock()
	for _, j := range left {
		// Immediate redelivery to another worker; the attempt stays counted.
		if err := w.q.Nack(base, j.d.Receipt, 0); err != nil {
			w.lost.Add(1)
			w.report(j.d, err)
		}
		j.cancel()
	}
	<-done
	return nil
}

// handle runs the handler with a heartbeat and returns its error. The
// heartbeat is a timer, not a goroutine, until it fires.
func (w *Worker) handle(ctx context.Context, d Delivery) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu      sync.Mutex
		done    bool
		beating sync.WaitGroup
		t       *time.Timer
	)
	mu.Lock()
	t = time.AfterFunc(w.heartbeat, func() {
		mu.Lock()
		if done {
			mu.Unlock()
			return
		}
		beating.Add(1)
		mu.Unlock()
		defer beating.Done()
		if err := w.q.Extend(ctx, d.Receipt, w.visibility); errors.Is(err, ErrNotHeld) {
			cancel() // someone else may have the message now
			return
		}
		mu.Lock()
		if !done {
			t.Reset(w.heartbeat)
		}
		mu.Unlock()
	})
	mu.Unlock()
	err := w.call(ctx, d)
	mu.Lock()
	done = true
	t.Stop()
	mu.Unlock()
	cancel() // ends an Extend in flight
	beating.Wait()
	return err
}

func (w *Worker) call(ctx context.Context, d Delivery) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return w.h(ctx, d)
}

// settle acks or nacks d after its handler returned err.
func (w *Worker) settle(ctx context.Context, d Delivery, err error) {
	if err == nil {
		if err := w.q.Ack(ctx, d.Receipt); err != nil {
			w.lost.Add(1)
			w.report(d, err)
			return
		}
		w.processed.Add(1)
		return
	}
	w.failed.Add(1)
	w.report(d, err)
	last := d.MaxAttempts > 0 && d.Attempt >= d.MaxAttempts
	if err := w.q.Nack(ctx, d.Receipt, max(w.retry.Delay(d.Attempt), 0)); err != nil {
		w.lost.Add(1)
		w.report(d, err)
		return
	}
	if last {
		w.dead.Add(1)
	} else {
		w.retried.Add(1)
	}
}

func (w *Worker) report(d Delivery, err error) {
	if w.onError != nil {
		w.onError(d, err)
	}
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
