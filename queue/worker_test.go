package queue_test

import (
	"cmp"
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/distkit/distkit/queue"
)

func enqueueN(t *testing.T, q queue.Queue, n int) {
	t.Helper()
	for i := range n {
		if err := q.Enqueue(t.Context(), queue.Message{Body: []byte(strconv.Itoa(i))}); err != nil {
			t.Fatal(err)
		}
	}
}

// runWorker runs w until stop is closed and returns a channel closed when
// Run has returned.
func runWorker(t *testing.T, w *queue.Worker) (cancel func(), done <-chan struct{}) {
	ctx, cancel := context.WithCancel(t.Context())
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		if err := w.Run(ctx); err != nil {
			t.Errorf("Run = %v; want nil", err)
		}
	}()
	return cancel, ch
}

func TestWorkerProcessesAllWithBoundedConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := queue.NewLocal()
		enqueueN(t, q, 100)
		var running, peak atomic.Int32
		var mu sync.Mutex
		seen := map[string]int{}
		w := queue.NewWorker(q, func(ctx context.Context, d queue.Delivery) error {
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(100 * time.Millisecond) // work
			running.Add(-1)
			mu.Lock()
			seen[string(d.Body)]++
			mu.Unlock()
			return nil
		}, queue.WithConcurrency(4), queue.WithReceiveBatch(3))
		cancel, done := runWorker(t, w)
		start := time.Now()
		synctest.Wait()
		for w.Stats().Processed < 100 {
			time.Sleep(10 * time.Millisecond)
		}
		if el := time.Since(start); el < 2500*time.Millisecond || el > 2510*time.Millisecond {
			t.Errorf("100 jobs of 100ms with concurrency 4 took %v; want 2.5s", el)
		}
		cancel()
		<-done
		if got := peak.Load(); got != 4 {
			t.Errorf("peak concurrency = %d; want 4", got)
		}
		if len(seen) != 100 {
			t.Errorf("handled %d distinct messages; want 100", len(seen))
		}
		if c := counts(q); c != (queue.Counts{}) {
			t.Errorf("Len after processing = %+v; want empty", c)
		}
		if s := w.Stats(); s != (queue.WorkerStats{Processed: 100}) {
			t.Errorf("Stats = %+v; want 100 processed", s)
		}
	})
}

func TestWorkerRetriesThenDeadLetters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := queue.NewLocal(queue.WithMaxAttempts(3))
		enqueueN(t, q, 1)
		var attempts []time.Duration
		start := time.Now()
		boom := errors.New("boom")
		var reported atomic.Int32
		w := queue.NewWorker(q, func(ctx context.Context, d queue.Delivery) error {
			attempts = append(attempts, time.Since(start))
			return boom
		}, queue.WithRetryPolicy(queue.RetryFunc(func(a int) time.Duration { return time.Duration(a) * time.Second })),
			queue.WithErrorHandler(func(d queue.Delivery, err error) {
				if errors.Is(err, boom) {
					reported.Add(1)
				}
			}))
		cancel, done := runWorker(t, w)
		time.Sleep(time.Minute)
		cancel()
		<-done
		want := []time.Duration{0, time.Second, 3 * time.Second}
		if len(attempts) != 3 || attempts[0] != want[0] || attempts[1] != want[1] || attempts[2] != want[2] {
			t.Errorf("attempts at %v; want %v (delays 1s, 2s)", attempts, want)
		}
		if s := w.Stats(); s != (queue.WorkerStats{Failed: 3, Retried: 2, Dead: 1}) {
			t.Errorf("Stats = %+v; want 3 failed, 2 retried, 1 dead", s)
		}
		if reported.Load() != 3 {
			t.Errorf("error handler saw %d failures; want 3", reported.Load())
		}
		if dead, _ := q.Dead(t.Context(), 10); len(dead) != 1 || dead[0].Attempt != 3 {
			t.Errorf("Dead = %+v; want the message after 3 attempts", dead)
		}
	})
}

