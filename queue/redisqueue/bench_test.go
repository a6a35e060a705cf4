package redisqueue_test

import (
	"context"
	"testing"
	"time"

	"github.com/distkit/distkit/internal/redistest"
	"github.com/distkit/distkit/queue"
	"github.com/distkit/distkit/queue/redisqueue"
)

// BenchmarkCycle measures enqueue, receive and ack of one message: three
// round trips per op. batch=100 does the same for 100 messages in three
// round trips.
func BenchmarkCycle(b *testing.B) {
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		q := redisqueue.New(redistest.Start(b), "bench")
		msg := queue.Message{Body: []byte("x")}
		b.ReportAllocs()
		for b.Loop() {
			_ = q.Enqueue(ctx, msg)
			ds, _ := q.Receive(ctx, 1, time.Minute)
			_ = q.Ack(ctx, ds[0].Receipt)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(3*b.N), "ns/roundtrip")
	})
	b.Run("parallel", func(b *testing.B) {
		q := redisqueue.New(redistest.Start(b), "bench")
		msg := queue.Message{Body: []byte("x")}
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = q.Enqueue(ctx, msg)
				ds, err := q.Receive(ctx, 1, time.Minute)
				if err == nil {
					_ = q.Ack(ctx, ds[0].Receipt)
				}
			}
		})
	})
	b.Run("batch=100", func(b *testing.B) {
		q := redisqueue.New(redistest.Start(b), "bench")
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
