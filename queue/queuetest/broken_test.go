package queuetest_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/distkit/distkit/internal/suitetest"
	"github.com/distkit/distkit/queue"
	"github.com/distkit/distkit/queue/queuetest"
)

// A variant is a Queue that breaks one promise, and the subtests of the
// suite that must catch it.
type variant struct {
	name string
	new  queuetest.NewQueue
	fail []string
}

var variants = []variant{
	{
		name: "ack-does-nothing",
		new:  with(func(q *broken) { q.ack = func(context.Context, ...queue.Receipt) error { return nil } }),
		fail: []string{"AckDeletes", "Visibility", "Fencing"},
	},
	{
		name: "nack-fails",
		new:  with(func(q *broken) { q.nack = func(context.Context, queue.Receipt, time.Duration) error { return errDown } }),
		fail: []string{"Fencing", "NackDelay", "NackNow", "DeadLetterOnNack", "BadInput"},
	},
	{
		name: "nack-delays-ten-times-too-long",
		new: with(func(q *broken) {
			q.nack = func(ctx context.Context, r queue.Receipt, d time.Duration) error { return q.Local.Nack(ctx, r, 10*d) }
		}),
		fail: []string{"NackDelay"},
	},
	{
		name: "extend-fails",
		new: with(func(q *broken) {
			q.extend = func(context.Context, queue.Receipt, time.Duration) error { return errDown }
		}),
		fail: []string{"Fencing", "Extend", "BadInput"},
	},
	{
		name: "visibility-ignored",
		new: with(func(q *broken) {
			q.receive = func(ctx context.Context, n int, vis time.Duration) ([]queue.Delivery, error) {
				if err := queue.CheckReceive(n, vis); err != nil {
					return nil, err
				}
				return q.Local.Receive(ctx, n, time.Hour)
			}
		}),
		fail: []string{"Visibility", "DeadLetterOnTimeout"},
	},
	{
		name: "visibility-quartered",
		new: with(func(q *broken) {
			q.receive = func(ctx context.Context, n int, vis time.Duration) ([]queue.Delivery, error) {
				return q.Local.Receive(ctx, n, vis/4)
			}
		}),
		fail: []string{"Visibility"},
	},
	{
		name: "receive-exceeds-max",
		new: with(func(q *broken) {
			q.receive = func(ctx context.Context, n int, vis time.Duration) ([]queue.Delivery, error) {
				if err := queue.CheckReceive(n, vis); err != nil {
					return nil, err
				}
				return q.Local.Receive(ctx, n+1, vis)
			}
		}),
		fail: []string{"Delivery", "FIFO", "Fencing", "DeadLetterOnNack", "Dedup", "Batch"},
	},
	{
		name: "receive-arguments-not-checked",
		new: with(func(q *broken) {
			q.receive = func(ctx context.Context, n int, vis time.Duration) ([]queue.Delivery, error) {
				if vis <= 0 {
					vis = time.Minute
				}
				return q.Local.Receive(ctx, max(n, 1), vis)
			}
		}),
		fail: []string{"BadInput"},
	},
	{
		name: "delivers-twice",
		new: with(func(q *broken) {
			q.receive = func(ctx context.Context, n int, vis time.Duration) ([]queue.Delivery, error) {
				ds, err := q.Local.Receive(ctx, (n+1)/2, vis)
				return slices.Concat(ds, ds)[:min(2*len(ds), n)], err
			}
		}),
		fail: []string{"Batch"},
	},
	{
		name: "never-dead-letters",
		new: func(*testing.T, int) queue.Queue {
			return queue.NewLocal(queue.WithMaxAttempts(1000))
		},
		fail: []string{"Delivery", "DeadLetterOnNack", "DeadLetterOnTimeout"},
	},
	{
		name: "attempt-off-by-one",
		new:  edit(func(d *queue.Delivery) { d.Attempt++ }),
		fail: []string{"Delivery", "Visibility", "NackDelay", "NackNow", "DeadLetterOnNack", "DeadLetterOnTimeout"},
	},
	{
		name: "headers-dropped",
		new:  edit(func(d *queue.Delivery) { d.Headers = nil }),
		fail: []string{"Delivery", "BadInput"},
	},
	{
		name: "no-enqueue-time",
		new:  edit(func(d *queue.Delivery) { d.EnqueuedAt = time.Time{} }),
		fail: []string{"Delivery"},
	},
	{
		name: "tokens-repeat",
		new:  edit(func(d *queue.Delivery) { d.Token = 1 }),
		fail: []string{"Delivery", "FIFO", "Visibility", "Fencing", "NackDelay", "NackNow", "Delay",
			"DeadLetterOnNack", "DeadLetterOnTimeout", "Dedup", "Batch", "ConcurrentConsumers"},
	},
	{
		name: "batch-reversed",
		new: with(func(q *broken) {
			q.enqueue = func(ctx context.Context, msgs ...queue.Message) error {
				msgs = slices.Clone(msgs)
				slices.Reverse(msgs)
				return q.Local.Enqueue(ctx, msgs...)
			}
		}),
		fail: []string{"FIFO", "Dedup", "Batch"},
	},
	{
		name: "delay-ignored",
		new: with(func(q *broken) {
			q.enqueue = func(ctx context.Context, msgs ...queue.Message) error {
				msgs = slices.Clone(msgs)
				for i := range msgs {
					if _, err := queue.Validate(&msgs[i], queue.DefaultMaxBodySize, time.Now()); err != nil {
						return err
					}
					msgs[i].Delay, msgs[i].RunAt = 0, time.Time{}
				}
				return q.Local.Enqueue(ctx, msgs...)
			}
		}),
		fail: []string{"Delay"},
	},
	{
		name: "dead-max-not-checked",
		new: with(func(q *broken) {
			q.dead = func(ctx context.Context, n int) ([]queue.Delivery, error) { return q.Local.Dead(ctx, max(n, 1)) }
		}),
		fail: []string{"DeadLetterOnNack", "DeadLetterOnTimeout"},
	},
	{
		name: "dead-letters-hidden",
		new:  with(func(q *broken) { q.dead = func(context.Context, int) ([]queue.Delivery, error) { return nil, nil } }),
		fail: []string{"DeadLetterOnNack", "DeadLetterOnTimeout"},
	},
	{
		name: "redrive-does-nothing",
		new:  with(func(q *broken) { q.redrive = func(context.Context, ...string) (int, error) { return 0, nil } }),
		fail: []string{"DeadLetterOnNack", "DeadLetterOnTimeout"},
	},
	{
		name: "redrive-copies",
		new: with(func(q *broken) {
			q.redrive = func(ctx context.Context, ids ...string) (int, error) {
				dead, err := q.Local.Dead(ctx, 1000)
				var n int
				for _, d := range dead {
					if err == nil && slices.Contains(ids, d.ID) {
						err = q.Local.Enqueue(ctx, queue.Message{Body: d.Body, Headers: d.Headers})
						n++
					}
				}
				return n, err
			}
		}),
		fail: []string{"DeadLetterOnNack", "DeadLetterOnTimeout"},
	},
	{
		name: "len-misses-in-flight",
		new: with(func(q *broken) {
			q.len = func(ctx context.Context) (queue.Counts, error) {
				c, err := q.Local.Len(ctx)
				c.InFlight = 0
				return c, err
			}
		}),
		fail: []string{"Len"},
	},
	{
		name: "store-down",
		new:  func(*testing.T, int) queue.Queue { return down{} },
		fail: []string{"Delivery", "FIFO", "AckDeletes", "Visibility", "Fencing", "NackDelay", "NackNow", "Extend",
			"Delay", "DeadLetterOnNack", "DeadLetterOnTimeout", "Dedup", "Batch", "ConcurrentConsumers",
			"WakesPromptly", "ContextEnds", "BadInput"},
	},
}

