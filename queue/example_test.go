package queue_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/distkit/distkit/queue"
)

func Example() {
	ctx := context.Background()
	q := queue.NewLocal(queue.WithCapacity(100))
	_ = q.Enqueue(ctx, queue.Message{Body: []byte("send welcome email"), Headers: map[string]string{"user": "42"}})

	ds, _ := q.Receive(ctx, 10, 30*time.Second)
	for _, d := range ds {
		fmt.Printf("%s for user %s (attempt %d)\n", d.Body, d.Headers["user"], d.Attempt)
		_ = q.Ack(ctx, d.Receipt)
	}
	fmt.Println(q.Ack(ctx, ds[0].Receipt)) // settled already
	// Output:
	// send welcome email for user 42 (attempt 1)
	// queue: message not held
}

func ExampleWorker() {
	q := queue.NewLocal(queue.WithMaxAttempts(2))
	for _, b := range []string{"ok", "poison", "ok"} {
		_ = q.Enqueue(context.Background(), queue.Message{Body: []byte(b)})
	}
	ctx, stop := context.WithCancel(context.Background())
	w := queue.NewWorker(q, func(ctx context.Context, d queue.Delivery) error {
		if string(d.Body) == "poison" {
			return errors.New("cannot parse")
		}
		return nil
	}, queue.WithRetryPolicy(queue.RetryFunc(func(int) time.Duration { return 0 })),
		queue.WithConcurrency(2))
	done := make(chan struct{})
	go func() { _ = w.Run(ctx); close(done) }()
	for c, _ := q.Len(ctx); c != (queue.Counts{Dead: 1}); c, _ = q.Len(ctx) {
		time.Sleep(time.Millisecond)
	}
	stop()
	<-done

	fmt.Printf("%+v\n", w.Stats())
	dead, _ := q.Dead(context.Background(), 10)
	fmt.Printf("dead: %s after %d attempts\n", dead[0].Body, dead[0].Attempt)
	// Output:
	// {Processed:2 Failed:2 Retried:1 Dead:1 Lost:0}
	// dead: poison after 2 attempts
}

func ExampleLocal_Enqueue_backPressure() {
	q := queue.NewLocal(queue.WithCapacity(1), queue.WithBlock(false))
	ctx := context.Background()
	fmt.Println(q.Enqueue(ctx, queue.Message{Body: []byte("a")}))
	fmt.Println(q.Enqueue(ctx, queue.Message{Body: []byte("b")}))

	blocking := queue.NewLocal(queue.WithCapacity(1))
	_ = blocking.Enqueue(ctx, queue.Message{})
	ctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	fmt.Println(blocking.Enqueue(ctx, queue.Message{}))
	// Output:
	// <nil>
	// queue: full
	// context deadline exceeded
}

func ExampleTopic() {
	var orders queue.Topic
	billing, shipping := queue.NewLocal(), queue.NewLocal()
	orders.Subscribe("billing", billing)
	orders.Subscribe("shipping", shipping)
	ctx := context.Background()
	_ = orders.Publish(ctx, queue.Message{Body: []byte("order 7")})
	for _, q := range []*queue.Local{billing, shipping} {
		ds, _ := q.Receive(ctx, 1, time.Minute)
		fmt.Println(string(ds[0].Body))
	}
	// Output:
	// order 7
	// order 7
}

func ExampleLocal_Stats() {
	ctx := context.Background()
	q := queue.NewLocal(queue.WithMaxAttempts(1))
	_ = q.Enqueue(ctx, queue.Message{Body: []byte("a")}, queue.Message{Body: []byte("b")})
	ds, _ := q.Receive(ctx, 2, 30*time.Second)
	_ = q.Ack(ctx, ds[0].Receipt)
	_ = q.Nack(ctx, ds[1].Receipt, 0) // its only attempt: dead

	s := q.Stats()
	fmt.Printf("enqueued %d, delivered %d, acked %d, nacked %d, dead %d\n",
		s.Enqueued, s.Delivered, s.Acked, s.Nacked, s.Dead)
	c, _ := q.Len(ctx)
	fmt.Printf("%+v\n", c)
	// Output:
	// enqueued 2, delivered 2, acked 1, nacked 1, dead 1
	// {Ready:0 Delayed:0 InFlight:0 Dead:1}
}
