package queue_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/distkit/distkit/queue"
)

func TestTopicFansOut(t *testing.T) {
	var topic queue.Topic
	ctx := t.Context()
	if err := topic.Publish(ctx, queue.Message{Body: []byte("nobody")}); err != nil {
		t.Fatalf("Publish without subscribers = %v", err)
	}
	billing, email := queue.NewLocal(), queue.NewLocal()
	topic.Subscribe("billing", billing)
	topic.Subscribe("email", email)
	topic.Subscribe("gone", queue.NewLocal())
	topic.Unsubscribe("gone")
	if got := topic.Subscriptions(); !slices.Equal(got, []string{"billing", "email"}) {
		t.Errorf("Subscriptions = %v", got)
	}
	if err := topic.Publish(ctx, queue.Message{Body: []byte("order 1")}, queue.Message{Body: []byte("order 2")}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []*queue.Local{billing, email} {
		ds, err := q.Receive(ctx, 10, time.Minute)
		if err != nil || len(ds) != 2 || string(ds[0].Body) != "order 1" || string(ds[1].Body) != "order 2" {
			t.Errorf("subscriber got %+v, %v; want both orders once", ds, err)
		}
		if c := counts(q); c.InFlight != 2 || c.Ready != 0 {
			t.Errorf("subscriber Len = %+v; want exactly 2 messages", c)
		}
	}
}

func TestTopicReportsFailedSubscriber(t *testing.T) {
	var topic queue.Topic
	ok := queue.NewLocal()
	full := queue.NewLocal(queue.WithCapacity(1), queue.WithBlock(false))
	topic.Subscribe("ok", ok)
	topic.Subscribe("full", full)
	err := topic.Publish(t.Context(), queue.Message{}, queue.Message{})
	if !errors.Is(err, queue.ErrFull) || err.Error() != `queue: publish to "full": queue: full` {
		t.Errorf("Publish = %v; want ErrFull naming the subscription", err)
	}
	if c := counts(ok); c.Ready != 2 {
		t.Errorf("the healthy subscriber holds %+v; want 2 ready", c)
	}
}
