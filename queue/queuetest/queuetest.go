package queuetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/distkit/distkit/queue"
)

// NewQueue returns a new, empty queue whose messages are dead after
// maxAttempts deliveries. It may register cleanups on t.
type NewQueue func(t *testing.T, maxAttempts int) queue.Queue

// Run runs the conformance suite against the queues newQueue returns.
func Run(t *testing.T, newQueue NewQueue) {
	tests := []struct {
		name string
		fn   func(*testing.T, NewQueue)
	}{
		{"Delivery", testDelivery},
		{"FIFO", testFIFO},
		{"AckDeletes", testAckDeletes},
		{"Visibility", testVisibility},
		{"Fencing", testFencing},
		{"NackDelay", testNackDelay},
		{"NackNow", testNackNow},
		{"Extend", testExtend},
		{"Delay", testDelay},
		{"DeadLetterOnNack", testDeadOnNack},
		{"DeadLetterOnTimeout", testDeadOnTimeout},
		{"Dedup", testDedup},
		{"Batch", testBatch},
		{"ConcurrentConsumers", testConcurrent},
		{"WakesPromptly", testWakes},
		{"ContextEnds", testContextEnds},
		{"BadInput", testBadInput},
		{"Len", testLen},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newQueue)
		})
	}
}

func enqueue(t *testing.T, q queue.Queue, msgs ...queue.Message) {
	t.Helper()
	if err := q.Enqueue(t.Context(), msgs...); err != nil {
		t.Fatalf("Enqueue = %v; want nil", err)
	}
}

func body(s string) queue.Message { return queue.Message{Body: []byte(s)} }

// receive receives up to max messages within d and fails if none came.
func receive(t *testing.T, q queue.Queue, max int, vis, d time.Duration) []queue.Delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	ds, err := q.Receive(ctx, max, vis)
	if err != nil {
		t.Fatalf("Receive(%d, %v) = %v; want a message within %v", max, vis, err, d)
	}
	if len(ds) == 0 || len(ds) > max {
		t.Fatalf("Receive(%d, %v) returned %d messages", max, vis, len(ds))
	}
	return ds
}

// receiveOne receives exactly one message within d.
func receiveOne(t *testing.T, q queue.Queue, vis, d time.Duration) queue.Delivery {
	t.Helper()
	return receive(t, q, 1, vis, d)[0]
}

// expectNone checks that nothing can be received within d.
func expectNone(t *testing.T, q queue.Queue, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	ds, err := q.Receive(ctx, 10, time.Minute)
	if err == nil {
		t.Fatalf("Receive = %d messages (first %q); want none within %v", len(ds), ds[0].Body, d)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Receive on an empty queue = %v; want context.DeadlineExceeded", err)
	}
}

func ack(t *testing.T, q queue.Queue, ds ...queue.Delivery) {
	t.Helper()
	rs := make([]queue.Receipt, len(ds))
	for i, d := range ds {
		rs[i] = d.Receipt
	}
	if err := q.Ack(t.Context(), rs...); err != nil {
		t.Fatalf("Ack = %v; want nil", err)
	}
}

const long = 5 * time.Second

func testDelivery(t *testing.T, newQueue NewQueue) {
	q := newQueue(t, 3)
	before := time.Now()
	enqueue(t, q, queue.Message{Body: []byte("hello"), Headers: map[string]string{"k": "v", "empty": ""}})
	enqueue(t, q, queue.Message{}) // an empty body is allowed
	d := receiveOne(t, q, time.Minute, long)
	if d.ID == "" || string(d.Body) != "hello" || d.Headers["k"] != "v" || len(d.Headers) != 2 {
		t.Errorf("Receive = ID %q body %q headers %v; want an ID, body hello, headers k=v empty=", d.ID, d.Body, d.Headers)
	}
	if d.Attempt != 1 || d.MaxAttempts != 3 {
		t.Errorf("Attempt, MaxAttempts = %d, %d; want 1, 3", d.Attempt, d.MaxAttempts)
	}
	if d.EnqueuedAt.Before(before.Add(-time.Second)) || d.EnqueuedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("EnqueuedAt = %v; want about %v", d.EnqueuedAt, before)
	}
	e := receiveOne(t, q, time.Minute, long)
	if len(e.Body) != 0 || len(e.Headers) != 0 || e.ID == d.ID {
		t.Errorf("second Receive = ID %q body %q headers %v; want a new ID, empty body and headers", e.ID, e.Body, e.Headers)
	}
	ack(t, q, d, e)
}