// TestBrokenQueues runs the suite against each variant in a child process
// and checks that it fails where it should.
func TestBrokenQueues(t *testing.T) {
	var cases []suitetest.Case
	for _, v := range variants {
		cases = append(cases, suitetest.Case{Name: v.name, Fail: v.fail, Suite: func(t *testing.T) { queuetest.Run(t, v.new) }})
	}
	suitetest.Run(t, cases...)
}

var errDown = errors.New("store unavailable")

// broken is a Queue over a Local with some of its methods replaced: those
// whose field is set.
type broken struct {
	*queue.Local
	enqueue func(ctx context.Context, msgs ...queue.Message) error
	receive func(ctx context.Context, max int, visibility time.Duration) ([]queue.Delivery, error)
	ack     func(ctx context.Context, receipts ...queue.Receipt) error
	nack    func(ctx context.Context, r queue.Receipt, delay time.Duration) error
	extend  func(ctx context.Context, r queue.Receipt, visibility time.Duration) error
	dead    func(ctx context.Context, max int) ([]queue.Delivery, error)
	redrive func(ctx context.Context, ids ...string) (int, error)
	len     func(ctx context.Context) (queue.Counts, error)
}

// with returns the suite's NewQueue for a broken Queue that set configures.
func with(set func(*broken)) queuetest.NewQueue {
	return func(t *testing.T, maxAttempts int) queue.Queue {
		q := &broken{Local: queue.NewLocal(queue.WithMaxAttempts(maxAttempts))}
		set(q)
		return q
	}
}