func TestWorkerRecoversPanics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := queue.NewLocal()
		enqueueN(t, q, 1)
		var pe *queue.PanicError
		w := queue.NewWorker(q, func(ctx context.Context, d queue.Delivery) error {
			if d.Attempt == 1 {
				panic("first try")
			}
			return nil
		}, queue.WithRetryPolicy(queue.RetryFunc(func(int) time.Duration { return 0 })),
			queue.WithErrorHandler(func(d queue.Delivery, err error) { errors.As(err, &pe) }))
		cancel, done := runWorker(t, w)
		time.Sleep(time.Second)
		cancel()
		<-done
		if pe == nil || pe.Value != "first try" || len(pe.Stack) == 0 || pe.Error() != "queue: handler panicked: first try" {
			t.Errorf("error handler got %v; want a *PanicError with value and stack", pe)
		}
		if s := w.Stats(); s != (queue.WorkerStats{Processed: 1, Failed: 1, Retried: 1}) {
			t.Errorf("Stats = %+v; want 1 processed, 1 failed, 1 retried", s)
		}
	})
}

func TestWorkerHeartbeatKeepsMessage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := queue.NewLocal()
		enqueueN(t, q, 1)
		var calls atomic.Int32
		w := queue.NewWorker(q, func(ctx context.Context, d queue.Delivery) error {
			calls.Add(1)
			time.Sleep(10 * time.Second) // far past the visibility timeout
			return nil
		}, queue.WithVisibility(time.Second), queue.WithHeartbeat(300*time.Millisecond), queue.WithConcurrency(2))
		cancel, done := runWorker(t, w)
		time.Sleep(11 * time.Second)
		cancel()
		<-done
		if calls.Load() != 1 {
			t.Errorf("handler ran %d times; want once (heartbeats keep the message)", calls.Load())
		}
		if s := w.Stats(); s != (queue.WorkerStats{Processed: 1}) {
			t.Errorf("Stats = %+v; want 1 processed", s)
		}
	})
}

func TestWorkerLostMessageCancelsHandler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := queue.NewLocal()
		enqueueN(t, q, 1)
		var ctxErr error
		w := queue.NewWorker(q, func(ctx context.Context, d queue.Delivery) error {
			// Another party voids the receipt: a redelivery elsewhere.
			if err := q.Nack(ctx, d.Receipt, time.Hour); err != nil {
				t.Errorf("Nack = %v", err)
			}
			<-ctx.Done()
			ctxErr = ctx.Err()
			return ctx.Err()
		}, queue.WithVisibility(time.Second), queue.WithHeartbeat(100*time.Millisecond))
		cancel, done := runWorker(t, w)
		time.Sleep(time.Second)
		cancel()
		<-done
		if ctxErr == nil {
			t.Error("handler's ctx did not end when the heartbeat lost the message")
		}
		if s := w.Stats(); s.Lost != 1 || s.Failed != 1 {
			t.Errorf("Stats = %+v; want 1 failed, 1 lost", s)
		}
	})
}

func TestWorkerGracefulShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := queue.NewLocal()
		enqueueN(t, q, 2)
		w := queue.NewWorker(q, func(ctx context.Context, d queue.Delivery) error {
			if string(d.Body) == "0" {
				time.Sleep(2 * time.Second) // finishes within the grace period
				return nil
			}
			<-ctx.Done() // stuck until cancelled
			return ctx.Err()
		}, queue.WithGracePeriod(5*time.Second), queue.WithConcurrency(2))
		cancel, done := runWorker(t, w)
		time.Sleep(time.Second)
		synctest.Wait()
		stopped := time.Now()
		cancel()
		enqueueN(t, q, 1) // not received: the worker stopped receiving
		<-done
		if el := time.Since(stopped); el != 5*time.Second {
			t.Errorf("Run returned %v after its ctx ended; want the 5s grace period", el)
		}
		if s := w.Stats(); s != (queue.WorkerStats{Processed: 1}) {
			t.Errorf("Stats = %+v; want 1 processed", s)
		}
		if c := counts(q); c != (queue.Counts{Ready: 2}) {
			t.Errorf("Len = %+v; want the stuck message nacked back and the new one ready", c)
		}
		ds, err := q.Receive(t.Context(), 2, time.Minute)
		if err != nil || len(ds) != 2 || string(ds[1].Body) != "1" || ds[1].Attempt != 2 {
			t.Errorf("Receive after shutdown = %+v, %v; want the stuck message redelivered at once", ds, err)
		}
	})
}

