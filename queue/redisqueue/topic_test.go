package redisqueue_test

import (
	"slices"
	"testing"
	"time"

	"github.com/distkit/distkit/internal/redistest"
	"github.com/distkit/distkit/queue"
	"github.com/distkit/distkit/queue/redisqueue"
)

func TestTopicFansOut(t *testing.T) {
	rdb := redistest.Start(t)
	ctx := t.Context()
	pub := redisqueue.NewTopic(rdb, "orders")
	if err := pub.Publish(ctx, queue.Message{Body: []byte("nobody")}); err != nil {
		t.Fatalf("Publish without subscribers = %v", err)
	}
	billing, err := pub.Subscribe(ctx, "billing")
	if err != nil {
		t.Fatal(err)
	}
	// Another process's handle on the same topic sees the subscription.
	other := redisqueue.NewTopic(rdb, "orders")
	email, err := other.Subscribe(ctx, "email")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Subscribe(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if err := pub.Unsubscribe(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if got, err := pub.Subscriptions(ctx); err != nil || !slices.Equal(got, []string{"billing", "email"}) {
		t.Errorf("Subscriptions = %v, %v", got, err)
	}
	// Flush the script cache: Publish must recover from NOSCRIPT.
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx, queue.Message{Body: []byte("order 1")}, queue.Message{Body: []byte("order 2")}); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx, queue.Message{Body: []byte("order 3")}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []*redisqueue.Queue{billing, email} {
		ds, err := q.Receive(ctx, 10, time.Minute)
		if err != nil || len(ds) != 3 || string(ds[0].Body) != "order 1" || string(ds[2].Body) != "order 3" {
			t.Errorf("%s got %d messages, %v; want the 3 orders once", q.Name(), len(ds), err)
		}
	}
	if err := pub.Publish(ctx, queue.Message{Delay: -1}); err == nil {
		t.Error("Publish of an invalid message = nil; want ErrInvalid")
	}
}
