package queue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// A Topic fans each published message out to every queue subscribed to it,
// in the memory of one process: each subscription is a consumer group with a
// queue of its own, shared by that group's consumers. It is safe for
// concurrent use by multiple goroutines. The zero Topic has no subscribers
// and is ready to use. Package redisqueue has a Topic whose subscriptions
// live in Redis.
type Topic struct {
	mu   sync.Mutex
	subs map[string]Queue // guarded by mu
}

// Subscribe adds the subscription name, delivering to q; it replaces an
// earlier subscription of that name. Messages published before it are not
// delivered to q.
func (t *Topic) Subscribe(name string, q Queue) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.subs == nil {
		t.subs = make(map[string]Queue)
	}
	t.subs[name] = q
}

// Unsubscribe removes the subscription name, if any.
func (t *Topic) Unsubscribe(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.subs, name)
}

// Subscriptions returns the names of the subscriptions, sorted.
func (t *Topic) Subscriptions() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	names := make([]string, 0, len(t.subs))
	for n := range t.subs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Publish enqueues msgs into every subscribed queue, in the order of their
// names; with no subscriber the messages are dropped. If a queue fails,
// Publish still tries the others and returns the errors joined, each naming
// its subscription; publishing again then delivers twice to the queues that
// succeeded unless the messages carry a DedupID.
func (t *Topic) Publish(ctx context.Context, msgs ...Message) error {
	t.mu.Lock()
	names := make([]string, 0, len(t.subs))
	for n := range t.subs {
		names = append(names, n)
	}
	slices.Sort(names)
	qs := make([]Queue, len(names))
	for i, n := range names {
		qs[i] = t.subs[n]
	}
	t.mu.Unlock()
	var errs []error
	for i, q := range qs {
		if err := q.Enqueue(ctx, msgs...); err != nil {
			errs = append(errs, fmt.Errorf("queue: publish to %q: %w", names[i], err))
		}
	}
	return errors.Join(errs...)
}