func testFIFO(t *testing.T, newQueue NewQueue) {
	q := newQueue(t, 3)
	var batch []queue.Message
	for i := range 10 {
		batch = append(batch, body(strconv.Itoa(i)))
	}
	enqueue(t, q, batch...)
	for i := 10; i < 20; i++ {
		enqueue(t, q, body(strconv.Itoa(i)))
	}
	for i := range 20 {
		d := receiveOne(t, q, time.Minute, long)
		if got, want := string(d.Body), strconv.Itoa(i); got != want {
			t.Fatalf("message %d = %q; want %q (first in, first out)", i, got, want)
		}
		ack(t, q, d)
	}
}

func testAckDeletes(t *testing.T, newQueue NewQueue) {
	q := newQueue(t, 3)
	enqueue(t, q, body("a"))
	d := receiveOne(t, q, 100*time.Millisecond, long)
	ack(t, q, d)
	expectNone(t, q, 300*time.Millisecond) // past the visibility timeout
}

func testVisibility(t *testing.T, newQueue NewQueue) {
	q := newQueue(t, 3)
	enqueue(t, q, body("a"))
	start := time.Now()
	d1 := receiveOne(t, q, 300*time.Millisecond, long)
	expectNone(t, q, 100*time.Millisecond)
	d2 := receiveOne(t, q, time.Minute, long)
	if el := time.Since(start); el < 280*time.Millisecond {
		t.Errorf("redelivered after %v; want not before the 300ms visibility timeout", el)
	}
	if d2.ID != d1.ID || d2.Attempt != 2 || d2.Token == d1.Token {
		t.Errorf("redelivery = ID %q attempt %d token %d; want ID %q attempt 2 and a new token", d2.ID, d2.Attempt, d2.Token, d1.ID)
	}
	if err := q.Ack(t.Context(), d1.Receipt); !errors.Is(err, queue.ErrNotHeld) {
		t.Errorf("Ack of the expired delivery = %v; want ErrNotHeld", err)
	}
	ack(t, q, d2)
	expectNone(t, q, 100*time.Millisecond)
}