func TestWorkerShutdownWaitsForHandlers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := queue.NewLocal()
		enqueueN(t, q, 1)
		w := queue.NewWorker(q, func(ctx context.Context, d queue.Delivery) error {
			time.Sleep(time.Second)
			return nil
		})
		cancel, done := runWorker(t, w)
		synctest.Wait()
		cancel()
		<-done
		if s := w.Stats(); s.Processed != 1 {
			t.Errorf("Stats = %+v; want the running handler finished and acked", s)
		}
	})
}

// flaky fails every Receive until ok is set.
type flaky struct {
	queue.Queue
	ok    atomic.Bool
	calls atomic.Int32
}

func (f *flaky) Receive(ctx context.Context, n int, vis time.Duration) ([]queue.Delivery, error) {
	f.calls.Add(1)
	if !f.ok.Load() {
		return nil, errors.New("backend down")
	}
	return f.Queue.Receive(ctx, n, vis)
}

func TestWorkerPausesOnReceiveErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := &flaky{Queue: queue.NewLocal()}
		enqueueN(t, q, 1)
		w := queue.NewWorker(q, func(ctx context.Context, d queue.Delivery) error { return nil }, queue.WithConcurrency(1))
		cancel, done := runWorker(t, w)
		time.Sleep(5 * time.Second)
		// 10ms, 20ms, ... up to 1s between tries: about 11 in 5s, not a spin.
		if n := q.calls.Load(); n < 5 || n > 20 {
			t.Errorf("%d Receive calls in 5s against a failing backend; want a pause between them", n)
		}
		q.ok.Store(true)
		time.Sleep(2 * time.Second)
		cancel()
		<-done
		if s := w.Stats(); s.Processed != 1 {
			t.Errorf("Stats = %+v; want the message processed once the backend is back", s)
		}
	})
}

func TestNewWorkerPanicsOnBadConfig(t *testing.T) {
	q := queue.NewLocal()
	h := func(context.Context, queue.Delivery) error { return nil }
	for name, f := range map[string]func(){
		"nil queue":     func() { queue.NewWorker(nil, h) },
		"nil handler":   func() { queue.NewWorker(q, nil) },
		"concurrency 0": func() { queue.NewWorker(q, h, queue.WithConcurrency(0)) },
		"batch 0":       func() { queue.NewWorker(q, h, queue.WithReceiveBatch(0)) },
		"heartbeat":     func() { queue.NewWorker(q, h, queue.WithVisibility(time.Second), queue.WithHeartbeat(time.Second)) },
		"grace":         func() { queue.NewWorker(q, h, queue.WithGracePeriod(-1)) },
		"retry":         func() { queue.NewWorker(q, h, queue.WithRetryPolicy(nil)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewWorker(%s) did not panic", name)
				}
			}()
			f()
		}()
	}
}

