package queue_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/distkit/distkit/queue"
	"github.com/distkit/distkit/queue/queuetest"
)

func TestLocalConformance(t *testing.T) {
	queuetest.Run(t, func(t *testing.T, maxAttempts int) queue.Queue {
		return queue.NewLocal(queue.WithMaxAttempts(maxAttempts))
	})
}

func TestLocalBackPressure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := queue.NewLocal(queue.WithCapacity(2))
		ctx := t.Context()
		if err := q.Enqueue(ctx, queue.Message{Body: []byte("a")}, queue.Message{Body: []byte("b")}); err != nil {
			t.Fatal(err)
		}
		if err := q.Enqueue(ctx, make([]queue.Message, 3)...); !errors.Is(err, queue.ErrFull) {
			t.Errorf("Enqueue of a batch over the capacity = %v; want ErrFull", err)
		}
		enqueued := make(chan error, 1)
		go func() { enqueued <- q.Enqueue(ctx, queue.Message{Body: []byte("c")}) }()
		synctest.Wait()
		select {
		case err := <-enqueued:
			t.Fatalf("Enqueue on a full queue returned %v; want it to wait", err)
		default:
		}
		ds, err := q.Receive(ctx, 1, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		select {
		case err := <-enqueued:
			t.Fatalf("Enqueue returned %v while the received message still takes room", err)
		default:
		}
		if err := q.Ack(ctx, ds[0].Receipt); err != nil {
			t.Fatal(err)
		}
		if err := <-enqueued; err != nil {
			t.Errorf("Enqueue after an Ack freed room = %v; want nil", err)
		}
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if err := q.Enqueue(cctx, queue.Message{}); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Enqueue on a full queue until ctx ends = %v; want DeadlineExceeded", err)
		}
	})
}

func TestLocalDeadLettersFreeRoom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := queue.NewLocal(queue.WithCapacity(1), queue.WithBlock(false), queue.WithMaxAttempts(1))
		ctx := t.Context()
		if err := q.Enqueue(ctx, queue.Message{Body: []byte("a")}); err != nil {
			t.Fatal(err)
		}
		if err := q.Enqueue(ctx, queue.Message{}); !errors.Is(err, queue.ErrFull) {
			t.Errorf("Enqueue on a full non-blocking queue = %v; want ErrFull", err)
		}
		ds, _ := q.Receive(ctx, 1, time.Second)
		time.Sleep(2 * time.Second) // the visibility expires on the last attempt
		if err := q.Enqueue(ctx, queue.Message{Body: []byte("b")}); err != nil {
			t.Errorf("Enqueue after the only message died = %v; want nil (dead letters take no room)", err)
		}
		if c := counts(q); c != (queue.Counts{Ready: 1, Dead: 1}) {
			t.Errorf("Len = %+v; want 1 ready, 1 dead", c)
		}
		// Redriving may go over the capacity.
		if n, _ := q.Redrive(ctx, ds[0].ID); n != 1 {
			t.Errorf("Redrive = %d; want 1", n)
		}
		if c := counts(q); c != (queue.Counts{Ready: 2}) {
			t.Errorf("Len after Redrive = %+v; want 2 ready", c)
		}
	})
}

func TestLocalDedupWindowEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := queue.NewLocal(queue.WithDedupWindow(time.Minute))
		ctx := t.Context()
		m := queue.Message{DedupID: "x"}
		for _, at := range []time.Duration{0, 30 * time.Second, 31 * time.Second} {
			time.Sleep(at)
			if err := q.Enqueue(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		if c := counts(q); c.Ready != 2 {
			t.Errorf("Len = %+v; want 2 ready: one at 0s, one after the window ended at 60s", c)
		}
	})
}

func TestLocalBodyLimit(t *testing.T) {
	q := queue.NewLocal(queue.WithMaxBodySize(3))
	if err := q.Enqueue(t.Context(), queue.Message{Body: []byte("abcd")}); !errors.Is(err, queue.ErrTooLarge) {
		t.Errorf("Enqueue of 4 bytes with a limit of 3 = %v; want ErrTooLarge", err)
	}
	if err := q.Enqueue(t.Context(), queue.Message{Body: []byte("abc")}); err != nil {
		t.Errorf("Enqueue at the limit = %v; want nil", err)
	}
}

func TestLocalDelaysUseOneHeap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := queue.NewLocal()
		ctx := t.Context()
		start := time.Now()
		// Out of order, so the heap must reorder them.
		for _, d := range []int{5, 1, 4, 2, 3, 0} {
			if err := q.Enqueue(ctx, queue.Message{Body: []byte{byte('0' + d)}, Delay: time.Duration(d) * time.Second}); err != nil {
				t.Fatal(err)
			}
		}
		for want := range 6 {
			ds, err := q.Receive(ctx, 1, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if got := int(ds[0].Body[0] - '0'); got != want || time.Since(start) != time.Duration(want)*time.Second {
				t.Errorf("got message %d at %v; want %d at %ds", got, time.Since(start), want, want)
			}
			if want%2 == 0 {
				_ = q.Ack(ctx, ds[0].Receipt)
			} else {
				_ = q.Extend(ctx, ds[0].Receipt, 10*time.Hour) // stays in the heap
			}
		}
		if c := counts(q); c != (queue.Counts{InFlight: 3}) {
			t.Errorf("Len = %+v; want 3 in flight", c)
		}
	})
}

func TestNewLocalPanicsOnBadConfig(t *testing.T) {
	for name, o := range map[string]queue.LocalOption{
		"capacity": queue.WithCapacity(0),
		"attempts": queue.WithMaxAttempts(0),
		"body":     queue.WithMaxBodySize(-1),
		"window":   queue.WithDedupWindow(-1),
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewLocal(%s) did not panic", name)
				}
			}()
			queue.NewLocal(o)
		}()
	}
}

// counts returns what q.Len reports, for queues that cannot fail to.
func counts(q interface {
	Len(context.Context) (queue.Counts, error)
}) queue.Counts {
	c, _ := q.Len(context.Background())
	return c
}