func testFencing(t *testing.T, newQueue NewQueue) {
	q := newQueue(t, 3)
	ctx := t.Context()
	enqueue(t, q, body("a"), body("b"))
	d := receiveOne(t, q, time.Minute, long)
	forged := d.Receipt
	forged.Token++
	if err := q.Ack(ctx, forged); !errors.Is(err, queue.ErrNotHeld) {
		t.Errorf("Ack with a wrong token = %v; want ErrNotHeld", err)
	}
	if err := q.Ack(ctx, queue.Receipt{ID: "no-such-id", Token: 1}); !errors.Is(err, queue.ErrNotHeld) {
		t.Errorf("Ack of an unknown ID = %v; want ErrNotHeld", err)
	}
	ack(t, q, d)
	if err := q.Ack(ctx, d.Receipt); !errors.Is(err, queue.ErrNotHeld) {
		t.Errorf("second Ack = %v; want ErrNotHeld", err)
	}
	if err := q.Nack(ctx, d.Receipt, 0); !errors.Is(err, queue.ErrNotHeld) {
		t.Errorf("Nack after Ack = %v; want ErrNotHeld", err)
	}
	if err := q.Extend(ctx, d.Receipt, time.Minute); !errors.Is(err, queue.ErrNotHeld) {
		t.Errorf("Extend after Ack = %v; want ErrNotHeld", err)
	}
	// A batch ack with one void receipt still acks the others.
	e := receiveOne(t, q, time.Minute, long)
	if err := q.Ack(ctx, d.Receipt, e.Receipt); !errors.Is(err, queue.ErrNotHeld) {
		t.Errorf("Ack(void, held) = %v; want ErrNotHeld", err)
	}
	if err := q.Ack(ctx, e.Receipt); !errors.Is(err, queue.ErrNotHeld) {
		t.Errorf("Ack of a receipt acked in a batch = %v; want ErrNotHeld", err)
	}
	// A nacked message's old receipt is void too.
	enqueue(t, q, body("c"))
	f := receiveOne(t, q, time.Minute, long)
	if err := q.Nack(ctx, f.Receipt, time.Minute); err != nil {
		t.Fatalf("Nack = %v", err)
	}
	if err := q.Ack(ctx, f.Receipt); !errors.Is(err, queue.ErrNotHeld) {
		t.Errorf("Ack after Nack = %v; want ErrNotHeld", err)
	}
}

func testNackDelay(t *testing.T, newQueue NewQueue) {
	q := newQueue(t, 3)
	enqueue(t, q, body("a"))
	d := receiveOne(t, q, time.Minute, long)
	start := time.Now()
	if err := q.Nack(t.Context(), d.Receipt, 300*time.Millisecond); err != nil {
		t.Fatalf("Nack = %v", err)
	}
	expectNone(t, q, 100*time.Millisecond)
	e := receiveOne(t, q, time.Minute, long)
	if el := time.Since(start); el < 280*time.Millisecond || el > 2*time.Second {
		t.Errorf("nacked message back after %v; want about 300ms", el)
	}
	if e.ID != d.ID || e.Attempt != 2 || string(e.Body) != "a" {
		t.Errorf("after Nack = ID %q attempt %d body %q; want %q, 2, a", e.ID, e.Attempt, e.Body, d.ID)
	}
	ack(t, q, e)
}

func testNackNow(t *testing.T, newQueue NewQueue) {
	q := newQueue(t, 3)
	enqueue(t, q, body("a"))
	d := receiveOne(t, q, time.Minute, long)
	if err := q.Nack(t.Context(), d.Receipt, 0); err != nil {
		t.Fatalf("Nack = %v", err)
	}
	e := receiveOne(t, q, time.Minute, 500*time.Millisecond)
	if e.ID != d.ID || e.Attempt != 2 {
		t.Errorf("after Nack(0) = ID %q attempt %d; want %q, 2", e.ID, e.Attempt, d.ID)
	}
	ack(t, q, e)
}

func testExtend(t *testing.T, newQueue NewQueue) {
	q := newQueue(t, 3)
	enqueue(t, q, body("a"))
	d := receiveOne(t, q, 200*time.Millisecond, long)
	if err := q.Extend(t.Context(), d.Receipt, time.Minute); err != nil {
		t.Fatalf("Extend = %v", err)
	}
	expectNone(t, q, 400*time.Millisecond)
	ack(t, q, d)
}

func testDelay(t *testing.T, newQueue NewQueue) {
	q := newQueue(t, 3)
	start := time.Now()
	enqueue(t, q, queue.Message{Body: []byte("later"), Delay: 300 * time.Millisecond})
	enqueue(t, q, queue.Message{Body: []byte("at"), RunAt: start.Add(400 * time.Millisecond)})
	enqueue(t, q, queue.Message{Body: []byte("past"), RunAt: start.Add(-time.Hour)})
	d := receiveOne(t, q, time.Minute, long)
	if string(d.Body) != "past" {
		t.Fatalf("first = %q; want past (RunAt in the past means now)", d.Body)
	}
	for _, want := range []struct {
		body string
		at   time.Duration
	}{{"later", 300 * time.Millisecond}, {"at", 400 * time.Millisecond}} {
		d := receiveOne(t, q, time.Minute, long)
		el := time.Since(start)
		if string(d.Body) != want.body || el < want.at-20*time.Millisecond || el > want.at+time.Second {
			t.Errorf("got %q after %v; want %q after %v", d.Body, el, want.body, want.at)
		}
		ack(t, q, d)
	}
}

