package redisqueue_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/distkit/distkit/internal/redistest"
	"github.com/distkit/distkit/queue"
	"github.com/distkit/distkit/queue/queuetest"
	"github.com/distkit/distkit/queue/redisqueue"
	"github.com/redis/go-redis/v9"
)

func TestConformance(t *testing.T) {
	rdb := redistest.Start(t)
	queuetest.Run(t, func(t *testing.T, maxAttempts int) queue.Queue {
		return redisqueue.New(rdb, t.Name(), redisqueue.WithMaxAttempts(maxAttempts))
	})
}

func TestDurableAcrossRestart(t *testing.T) {
	srv := redistest.StartServer(t, redistest.WithAppendOnly(true))
	q := redisqueue.New(srv.Client(), "jobs")
	ctx := t.Context()
	var msgs []queue.Message
	for i := range 10 {
		msgs = append(msgs, queue.Message{Body: []byte{byte('a' + i)}, Headers: map[string]string{"n": strconv.Itoa(i)}})
	}
	msgs = append(msgs, queue.Message{Body: []byte("later"), Delay: time.Hour})
	if err := q.Enqueue(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	ds, err := q.Receive(ctx, 4, time.Hour)
	if err != nil || len(ds) != 4 {
		t.Fatalf("Receive = %d, %v", len(ds), err)
	}
	if err := q.Ack(ctx, ds[0].Receipt, ds[1].Receipt); err != nil {
		t.Fatal(err)
	}
	srv.Restart()
	c, err := q.Len(ctx)
	if want := (queue.Counts{Ready: 6, Delayed: 1, InFlight: 2}); err != nil || c != want {
		t.Fatalf("Len after restart = %+v, %v; want %+v", c, err, want)
	}
	// The receipts of the deliveries in flight still hold.
	if err := q.Ack(ctx, ds[2].Receipt, ds[3].Receipt); err != nil {
		t.Errorf("Ack after restart = %v; want nil", err)
	}
	rest, err := q.Receive(ctx, 10, time.Hour)
	if err != nil || len(rest) != 6 || string(rest[0].Body) != "e" || rest[0].Headers["n"] != "4" {
		t.Fatalf("Receive after restart = %+v, %v; want the 6 ready messages from e", rest, err)
	}
}

// TestZombieAcks freezes a consumer past its visibility timeout, lets
// another consumer take its messages, and checks that none of the frozen
// consumer's acks, nacks or extends succeeds.
func TestZombieAcks(t *testing.T) {
	rdb := redistest.Start(t)
	q := redisqueue.New(rdb, "zombie")
	ctx := t.Context()
	var msgs []queue.Message
	for i := range 100 {
		msgs = append(msgs, queue.Message{Body: []byte(strconv.Itoa(i))})
	}
	if err := q.Enqueue(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	frozen, err := q.Receive(ctx, 100, 200*time.Millisecond)
	if err != nil || len(frozen) != 100 {
		t.Fatalf("Receive = %d, %v", len(frozen), err)
	}
	// The frozen consumer is paused; another takes over after the timeout.
	var live []queue.Delivery
	for len(live) < 100 {
		ds, err := q.Receive(ctx, 100, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		live = append(live, ds...)
	}
	zombie := 0
	for i, d := range frozen {
		var err error
		switch i % 3 {
		case 0:
			err = q.Ack(ctx, d.Receipt)
		case 1:
			err = q.Nack(ctx, d.Receipt, 0)
		default:
			err = q.Extend(ctx, d.Receipt, time.Minute)
		}
		if !errors.Is(err, queue.ErrNotHeld) {
			zombie++
		}
	}
	if zombie != 0 {
		t.Errorf("%d of 100 settles by the frozen consumer succeeded; want 0", zombie)
	}
	rs := make([]queue.Receipt, len(live))
	for i, d := range live {
		rs[i] = d.Receipt
	}
	if err := q.Ack(ctx, rs...); err != nil {
		t.Errorf("Ack by the live consumer = %v; want nil", err)
	}
	if c, err := q.Len(ctx); err != nil || c != (queue.Counts{}) {
		t.Errorf("Len = %+v, %v; want empty", c, err)
	}
}

func TestNamedQueuesAreSeparateAndHashTagged(t *testing.T) {
	rdb := redistest.Start(t)
	ctx := t.Context()
	a := redisqueue.New(rdb, "a", redisqueue.WithPrefix("app:"))
	b := redisqueue.New(rdb, "b", redisqueue.WithPrefix("app:"))
	if err := a.Enqueue(ctx, queue.Message{Body: []byte("for a")}); err != nil {
		t.Fatal(err)
	}
	if err := b.Enqueue(ctx, queue.Message{Body: []byte("for b")}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []*redisqueue.Queue{a, b} {
		ds, err := q.Receive(ctx, 10, time.Minute)
		if err != nil || len(ds) != 1 || string(ds[0].Body) != "for "+q.Name() {
			t.Errorf("%s.Receive = %+v, %v; want only its own message", q.Name(), ds, err)
		}
	}
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "app:{a}:") && !strings.HasPrefix(k, "app:{b}:") {
			t.Errorf("key %q lacks the prefix and the queue's hash tag", k)
		}
	}
}

func TestErrorsWrapTransportFailures(t *testing.T) {
	srv := redistest.StartServer(t)
	opts := srv.Options()
	opts.MaxRetries = -1
	opts.DialerRetries = 1
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	q := redisqueue.New(rdb, "down")
	srv.Kill()
	r := queue.Receipt{ID: "1", Token: 1}
	for name, f := range map[string]func(context.Context) error{
		"Enqueue": func(ctx context.Context) error { return q.Enqueue(ctx, queue.Message{}) },
		"Ack":     func(ctx context.Context) error { return q.Ack(ctx, r) },
		"Nack":    func(ctx context.Context) error { return q.Nack(ctx, r, 0) },
		"Extend":  func(ctx context.Context) error { return q.Extend(ctx, r, time.Second) },
		"Redrive": func(ctx context.Context) error { _, err := q.Redrive(ctx, "1"); return err },
		"Dead":    func(ctx context.Context) error { _, err := q.Dead(ctx, 1); return err },
		"Len":     func(ctx context.Context) error { _, err := q.Len(ctx); return err },
		"Receive": func(ctx context.Context) error { _, err := q.Receive(ctx, 1, time.Second); return err },
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		err := f(ctx)
		cancel()
		if err == nil || !strings.HasPrefix(err.Error(), "redisqueue: ") || errors.Is(err, queue.ErrNotHeld) {
			t.Errorf("%s on a dead server = %v; want a wrapped transport error", name, err)
		}
	}
}

func TestNewPanicsOnBadConfig(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{})
	defer rdb.Close()
	for name, f := range map[string]func(){
		"empty name":   func() { redisqueue.New(rdb, "") },
		"attempts":     func() { redisqueue.New(rdb, "q", redisqueue.WithMaxAttempts(0)) },
		"body":         func() { redisqueue.New(rdb, "q", redisqueue.WithMaxBodySize(-1)) },
		"dedup window": func() { redisqueue.New(rdb, "q", redisqueue.WithDedupWindow(-1)) },
		"poll":         func() { redisqueue.New(rdb, "q", redisqueue.WithPollInterval(0)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%s) did not panic", name)
				}
			}()
			f()
		}()
	}
}