func TestWorkerBatchesAcksWithAckReceiver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n, concurrency = 100, 8
		q := newSlowAcks(time.Millisecond)
		enqueueN(t, q, n)
		var mu sync.Mutex
		handled := map[string]int{}
		w := queue.NewWorker(q, func(ctx context.Context, d queue.Delivery) error {
			mu.Lock()
			handled[string(d.Body)]++
			mu.Unlock()
			time.Sleep(100 * time.Millisecond)
			return nil
		}, queue.WithConcurrency(concurrency), queue.WithReceiveBatch(concurrency))
		cancel, done := runWorker(t, w)
		start := time.Now()
		for w.Stats().Processed < n && time.Since(start) < time.Minute {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		<-done
		if s := w.Stats(); s != (queue.WorkerStats{Processed: n}) {
			t.Errorf("Stats = %+v; want %d processed", s, n)
		}
		if c := counts(q); c != (queue.Counts{}) {
			t.Errorf("Len = %+v; want empty", c)
		}
		mu.Lock()
		defer mu.Unlock()
		for body, k := range handled {
			if k != 1 {
				t.Errorf("message %s handled %d times; want once", body, k)
			}
		}
		q.mu.Lock()
		defer q.mu.Unlock()
		if len(handled) != n || len(q.acked) != n || q.void != 0 {
			t.Errorf("handled %d messages, acked %d, %d void acks; want %d, %d, 0", len(handled), len(q.acked), q.void, n, n)
		}
		for id, k := range q.acked {
			if k != 1 {
				t.Errorf("message %s acked %d times; want once", id, k)
			}
		}
		// Handlers finish in groups while a round trip is under way: the
		// next AckReceive carries the group. At the first completion, all
		// of the first batch finish at once and at most two calls carry
		// their acks. Only handlers still running once nothing is left to
		// receive ack by themselves (Ack), as the loop then waits.
		batched, most := 0, 0
		for _, k := range q.sizes {
			batched += k
			most = max(most, k)
		}
		if most < concurrency/2 || batched < n-concurrency {
			t.Errorf("AckReceive calls carried %v acks; want at least %d in one call and %d in all", q.sizes, concurrency/2, n-concurrency)
		}
		t.Logf("%d acks in %d calls: %v", batched, len(q.sizes), q.sizes)
	})
}

// TestWorkerAckReceiveFailsAfterAcking: an AckReceive whose acks took
// effect before its error (a reply lost on the way back) leaves the Worker
// acking them again one by one, in vain. Those messages were processed, not
// lost.
func TestWorkerAckReceiveFailsAfterAcking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 20
		q := newSlowAcks(time.Millisecond)
		q.fail = 2
		enqueueN(t, q, n)
		w := queue.NewWorker(q, func(ctx context.Context, d queue.Delivery) error {
			time.Sleep(100 * time.Millisecond)
			return nil
		}, queue.WithConcurrency(4))
		cancel, done := runWorker(t, w)
		for w.Stats().Processed < n && counts(q) != (queue.Counts{}) {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(time.Second)
		cancel()
		<-done
		if s := w.Stats(); s != (queue.WorkerStats{Processed: n}) {
			t.Errorf("Stats = %+v; want %d processed, none lost", s, n)
		}
		q.mu.Lock()
		defer q.mu.Unlock()
		if q.fail != 0 || q.void == 0 || len(q.acked) != n {
			t.Errorf("%d failures left, %d void acks, %d acked; want 0, some, %d", q.fail, q.void, len(q.acked), n)
		}
	})
}

func TestWorkerShutdownFlushesPendingAcks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newSlowAcks(time.Second)
		enqueueN(t, q, 6)
		// 0, 1 and 2 are received at 1s. 0 finishes at 3s and rides on the
		// AckReceive that lasts until 4s; 1 and 2 finish during it, and
		// their receipts wait for the next call. Run's ctx ends at 3.5s, so
		// there is none: shutdown must ack them. 3, received at 4s, is
		// handled within the grace period.
		work := map[string]time.Duration{"1": 2200 * time.Millisecond, "2": 2200 * time.Millisecond}
		w := queue.NewWorker(q, func(ctx context.Context, d queue.Delivery) error {
			time.Sleep(cmp.Or(work[string(d.Body)], 2*time.Second))
			return nil
		}, queue.WithConcurrency(3), queue.WithGracePeriod(5*time.Second))
		cancel, done := runWorker(t, w)
		time.Sleep(3500 * time.Millisecond)
		cancel()
		<-done
		if s := w.Stats(); s != (queue.WorkerStats{Processed: 4}) {
			t.Errorf("Stats = %+v; want 4 processed", s)
		}
		if c := counts(q); c != (queue.Counts{Ready: 2}) {
			t.Errorf("Len after shutdown = %+v; want every finished message acked, 2 ready", c)
		}
		q.mu.Lock()
		defer q.mu.Unlock()
		if q.void != 0 || len(q.acked) != 4 {
			t.Errorf("acked %v with %d void acks; want 4 messages acked once each", q.acked, q.void)
		}
	})
}

