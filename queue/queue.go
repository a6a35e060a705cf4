package queue

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// A Queue holds messages until a consumer acknowledges them.
//
// Implementations are safe for concurrent use by multiple goroutines and
// processes. Every method that fails because of the caller's input returns an
// error wrapping ErrInvalid or ErrTooLarge; a cancelled call returns an error
// for which errors.Is(err, ctx.Err()) holds.
type Queue interface {
	// Enqueue adds msgs to the queue, all or none. A message whose DedupID
	// was enqueued within the queue's deduplication window is dropped
	// silently. Bounded implementations may block or return ErrFull.
	Enqueue(ctx context.Context, msgs ...Message) error

	// Receive returns between 1 and max messages, each invisible to other
	// consumers for visibility. It blocks until a message is ready or ctx
	// ends.
	Receive(ctx context.Context, max int, visibility time.Duration) ([]Delivery, error)

	// Ack deletes the messages of receipts. It returns ErrNotHeld if any
	// receipt is void (expired, already settled, or redelivered); the others
	// are still acked.
	Ack(ctx context.Context, receipts ...Receipt) error

	// Nack gives a received message back: it becomes visible again after
	// delay, or moves to the dead-letter queue if it has been delivered
	// MaxAttempts times. It returns ErrNotHeld if r is void.
	Nack(ctx context.Context, r Receipt, delay time.Duration) error

	// Extend makes a received message invisible for visibility from now, for
	// a consumer that needs more time. It returns ErrNotHeld if r is void.
	Extend(ctx context.Context, r Receipt, visibility time.Duration) error
}

// DeadLetters is implemented by queues whose dead-letter queue can be
// inspected and redriven. Local and redisqueue.Queue implement it.
type DeadLetters interface {
	// Dead returns up to max dead messages, oldest death first. Their
	// Receipts cannot be acked.
	Dead(ctx context.Context, max int) ([]Delivery, error)

	// Redrive moves the dead messages with the given IDs back to the queue,
	// ready at once with a fresh attempt count, and returns how many it
	// moved; IDs that are not dead are ignored.
	Redrive(ctx context.Context, ids ...string) (int, error)
}

// An AckReceiver acks finished messages and receives new ones in one call.
// Queues whose every operation is a round trip implement it, and Worker
// uses it to spend one round trip per message on both. redisqueue.Queue
// implements it.
type AckReceiver interface {
	// AckReceive acks receipts, then receives up to max messages that are
	// ready now, without waiting: it may return none. It returns how many
	// receipts were void. If err is not nil, whether the acks took effect
	// is unknown.
	AckReceive(ctx context.Context, receipts []Receipt, max int, visibility time.Duration) ([]Delivery, int, error)
}

// A Message is what a producer enqueues. The zero Message (an empty body)
// is valid.
type Message struct {
	// Body is the payload, up to the queue's body size limit
	// (DefaultMaxBodySize unless configured). It may be empty.
	Body []byte

	// Headers carry metadata delivered with the body. Nil and empty are the
	// same.
	Headers map[string]string

	// Delay postpones the first delivery by this much. It must not be
	// negative.
	Delay time.Duration

	// RunAt, when not zero, postpones the first delivery until this instant
	// (by the enqueuing process's clock); a past RunAt means now. Setting
	// both RunAt and Delay is an error.
	RunAt time.Time

	// DedupID, when not empty, suppresses a second message with the same
	// DedupID enqueued within the queue's deduplication window after the
	// first one.
	DedupID string
}

// A Receipt identifies one delivery of one message. Its Token fences the
// delivery: it differs on every delivery of the same message, so the
// consumer of an earlier delivery cannot settle a later one.
type Receipt struct {
	// ID identifies the message within its queue; it stays the same across
	// deliveries.
	ID string
	// Token is unique to this delivery of the message.
	Token uint64
}

// A Delivery is a received message.
type Delivery struct {
	Receipt

	// Body and Headers are as enqueued.
	Body    []byte
	Headers map[string]string

	// Attempt counts deliveries of this message since it was enqueued or
	// redriven, 1 for the first.
	Attempt int

	// MaxAttempts is the queue's limit: when a delivery with Attempt ==
	// MaxAttempts fails or times out, the message is dead.
	MaxAttempts int

	// EnqueuedAt is when the message was first enqueued.
	EnqueuedAt time.Time
}

// DefaultMaxBodySize is the largest body a queue accepts unless configured
// otherwise: 1 MiB.
const DefaultMaxBodySize = 1 << 20

// DefaultMaxAttempts is how many deliveries a message gets before it is dead
// unless configured otherwise.
const DefaultMaxAttempts = 5

// DefaultDedupWindow is how long a DedupID suppresses duplicates unless
// configured otherwise.
const DefaultDedupWindow = 10 * time.Minute

var (
	// ErrNotHeld is returned by Ack, Nack and Extend when the receipt is
	// void: its visibility timeout passed, it was already settled, or the
	// message was redelivered.
	ErrNotHeld = errors.New("queue: message not held")

	// ErrFull is returned by Enqueue on a bounded queue that is full, when
	// the queue is configured not to wait, or when a batch is larger than
	// the queue's capacity.
	ErrFull = errors.New("queue: full")

	// ErrTooLarge is returned by Enqueue for a body over the size limit.
	ErrTooLarge = errors.New("queue: message too large")

	// ErrInvalid is wrapped by the errors for other invalid arguments: a
	// negative delay, both Delay and RunAt, max < 1, a visibility timeout
	// that is not positive.
	ErrInvalid = errors.New("queue: invalid argument")
)

var (
	errNegativeDelay = fmt.Errorf("%w: negative delay", ErrInvalid)
	errDelayAndRunAt = fmt.Errorf("%w: both Delay and RunAt set", ErrInvalid)
	errMax           = fmt.Errorf("%w: max < 1", ErrInvalid)
	errVisibility    = fmt.Errorf("%w: visibility timeout not positive", ErrInvalid)
)

// Validate checks m against a body size limit and returns its delay from
// now. Backends call it before writing anything.
func Validate(m *Message, maxBody int, now time.Time) (time.Duration, error) {
	if len(m.Body) > maxBody {
		return 0, fmt.Errorf("%w: body of %d bytes, limit %d", ErrTooLarge, len(m.Body), maxBody)
	}
	if m.Delay < 0 {
		return 0, errNegativeDelay
	}
	if !m.RunAt.IsZero() {
		if m.Delay != 0 {
			return 0, errDelayAndRunAt
		}
		return max(m.RunAt.Sub(now), 0), nil
	}
	return m.Delay, nil
}

// CheckReceive reports whether the arguments of a Receive are valid. Backends
// call it first.
func CheckReceive(n int, visibility time.Duration) error {
	if n < 1 {
		return errMax
	}
	if visibility <= 0 {
		return errVisibility
	}
	return nil
}

// CheckDelay reports whether a Nack delay or Extend visibility is valid:
// it must not be negative.
func CheckDelay(d time.Duration) error {
	if d < 0 {
		return errNegativeDelay
	}
	return nil
}