func testDeadOnNack(t *testing.T, newQueue NewQueue) {
	q := newQueue(t, 2)
	enqueue(t, q, queue.Message{Body: []byte("poison"), Headers: map[string]string{"h": "1"}})
	enqueue(t, q, body("fine"))
	for attempt := 1; attempt <= 2; attempt++ {
		d := receiveOne(t, q, time.Minute, long)
		if string(d.Body) == "fine" {
			ack(t, q, d)
			d = receiveOne(t, q, time.Minute, long)
		}
		if d.Attempt != attempt {
			t.Fatalf("Attempt = %d; want %d", d.Attempt, attempt)
		}
		if err := q.Nack(t.Context(), d.Receipt, 0); err != nil {
			t.Fatalf("Nack = %v", err)
		}
	}
	expectNone(t, q, 200*time.Millisecond)
	checkDead(t, q, "poison")
}

func testDeadOnTimeout(t *testing.T, newQueue NewQueue) {
	q := newQueue(t, 2)
	enqueue(t, q, body("slow"))
	receiveOne(t, q, 100*time.Millisecond, long)
	receiveOne(t, q, 100*time.Millisecond, long)
	expectNone(t, q, 400*time.Millisecond)
	checkDead(t, q, "slow")
}

// checkDead checks that the only dead message has body b, redrives it, and
// receives it again.
func checkDead(t *testing.T, q queue.Queue, b string) {
	t.Helper()
	dl, ok := q.(queue.DeadLetters)
	if !ok {
		t.Log("queue does not implement queue.DeadLetters; dead letters not inspected")
		return
	}
	ctx := t.Context()
	if _, err := dl.Dead(ctx, 0); !errors.Is(err, queue.ErrInvalid) {
		t.Errorf("Dead(0) = %v; want ErrInvalid", err)
	}
	dead, err := dl.Dead(ctx, 10)
	if err != nil || len(dead) != 1 || string(dead[0].Body) != b || dead[0].Attempt != 2 {
		t.Fatalf("Dead = %+v, %v; want one message %q with Attempt 2", dead, err, b)
	}
	if n, err := dl.Redrive(ctx, dead[0].ID, "no-such-id"); n != 1 || err != nil {
		t.Fatalf("Redrive = %d, %v; want 1, nil", n, err)
	}
	if dead, err := dl.Dead(ctx, 10); err != nil || len(dead) != 0 {
		t.Errorf("Dead after Redrive = %d messages, %v; want none", len(dead), err)
	}
	d := receiveOne(t, q, time.Minute, long)
	if string(d.Body) != b || d.Attempt != 1 || d.ID != dead[0].ID {
		t.Errorf("redriven = %q attempt %d; want %q attempt 1", d.Body, d.Attempt, b)
	}
	ack(t, q, d)
}

func testDedup(t *testing.T, newQueue NewQueue) {
	q := newQueue(t, 3)
	enqueue(t, q, queue.Message{Body: []byte("1"), DedupID: "x"})
	enqueue(t, q, queue.Message{Body: []byte("2"), DedupID: "x"}, queue.Message{Body: []byte("3"), DedupID: "y"}, queue.Message{Body: []byte("4"), DedupID: "y"})
	var got []string
	for range 2 {
		d := receiveOne(t, q, time.Minute, long)
		got = append(got, string(d.Body))
		ack(t, q, d)
	}
	// Acking does not end the window.
	enqueue(t, q, queue.Message{Body: []byte("5"), DedupID: "x"})
	expectNone(t, q, 200*time.Millisecond)
	if fmt.Sprint(got) != "[1 3]" {
		t.Errorf("delivered %v; want [1 3]", got)
	}
}