// edit returns the suite's NewQueue for a Queue whose deliveries f edits.
func edit(f func(*queue.Delivery)) queuetest.NewQueue {
	return with(func(q *broken) {
		q.receive = func(ctx context.Context, n int, vis time.Duration) ([]queue.Delivery, error) {
			ds, err := q.Local.Receive(ctx, n, vis)
			for i := range ds {
				f(&ds[i])
			}
			return ds, err
		}
	})
}

func (q *broken) Enqueue(ctx context.Context, msgs ...queue.Message) error {
	if q.enqueue != nil {
		return q.enqueue(ctx, msgs...)
	}
	return q.Local.Enqueue(ctx, msgs...)
}

func (q *broken) Receive(ctx context.Context, max int, visibility time.Duration) ([]queue.Delivery, error) {
	if q.receive != nil {
		return q.receive(ctx, max, visibility)
	}
	return q.Local.Receive(ctx, max, visibility)
}

func (q *broken) Ack(ctx context.Context, receipts ...queue.Receipt) error {
	if q.ack != nil {
		return q.ack(ctx, receipts...)
	}
	return q.Local.Ack(ctx, receipts...)
}

func (q *broken) Nack(ctx context.Context, r queue.Receipt, delay time.Duration) error {
	if q.nack != nil {
		return q.nack(ctx, r, delay)
	}
	return q.Local.Nack(ctx, r, delay)
}

func (q *broken) Extend(ctx context.Context, r queue.Receipt, visibility time.Duration) error {
	if q.extend != nil {
		return q.extend(ctx, r, visibility)
	}
	return q.Local.Extend(ctx, r, visibility)
}

func (q *broken) Dead(ctx context.Context, max int) ([]queue.Delivery, error) {
	if q.dead != nil {
		return q.dead(ctx, max)
	}
	return q.Local.Dead(ctx, max)
}

func (q *broken) Redrive(ctx context.Context, ids ...string) (int, error) {
	if q.redrive != nil {
		return q.redrive(ctx, ids...)
	}
	return q.Local.Redrive(ctx, ids...)
}

func (q *broken) Len(ctx context.Context) (queue.Counts, error) {
	if q.len != nil {
		return q.len(ctx)
	}
	return q.Local.Len(ctx)
}

// down is a Queue whose store cannot be reached. It has no dead letters.
type down struct{}

func (down) Enqueue(context.Context, ...queue.Message) error { return errDown }

func (down) Receive(context.Context, int, time.Duration) ([]queue.Delivery, error) {
	return nil, errDown
}

func (down) Ack(context.Context, ...queue.Receipt) error                { return errDown }
func (down) Nack(context.Context, queue.Receipt, time.Duration) error   { return errDown }
func (down) Extend(context.Context, queue.Receipt, time.Duration) error { return errDown }
