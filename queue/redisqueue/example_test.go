package redisqueue_test

import (
	"context"
	"fmt"
	"time"

	"github.com/distkit/distkit/queue"
	"github.com/distkit/distkit/queue/redisqueue"
	"github.com/redis/go-redis/v9"
)

func Example() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	q := redisqueue.New(rdb, "emails", redisqueue.WithMaxAttempts(10))
	ctx := context.Background()

	// One round trip for the whole batch.
	_ = q.Enqueue(ctx,
		queue.Message{Body: []byte("welcome 42"), DedupID: "welcome-42"},
		queue.Message{Body: []byte("digest 42"), Delay: time.Hour},
	)

	w := queue.NewWorker(q, func(ctx context.Context, d queue.Delivery) error {
		fmt.Printf("sending %s\n", d.Body)
		return nil
	}, queue.WithConcurrency(20), queue.WithReceiveBatch(10))
	_ = w.Run(ctx) // until ctx ends
}

func ExampleTopic() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	orders := redisqueue.NewTopic(rdb, "orders")
	ctx := context.Background()
	billing, _ := orders.Subscribe(ctx, "billing")
	_ = orders.Publish(ctx, queue.Message{Body: []byte("order 7")})
	ds, _ := billing.Receive(ctx, 1, time.Minute)
	fmt.Println(string(ds[0].Body))
}