func testBatch(t *testing.T, newQueue NewQueue) {
	q := newQueue(t, 3)
	var msgs []queue.Message
	for i := range 100 {
		msgs = append(msgs, body(strconv.Itoa(i)))
	}
	enqueue(t, q, msgs...)
	var all []queue.Delivery
	for len(all) < 100 {
		ds := receive(t, q, 30, time.Minute, long)
		if len(ds) != min(30, 100-len(all)) {
			t.Fatalf("Receive(30) = %d messages with %d ready; want %d", len(ds), 100-len(all), min(30, 100-len(all)))
		}
		all = append(all, ds...)
	}
	for i, d := range all {
		if string(d.Body) != strconv.Itoa(i) {
			t.Fatalf("message %d = %q; want %d", i, d.Body, i)
		}
	}
	ack(t, q, all...)
	expectNone(t, q, 100*time.Millisecond)
}

func testConcurrent(t *testing.T, newQueue NewQueue) {
	q := newQueue(t, 3)
	const n, consumers = 1000, 8
	var msgs []queue.Message
	for i := range n {
		msgs = append(msgs, body(strconv.Itoa(i)))
	}
	var mu sync.Mutex
	seen := make(map[string]int)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var wg sync.WaitGroup
	for c := range consumers {
		wg.Go(func() {
			for {
				ds, err := q.Receive(ctx, 1+c%4, time.Minute)
				if err != nil {
					return
				}
				mu.Lock()
				for _, d := range ds {
					seen[string(d.Body)]++
				}
				done := len(seen) == n
				mu.Unlock()
				rs := make([]queue.Receipt, len(ds))
				for i, d := range ds {
					rs[i] = d.Receipt
				}
				if err := q.Ack(ctx, rs...); err != nil && ctx.Err() == nil {
					t.Errorf("Ack = %v", err)
				}
				if done {
					cancel()
				}
			}
		})
	}
	for i := 0; i < n; i += 100 {
		enqueue(t, q, msgs[i:i+100]...)
	}
	select {
	case <-ctx.Done():
	case <-time.After(20 * time.Second):
		cancel()
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("consumers received %d distinct messages; want %d", len(seen), n)
	}
	for b, k := range seen {
		if k != 1 {
			t.Errorf("message %s received %d times inside its visibility timeout; want once", b, k)
		}
	}
}

func testWakes(t *testing.T, newQueue NewQueue) {
	q := newQueue(t, 3)
	type result struct {
		d   []queue.Delivery
		err error
		at  time.Time
	}
	got := make(chan result, 1)
	ready := make(chan struct{})
	go func() {
		close(ready)
		ctx, cancel := context.WithTimeout(t.Context(), long)
		defer cancel()
		ds, err := q.Receive(ctx, 1, time.Minute)
		got <- result{ds, err, time.Now()}
	}()
	<-ready
	// Give the receiver time to block: the wake-up must not depend on it.
	select {
	case r := <-got:
		t.Fatalf("Receive on an empty queue returned %v, %v", r.d, r.err)
	case <-time.After(300 * time.Millisecond):
	}
	sent := time.Now()
	enqueue(t, q, body("wake"))
	r := <-got
	if r.err != nil || string(r.d[0].Body) != "wake" {
		t.Fatalf("Receive = %v, %v; want the message", r.d, r.err)
	}
	if lat := r.at.Sub(sent); lat > time.Second {
		t.Errorf("a blocked Receive picked up a new message after %v; want promptly", lat)
	}
	ack(t, q, r.d...)
}