func TestWorkerOnRedis(t *testing.T) {
	rdb := redistest.Start(t)
	q := redisqueue.New(rdb, "work", redisqueue.WithMaxAttempts(2))
	ctx := t.Context()
	var msgs []queue.Message
	for i := range 200 {
		msgs = append(msgs, queue.Message{Body: []byte(strconv.Itoa(i))})
	}
	if err := q.Enqueue(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	w := queue.NewWorker(q, func(ctx context.Context, d queue.Delivery) error {
		if d.Body[0] == '7' {
			return errors.New("sevens fail")
		}
		return nil
	}, queue.WithConcurrency(4), queue.WithRetryPolicy(queue.RetryFunc(func(int) time.Duration { return 0 })))
	done := make(chan struct{})
	go func() { w.Run(runCtx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := q.Len(ctx)
		if err == nil && c == (queue.Counts{Dead: 11}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Len = %+v, %v; want 11 dead and nothing else", c, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	<-done
	if s := w.Stats(); s != (queue.WorkerStats{Processed: 189, Failed: 22, Retried: 11, Dead: 11}) {
		t.Errorf("Stats = %+v; want 189 processed, 22 failed, 11 retried, 11 dead", s)
	}
	ds, void, err := q.AckReceive(ctx, []queue.Receipt{{ID: "1", Token: 1}}, 1, time.Second)
	if err != nil || void != 1 || len(ds) != 0 {
		t.Errorf("AckReceive(void receipt) on an empty queue = %v, %d, %v; want none, 1, nil", ds, void, err)
	}
	if _, _, err := q.AckReceive(ctx, nil, 0, time.Second); !errors.Is(err, queue.ErrInvalid) {
		t.Errorf("AckReceive(max 0) = %v; want ErrInvalid", err)
	}
}

// TestBatchAckSparesRedelivered acks a batch that mixes a void receipt, whose
// message was redelivered since, with held ones, then follows a message
// through death and two redrives: the void receipt must not delete the
// message, attempts restart after each redrive while tokens keep growing, and
// nothing is left behind once everything is acked.
func TestBatchAckSparesRedelivered(t *testing.T) {
	rdb := redistest.Start(t)
	q := redisqueue.New(rdb, "mixed", redisqueue.WithMaxAttempts(2))
	ctx := t.Context()
	// Four receipts or more take the script's batch path.
	msgs := []queue.Message{{Body: []byte("a")}, {Body: []byte("b")}, {Body: []byte("c")}, {Body: []byte("d")}, {Body: []byte("e")}}
	if err := q.Enqueue(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	first, err := q.Receive(ctx, len(msgs), time.Minute)
	if err != nil || len(first) != len(msgs) {
		t.Fatalf("Receive = %d, %v; want %d", len(first), err, len(msgs))
	}
	a := first[0]
	if err := q.Nack(ctx, a.Receipt, 0); err != nil {
		t.Fatal(err)
	}
	again, err := q.Receive(ctx, 2, time.Minute)
	if err != nil || len(again) != 1 || again[0].ID != a.ID || again[0].Attempt != 2 || again[0].Token <= a.Token {
		t.Fatalf("Receive after Nack = %+v, %v; want %s again at attempt 2 with a new token", again, err, a.ID)
	}
	rs := []queue.Receipt{first[1].Receipt, first[2].Receipt, a.Receipt, first[3].Receipt, first[4].Receipt}
	if err := q.Ack(ctx, rs...); !errors.Is(err, queue.ErrNotHeld) {
		t.Errorf("Ack(held, held, void, held, held) = %v; want ErrNotHeld", err)
	}
	if c, err := q.Len(ctx); err != nil || c != (queue.Counts{InFlight: 1}) {
		t.Errorf("Len after the batch ack = %+v, %v; want only a in flight", c, err)
	}
	// The second delivery of a is its last: letting it fail kills it.
	if err := q.Nack(ctx, again[0].Receipt, 0); err != nil {
		t.Fatalf("Nack of the live delivery = %v; want nil (the void ack must spare it)", err)
	}
	token := again[0].Token
	for round := range 2 {
		dead, err := q.Dead(ctx, 10)
		if err != nil || len(dead) != 1 || string(dead[0].Body) != "a" || dead[0].Attempt != 2 {
			t.Fatalf("round %d: Dead = %+v, %v; want a at attempt 2", round, dead, err)
		}
		if n, err := q.Redrive(ctx, a.ID); n != 1 || err != nil {
			t.Fatalf("round %d: Redrive = %d, %v; want 1", round, n, err)
		}
		ds, err := q.Receive(ctx, 2, time.Minute)
		if err != nil || len(ds) != 1 || string(ds[0].Body) != "a" || ds[0].Attempt != 1 || ds[0].Token <= token {
			t.Fatalf("round %d: Receive after Redrive = %+v, %v; want a at attempt 1 with a new token", round, ds, err)
		}
		token = ds[0].Token
		if round == 0 {
			if err := q.Nack(ctx, ds[0].Receipt, 0); err != nil {
				t.Fatal(err)
			}
			ds, err = q.Receive(ctx, 2, time.Minute)
			if err != nil || len(ds) != 1 || ds[0].Attempt != 2 {
				t.Fatalf("Receive = %+v, %v; want a at attempt 2", ds, err)
			}
			token = ds[0].Token
			if err := q.Nack(ctx, ds[0].Receipt, 0); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := q.Ack(ctx, ds[0].Receipt); err != nil {
			t.Fatalf("Ack after Redrive = %v", err)
		}
	}
	if c, err := q.Len(ctx); err != nil || c != (queue.Counts{}) {
		t.Errorf("Len = %+v, %v; want empty", c, err)
	}
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if !strings.HasSuffix(k, ":seq") && !strings.HasSuffix(k, ":notify") {
			t.Errorf("key %s left behind", k)
		}
	}
}

// TestBatchAckWithExpired acks a batch while some of its deliveries have
// expired but no Receive has acted on them yet: those receipts are void and
// their messages are redelivered, the held one is acked.
func TestBatchAckWithExpired(t *testing.T) {
	rdb := redistest.Start(t)
	q := redisqueue.New(rdb, "expired")
	ctx := t.Context()
	msgs := []queue.Message{{Body: []byte("a")}, {Body: []byte("b")}, {Body: []byte("c")}, {Body: []byte("d")}}
	if err := q.Enqueue(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	short, err := q.Receive(ctx, 3, time.Millisecond)
	if err != nil || len(short) != 3 {
		t.Fatalf("Receive = %d, %v; want 3", len(short), err)
	}
	long, err := q.Receive(ctx, 1, time.Minute)
	if err != nil || len(long) != 1 {
		t.Fatalf("Receive = %d, %v; want 1", len(long), err)
	}
	// Extend does not redeliver, so its ErrNotHeld shows the expiry alone.
	for deadline := time.Now().Add(5 * time.Second); ; {
		err := q.Extend(ctx, short[2].Receipt, time.Millisecond)
		if errors.Is(err, queue.ErrNotHeld) {
			break
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("Extend = %v; want ErrNotHeld within 5s", err)
		}
	}
	rs := []queue.Receipt{short[0].Receipt, long[0].Receipt, short[1].Receipt, short[2].Receipt}
	if err := q.Ack(ctx, rs...); !errors.Is(err, queue.ErrNotHeld) {
		t.Errorf("Ack(expired, held, expired, expired) = %v; want ErrNotHeld", err)
	}
	ds, err := q.Receive(ctx, 10, time.Minute)
	if err != nil || len(ds) != 3 {
		t.Fatalf("Receive after the expiry = %d, %v; want the 3 expired messages", len(ds), err)
	}
	for i, d := range ds {
		if d.ID != short[i].ID || d.Attempt != 2 || string(d.Body) != string(short[i].Body) {
			t.Errorf("redelivery %d = %s attempt %d %q; want %s attempt 2 %q", i, d.ID, d.Attempt, d.Body, short[i].ID, short[i].Body)
		}
		if err := q.Ack(ctx, d.Receipt); err != nil {
			t.Errorf("Ack of redelivery %d = %v", i, err)
		}
	}
	if c, err := q.Len(ctx); err != nil || c != (queue.Counts{}) {
		t.Errorf("Len = %+v, %v; want empty", c, err)
	}
}

// TestForgedReceipts settles receipts whose ID carries another delivery's
// token: none may take effect, alone or in a batch.
func TestForgedReceipts(t *testing.T) {
	rdb := redistest.Start(t)
	q := redisqueue.New(rdb, "forged")
	ctx := t.Context()
	if err := q.Enqueue(ctx, queue.Message{Body: []byte("a")}); err != nil {
		t.Fatal(err)
	}
	ds, err := q.Receive(ctx, 1, time.Minute)
	if err != nil || len(ds) != 1 {
		t.Fatalf("Receive = %d, %v; want 1", len(ds), err)
	}
	if err := q.Nack(ctx, ds[0].Receipt, 0); err != nil {
		t.Fatal(err)
	}
	if ds, err = q.Receive(ctx, 1, time.Minute); err != nil || len(ds) != 1 || ds[0].Token == 1 {
		t.Fatalf("Receive = %+v, %v; want a second delivery", ds, err)
	}
	d := ds[0]
	forged := queue.Receipt{ID: d.ID + ":" + strconv.FormatUint(d.Token, 10), Token: 1}
	if err := q.Ack(ctx, forged); !errors.Is(err, queue.ErrNotHeld) {
		t.Errorf("Ack(forged) = %v; want ErrNotHeld", err)
	}
	if err := q.Ack(ctx, forged, forged, forged, forged); !errors.Is(err, queue.ErrNotHeld) {
		t.Errorf("Ack(4 forged) = %v; want ErrNotHeld", err)
	}
	if err := q.Extend(ctx, forged, time.Minute); !errors.Is(err, queue.ErrNotHeld) {
		t.Errorf("Extend(forged) = %v; want ErrNotHeld", err)
	}
	if err := q.Nack(ctx, forged, 0); !errors.Is(err, queue.ErrNotHeld) {
		t.Errorf("Nack(forged) = %v; want ErrNotHeld", err)
	}
	if err := q.Ack(ctx, d.Receipt); err != nil {
		t.Errorf("Ack of the real delivery = %v; want nil", err)
	}
	if c, err := q.Len(ctx); err != nil || c != (queue.Counts{}) {
		t.Errorf("Len = %+v, %v; want empty", c, err)
	}
}
