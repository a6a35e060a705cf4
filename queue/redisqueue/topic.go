package redisqueue

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/distkit/distkit/queue"
	"github.com/redis/go-redis/v9"
)

// A Topic fans each published message out to every queue subscribed to it.
// The subscriptions live in Redis, so every process publishing to the topic
// sees the same ones; each subscription is a Queue (a consumer group) of
// that name, shared by its consumers. It is safe for concurrent use by
// multiple goroutines.
//
// Publish takes two round trips: one to read the subscriptions, one to
// enqueue into all of them (a pipeline of one script per queue, so it works
// on Redis Cluster, where each queue has its own hash slot).
type Topic struct {
	rdb  redis.UniversalClient
	name string
	key  string
	opts []Option
}

// NewTopic returns the topic called name in rdb. opts configure the key
// prefix of the topic and of its subscribed queues, and their limits, as
// for New; all processes should pass the same. It does no I/O and panics
// where New would.
func NewTopic(rdb redis.UniversalClient, name string, opts ...Option) *Topic {
	q := New(rdb, name, opts...) // validates opts
	return &Topic{rdb: rdb, name: name, key: q.keys[kReady][:len(q.keys[kReady])-len("ready")] + "topic", opts: opts}
}

// Queue returns the queue of the subscription name, to receive from.
func (t *Topic) Queue(name string) *Queue { return New(t.rdb, name, t.opts...) }

// Subscribe adds the subscription name, whose queue receives every message
// published from now on, and returns that queue.
func (t *Topic) Subscribe(ctx context.Context, name string) (*Queue, error) {
	q := t.Queue(name)
	if err := t.rdb.SAdd(ctx, t.key, name).Err(); err != nil {
		return nil, fmt.Errorf("redisqueue: subscribe %q to topic %q: %w", name, t.name, err)
	}
	return q, nil
}

// Unsubscribe removes the subscription name; its queue and the messages in
// it stay.
func (t *Topic) Unsubscribe(ctx context.Context, name string) error {
	if err := t.rdb.SRem(ctx, t.key, name).Err(); err != nil {
		return fmt.Errorf("redisqueue: unsubscribe %q from topic %q: %w", name, t.name, err)
	}
	return nil
}

// Subscriptions returns the names of the subscriptions, sorted.
func (t *Topic) Subscriptions(ctx context.Context) ([]string, error) {
	names, err := t.rdb.SMembers(ctx, t.key).Result()
	if err != nil {
		return nil, fmt.Errorf("redisqueue: topic %q: %w", t.name, err)
	}
	slices.Sort(names)
	return names, nil
}

// Publish enqueues msgs into the queue of every subscription, all or none
// per queue; with no subscriber the messages are dropped. It returns an
// error wrapping queue.ErrTooLarge or queue.ErrInvalid, before writing
// anything, for an invalid message. If some queues fail, it returns their
// errors joined; publishing again then delivers twice to the queues that
// succeeded unless the messages carry a DedupID.
func (t *Topic) Publish(ctx context.Context, msgs ...queue.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	names, err := t.Subscriptions(ctx)
	if err != nil || len(names) == 0 {
		return err
	}
	qs := make([]*Queue, len(names))
	for i, n := range names {
		qs[i] = t.Queue(n)
	}
	args, err := qs[0].enqueueArgs(msgs)
	if err != nil {
		return err
	}
	cmds := make([]*redis.Cmd, len(qs))
	_, _ = t.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, q := range qs {
			cmds[i] = enqueueScript.EvalSha(ctx, p, q.keys, args...)
		}
		return nil
	})
	var errs []error
	for i, q := range qs {
		err := cmds[i].Err()
		if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
			// The server lost its scripts (a restart): this queue got nothing.
			err = enqueueScript.Run(ctx, t.rdb, q.keys, args...).Err()
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("redisqueue: publish to %q on topic %q: %w", q.name, t.name, err))
		}
	}
	return errors.Join(errs...)
}