func testContextEnds(t *testing.T, newQueue NewQueue) {
	q := newQueue(t, 3)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := q.Receive(ctx, 1, time.Minute); !errors.Is(err, context.Canceled) {
		t.Errorf("Receive with a cancelled context = %v; want context.Canceled", err)
	}
	expectNone(t, q, 50*time.Millisecond)
}

func testBadInput(t *testing.T, newQueue NewQueue) {
	q := newQueue(t, 3)
	ctx := t.Context()
	big := bytes.Repeat([]byte{'x'}, queue.DefaultMaxBodySize)
	for _, tc := range []struct {
		name string
		msgs []queue.Message
		want error
	}{
		{"negative delay", []queue.Message{{Delay: -time.Second}}, queue.ErrInvalid},
		{"delay and RunAt", []queue.Message{{Delay: time.Second, RunAt: time.Now()}}, queue.ErrInvalid},
		{"body over the limit", []queue.Message{{Body: append(big, 'x')}}, queue.ErrTooLarge},
		{"one bad message in a batch", []queue.Message{body("ok"), {Delay: -1}}, queue.ErrInvalid},
	} {
		if err := q.Enqueue(ctx, tc.msgs...); !errors.Is(err, tc.want) {
			t.Errorf("Enqueue(%s) = %v; want %v", tc.name, err, tc.want)
		}
	}
	expectNone(t, q, 100*time.Millisecond) // nothing of a failed batch was enqueued
	// A queue that took these arguments would wait for a message: bound it.
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := q.Receive(short, 0, time.Minute); !errors.Is(err, queue.ErrInvalid) {
		t.Errorf("Receive(max 0) = %v; want ErrInvalid", err)
	}
	if _, err := q.Receive(short, 1, 0); !errors.Is(err, queue.ErrInvalid) {
		t.Errorf("Receive(visibility 0) = %v; want ErrInvalid", err)
	}
	enqueue(t, q, queue.Message{Body: big, Headers: map[string]string{"": "empty key"}})
	d := receiveOne(t, q, time.Minute, long)
	if !bytes.Equal(d.Body, big) || d.Headers[""] != "empty key" {
		t.Errorf("a body at the limit came back with %d bytes, headers %v", len(d.Body), d.Headers)
	}
	if err := q.Nack(ctx, d.Receipt, -time.Second); !errors.Is(err, queue.ErrInvalid) {
		t.Errorf("Nack(negative delay) = %v; want ErrInvalid", err)
	}
	if err := q.Extend(ctx, d.Receipt, -time.Second); !errors.Is(err, queue.ErrInvalid) {
		t.Errorf("Extend(negative) = %v; want ErrInvalid", err)
	}
	ack(t, q, d)
	if err := q.Enqueue(ctx); err != nil {
		t.Errorf("Enqueue() with no messages = %v; want nil", err)
	}
}

// A lener counts a queue's messages by state, as queue.Local and
// redisqueue.Queue do.
type lener interface {
	Len(ctx context.Context) (queue.Counts, error)
}

func testLen(t *testing.T, newQueue NewQueue) {
	q := newQueue(t, 3)
	l, ok := q.(lener)
	if !ok {
		t.Skip("queue has no Len(ctx) (queue.Counts, error); counts not checked")
	}
	check := func(step string, want queue.Counts) {
		t.Helper()
		if c, err := l.Len(t.Context()); err != nil || c != want {
			t.Errorf("Len %s = %+v, %v; want %+v", step, c, err, want)
		}
	}
	check("when new", queue.Counts{})
	enqueue(t, q, body("a"), body("b"), queue.Message{Body: []byte("later"), Delay: time.Hour})
	check("after enqueueing two and one delayed", queue.Counts{Ready: 2, Delayed: 1})
	d := receiveOne(t, q, time.Minute, long)
	check("with one received", queue.Counts{Ready: 1, Delayed: 1, InFlight: 1})
	ack(t, q, d)
	check("after its ack", queue.Counts{Ready: 1, Delayed: 1})
}
