package queue_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/distkit/distkit/queue"
)

func TestLocalStats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		q := queue.NewLocal(queue.WithCapacity(3), queue.WithMaxAttempts(2))
		var want queue.LocalStats
		check := func(step string) {
			t.Helper()
			if got := q.Stats(); got != want {
				t.Errorf("after %s: Stats = %+v; want %+v", step, got, want)
			}
		}
		check("NewLocal")
		receive := func(visibility time.Duration) queue.Delivery {
			t.Helper()
			ds, err := q.Receive(ctx, 1, visibility)
			if err != nil {
				t.Fatal(err)
			}
			return ds[0]
		}

		err := q.Enqueue(ctx, queue.Message{Body: []byte("a")},
			queue.Message{Body: []byte("b"), DedupID: "x"}, queue.Message{Body: []byte("c"), DedupID: "x"})
		if err != nil {
			t.Fatal(err)
		}
		want.Enqueued, want.Deduplicated = 2, 1
		check("Enqueue with a duplicate")
		if err := q.Enqueue(ctx, make([]queue.Message, 4)...); !errors.Is(err, queue.ErrFull) {
			t.Fatalf("Enqueue over the capacity = %v; want ErrFull", err)
		}
		if err := q.Enqueue(ctx, queue.Message{Delay: -1}); !errors.Is(err, queue.ErrInvalid) {
			t.Fatalf("Enqueue with a negative delay = %v; want ErrInvalid", err)
		}
		want.Full = 1
		check("refused Enqueues")

		ds, err := q.Receive(ctx, 2, time.Minute)
		if err != nil || len(ds) != 2 {
			t.Fatalf("Receive = %d, %v; want 2 messages", len(ds), err)
		}
		want.Delivered = 2
		check("Receive")
		if err := q.Ack(ctx, ds[0].Receipt, queue.Receipt{ID: "nope"}); !errors.Is(err, queue.ErrNotHeld) {
			t.Fatalf("Ack with a void receipt = %v; want ErrNotHeld", err)
		}
		want.Acked = 1
		check("Ack")
		if err := q.Nack(ctx, ds[1].Receipt, 0); err != nil {
			t.Fatal(err)
		}
		if err := q.Nack(ctx, ds[1].Receipt, 0); !errors.Is(err, queue.ErrNotHeld) {
			t.Fatalf("second Nack = %v; want ErrNotHeld", err)
		}
		want.Nacked = 1
		check("Nack")

		// The second delivery times out: its last attempt, so it is dead.
		d := receive(time.Second)
		want.Delivered++
		time.Sleep(time.Second)
		want.Expired, want.Dead = 1, 1
		check("an expired last attempt")
		if n, err := q.Redrive(ctx, d.ID, "nope"); n != 1 || err != nil {
			t.Fatalf("Redrive = %d, %v; want 1", n, err)
		}
		want.Redriven = 1
		check("Redrive")

		// Redriven, it times out once (and is ready again), then a Nack on
		// its last attempt kills it.
		receive(time.Second)
		time.Sleep(time.Second)
		d = receive(time.Minute)
		if err := q.Nack(ctx, d.Receipt, time.Second); err != nil {
			t.Fatal(err)
		}
		want.Delivered += 2
		want.Expired++
		want.Nacked++
		want.Dead++
		check("a Nack of a last attempt")

		// Three messages fill the Local: a fourth waits, once, for room.
		if err := q.Enqueue(ctx, make([]queue.Message, 3)...); err != nil {
			t.Fatal(err)
		}
		want.Enqueued += 3
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if err := q.Enqueue(cctx, queue.Message{}); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Enqueue on a full Local = %v; want DeadlineExceeded", err)
		}
		want.Blocked = 1
		check("a blocked Enqueue")

		nb := queue.NewLocal(queue.WithCapacity(1), queue.WithBlock(false))
		nb.Enqueue(ctx, queue.Message{})
		if err := nb.Enqueue(ctx, queue.Message{}); !errors.Is(err, queue.ErrFull) {
			t.Fatalf("Enqueue on a full non-blocking Local = %v; want ErrFull", err)
		}
		if got, want := nb.Stats(), (queue.LocalStats{Enqueued: 1, Full: 1}); got != want {
			t.Errorf("non-blocking Local: Stats = %+v; want %+v", got, want)
		}
	})
}