// slowAcks is an AckReceiver over a Local whose every round trip (Ack and
// AckReceive) takes rtt, and which records every ack attempt by message ID.
type slowAcks struct {
	*queue.Local
	rtt time.Duration

	mu    sync.Mutex
	acked map[string]int // successful acks by message ID
	void  int            // void ack attempts
	sizes []int          // receipts per AckReceive call
	fail  int            // AckReceive calls with receipts left to fail after their acks took effect
}

func newSlowAcks(rtt time.Duration) *slowAcks {
	return &slowAcks{Local: queue.NewLocal(), rtt: rtt, acked: map[string]int{}}
}

func (q *slowAcks) ack(ctx context.Context, rs []queue.Receipt) (void int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, r := range rs {
		if q.Local.Ack(ctx, r) != nil {
			void++
			continue
		}
		q.acked[r.ID]++
	}
	q.void += void
	return void
}

func (q *slowAcks) Ack(ctx context.Context, rs ...queue.Receipt) error {
	time.Sleep(q.rtt)
	if q.ack(ctx, rs) > 0 {
		return queue.ErrNotHeld
	}
	return nil
}

func (q *slowAcks) AckReceive(ctx context.Context, rs []queue.Receipt, n int, vis time.Duration) ([]queue.Delivery, int, error) {
	time.Sleep(q.rtt)
	q.mu.Lock()
	q.sizes = append(q.sizes, len(rs))
	q.mu.Unlock()
	void := q.ack(ctx, rs)
	q.mu.Lock()
	fail := q.fail > 0 && len(rs) > 0
	if fail {
		q.fail--
	}
	q.mu.Unlock()
	if fail {
		return nil, 0, errors.New("connection reset by peer")
	}
	// Take what is ready now: the timeout only ends a Receive that would
	// wait, since time in the bubble stands still until everything blocks.
	ctx, cancel := context.WithTimeout(ctx, time.Nanosecond)
	defer cancel()
	ds, err := q.Receive(ctx, n, vis)
	if errors.Is(err, context.DeadlineExceeded) {
		err = nil
	}
	return ds, void, err
}

// TestWorkerAcksReceiptLeftWhileGoingToBlock is a regression test: a handler
// that finished while its receive loop, having found nothing to receive, was
// acking by itself what finished during its last round trip, left its
// receipt for that loop, which then blocked in Receive without acking it.
// The message was redelivered once its visibility expired, handled again,
// and the stale receipt was then acked in vain (a lost ack).
func TestWorkerAcksReceiptLeftWhileGoingToBlock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const rtt = 10 * time.Millisecond
		q := newSlowAcks(rtt)
		for _, body := range []string{"a", "b", "c"} {
			if err := q.Enqueue(t.Context(), queue.Message{Body: []byte(body)}); err != nil {
				t.Fatal(err)
			}
		}
		// All three are received together at rtt. Then: a finishes and is
		// acked by the AckReceive that starts at rtt+100ms; c finishes
		// during that round trip, which receives nothing, so the loop acks
		// c itself before it blocks; b finishes during that Ack.
		work := map[string]time.Duration{"a": 100 * time.Millisecond, "c": 105 * time.Millisecond, "b": 112 * time.Millisecond}
		var handled sync.Map
		w := queue.NewWorker(q, func(ctx context.Context, d queue.Delivery) error {
			if _, again := handled.LoadOrStore(string(d.Body), true); again {
				t.Errorf("message %s handled twice", d.Body)
			}
			time.Sleep(work[string(d.Body)])
			return nil
		}, queue.WithConcurrency(3), queue.WithReceiveBatch(3), queue.WithVisibility(time.Second))
		cancel, done := runWorker(t, w)
		time.Sleep(3 * time.Second) // past the visibility of a message left unacked
		if s := w.Stats(); s != (queue.WorkerStats{Processed: 3}) {
			t.Errorf("Stats after 3s = %+v; want 3 processed", s)
		}
		if c := counts(q); c != (queue.Counts{}) {
			t.Errorf("Len after 3s = %+v; want every message acked", c)
		}
		cancel()
		<-done
		q.mu.Lock()
		defer q.mu.Unlock()
		if q.void != 0 || len(q.acked) != 3 {
			t.Errorf("acked %v with %d void acks; want a, b and c acked once each", q.acked, q.void)
		}
	})
}
