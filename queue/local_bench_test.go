package queue_test

import (
	"context"
	"testing"
	"time"

	"github.com/distkit/distkit/queue"
)

func TestLocalExtendAndNackDoNotAllocate(t *testing.T) {
	q := queue.NewLocal()
	ctx := context.Background()
	if err := q.Enqueue(ctx, queue.Message{Body: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	ds, _ := q.Receive(ctx, 1, time.Minute)
	r := ds[0].Receipt
	if n := testing.AllocsPerRun(100, func() { _ = q.Extend(ctx, r, time.Minute) }); n != 0 {
		t.Errorf("Extend allocates %v times per call; want 0", n)
	}
	void := queue.Receipt{ID: r.ID, Token: r.Token + 1}
	if n := testing.AllocsPerRun(100, func() { _ = q.Ack(ctx, void) }); n != 0 {
		t.Errorf("Ack of a void receipt allocates %v times per call; want 0", n)
	}
}

func TestLocalCycleAllocations(t *testing.T) {
	q := queue.NewLocal()
	ctx := context.Background()
	msg := queue.Message{Body: []byte("x")}
	// One message costs its entry, its ID string and the delivery slice.
	n := testing.AllocsPerRun(1000, func() {
		_ = q.Enqueue(ctx, msg)
		ds, _ := q.Receive(ctx, 1, time.Minute)
		_ = q.Ack(ctx, ds[0].Receipt)
	})
	if n > 3 {
		t.Errorf("enqueue, receive and ack allocate %v times; want at most 3", n)
	}
}

func BenchmarkLocalCycle(b *testing.B) {
	ctx := context.Background()
	msg := queue.Message{Body: []byte("x")}
	b.Run("serial", func(b *testing.B) {
		q := queue.NewLocal()
		b.ReportAllocs()
		for b.Loop() {
			_ = q.Enqueue(ctx, msg)
			ds, _ := q.Receive(ctx, 1, time.Minute)
			_ = q.Ack(ctx, ds[0].Receipt)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		q := queue.NewLocal()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = q.Enqueue(ctx, msg)
				ds, _ := q.Receive(ctx, 1, time.Minute)
				_ = q.Ack(ctx, ds[0].Receipt)
			}
		})
	})
	b.Run("batch=100", func(b *testing.B) {
		q := queue.NewLocal()
		msgs := make([]queue.Message, 100)
		rs := make([]queue.Receipt, 100)
		b.ReportAllocs()
		for b.Loop() {
			_ = q.Enqueue(ctx, msgs...)
			ds, _ := q.Receive(ctx, 100, time.Minute)
			for i, d := range ds {
				rs[i] = d.Receipt
			}
			_ = q.Ack(ctx, rs[:len(ds)]...)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(100*b.N), "ns/msg")
	})
}

func BenchmarkLocalExtend(b *testing.B) {
	q := queue.NewLocal()
	ctx := context.Background()
	_ = q.Enqueue(ctx, queue.Message{})
	ds, _ := q.Receive(ctx, 1, time.Minute)
	r := ds[0].Receipt
	b.ReportAllocs()
	for b.Loop() {
		_ = q.Extend(ctx, r, time.Minute)
	}
}

func BenchmarkWorker(b *testing.B) {
	q := queue.NewLocal(queue.WithCapacity(1024))
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan struct{}, 1024)
	w := queue.NewWorker(q, func(context.Context, queue.Delivery) error {
		done <- struct{}{}
		return nil
	}, queue.WithConcurrency(8), queue.WithReceiveBatch(8))
	go w.Run(ctx)
	b.ReportAllocs()
	go func() {
		for range b.N {
			_ = q.Enqueue(ctx, queue.Message{})
		}
	}()
	for range b.N {
		<-done
	}
}
