package redisqueue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/distkit/distkit/queue"
	"github.com/redis/go-redis/v9"
)

// A Client is the part of go-redis a Queue uses: scripts, and Do for the
// blocking wait of an idle Receive. *redis.Client, *redis.ClusterClient and
// *redis.Ring satisfy it.
type Client interface {
	redis.Scripter
	Do(ctx context.Context, args ...any) *redis.Cmd
}

// A Queue is a queue.Queue stored in Redis, shared by every process that
// opens the same name with the same prefix. It is safe for concurrent use by
// multiple goroutines.
//
// Every operation is one Lua script, so one round trip, whatever the batch
// size: a ready list, sorted sets of delayed messages and visibility
// deadlines, and a hash of bodies and metadata, all under one hash tag. Each
// Receive first redelivers messages whose visibility expired and releases
// due delayed ones, so no janitor process is needed. An idle Receive waits on
// a notification list (BLPOP) that every Enqueue, Nack and Redrive pushes to,
// and picks up a new message within milliseconds. Times come from the Redis
// server's clock. With the append-only file on and appendfsync always, an
// acknowledged Enqueue, Ack or Nack survives a Redis restart.
//
// All processes using a queue should agree on its MaxAttempts and dedup
// window.
type Queue struct {
	rdb         Client
	name        string
	keys        []string
	maxAttempts int
	maxBody     int
	window      time.Duration
	poll        time.Duration
}

var (
	_ queue.Queue       = (*Queue)(nil)
	_ queue.DeadLetters = (*Queue)(nil)
	_ queue.AckReceiver = (*Queue)(nil)
)

// An Option configures a Queue.
type Option func(*Queue)

// WithPrefix sets the prefix of every key the Queue writes, before its
// hash-tagged name. Default: "queue:".
func WithPrefix(p string) Option { return func(q *Queue) { q.keys[0] = p } }

// WithMaxAttempts sets how many deliveries a message gets before it moves to
// the dead-letter queue. Default: queue.DefaultMaxAttempts.
func WithMaxAttempts(n int) Option { return func(q *Queue) { q.maxAttempts = n } }

// WithMaxBodySize sets the largest body Enqueue accepts. Default:
// queue.DefaultMaxBodySize.
func WithMaxBodySize(n int) Option { return func(q *Queue) { q.maxBody = n } }

// WithDedupWindow sets how long a DedupID suppresses duplicates after its
// first enqueue. Default: queue.DefaultDedupWindow.
func WithDedupWindow(d time.Duration) Option { return func(q *Queue) { q.window = d } }

// WithPollInterval bounds how long an idle Receive waits on the
// notification list before it checks the queue again; it is also how long a
// Receive may take to notice that its ctx ended. Default: 250ms.
func WithPollInterval(d time.Duration) Option { return func(q *Queue) { q.poll = d } }

// New returns the queue called name in rdb. It does no I/O. It panics if
// name is empty, MaxAttempts < 1, the body size limit or dedup window is
// negative, or the poll interval is not between 1ms and 2s.
func New(rdb Client, name string, opts ...Option) *Queue {
	q := &Queue{
		rdb:         rdb,
		name:        name,
		keys:        []string{"queue:"},
		maxAttempts: queue.DefaultMaxAttempts,
		maxBody:     queue.DefaultMaxBodySize,
		window:      queue.DefaultDedupWindow,
		poll:        250 * time.Millisecond,
	}
	for _, o := range opts {
		o(q)
	}
	switch {
	case name == "":
		panic("redisqueue: empty queue name")
	case q.maxAttempts < 1:
		panic("redisqueue: MaxAttempts < 1")
	case q.maxBody < 0:
		panic("redisqueue: negative body size limit")
	case q.window < 0:
		panic("redisqueue: negative dedup window")
	case q.poll < time.Millisecond || q.poll > 2*time.Second:
		panic("redisqueue: poll interval not between 1ms and 2s")
	}
	base := q.keys[0] + "{" + name + "}:"
	q.keys = make([]string, numKeys)
	for i, s := range []string{"ready", "delayed", "inflight", "msgs", "dead", "dedup", "seq", "notify", "meta"} {
		q.keys[i] = base + s
	}
	return q
}

// Name returns the queue's name.
func (q *Queue) Name() string { return q.name }

func (q *Queue) wrap(op string, err error) error {
	return fmt.Errorf("redisqueue: %s %q: %w", op, q.name, err)
}

// ms rounds d up to whole milliseconds, the resolution of the queue.
func ms(d time.Duration) int64 { return int64((d + time.Millisecond - 1) / time.Millisecond) }

// Enqueue adds msgs, all or none, in one round trip. It returns an error
// wrapping queue.ErrTooLarge or queue.ErrInvalid for an invalid message. A
// RunAt is turned into a delay by this process's clock.
func (q *Queue) Enqueue(ctx context.Context, msgs ...queue.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	args, err := q.enqueueArgs(msgs)
	if err != nil {
		return err
	}
	if err := enqueueScript.Run(ctx, q.rdb, q.keys, args...).Err(); err != nil {
		return q.wrap("enqueue", err)
	}
	return nil
}

// enqueueArgs validates msgs and returns the arguments of enqueueScript.
func (q *Queue) enqueueArgs(msgs []queue.Message) ([]any, error) {
	now := time.Now()
	plain, dedup := true, false
	delays := make([]int64, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		delay, err := queue.Validate(m, q.maxBody, now)
		if err != nil {
			return nil, err
		}
		delays[i] = ms(delay)
		if m.DedupID != "" {
			dedup = true
		}
		if delays[i] > 0 || m.DedupID != "" {
			plain = false
		}
	}
	// Most batches are plain: one argument per message saves the script
	// from reading two more per message.
	if plain {
		args := make([]any, 2, 2+len(msgs))
		args[0], args[1] = ms(q.window), "0"
		for i := range msgs {
			args = append(args, packMessage(msgs[i].Headers, msgs[i].Body))
		}
		return args, nil
	}
	args := make([]any, 2, 2+3*len(msgs))
	args[0], args[1] = ms(q.window), "1"
	if dedup {
		args[1] = "2"
	}
	for i := range msgs {
		args = append(args, packMessage(msgs[i].Headers, msgs[i].Body), delays[i], msgs[i].DedupID)
	}
	return args, nil
}

// Receive returns between 1 and n ready messages, oldest first, each
// invisible to other consumers for visibility (rounded up to a
// millisecond). It blocks until a message is ready or ctx ends; each check
// is one round trip. It returns an error wrapping queue.ErrInvalid if n < 1
// or visibility <= 0.
func (q *Queue) Receive(ctx context.Context, n int, visibility time.Duration) ([]queue.Delivery, error) {
	if err := queue.CheckReceive(n, visibility); err != nil {
		return nil, err
	}
	for {
		ds, next, _, err := q.receive(ctx, nil, n, visibility)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
		if len(ds) > 0 {
			return ds, nil
		}
		// Redis checks the timeouts of blocked commands ten times a second
		// (hz 10), so a BLPOP ends up to 100ms late: a deadline closer than
		// that is waited for here instead, without a wake-up.
		wait, local := q.poll, false
		if next >= 0 {
			if d := time.Duration(next) * time.Millisecond; d <= redisTick {
				wait, local = max(d, time.Millisecond), true
			} else if d-redisTick < wait {
				wait = d - redisTick
			}
		}
		if dl, ok := ctx.Deadline(); ok {
			if left := time.Until(dl); left < wait {
				wait = left
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if wait < time.Millisecond {
			continue
		}
		if local {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			}
			continue
		}
		err = q.rdb.Do(ctx, "blpop", q.keys[kNotify], strconv.FormatFloat(wait.Seconds(), 'f', 3, 64)).Err()
		if err != nil && !errors.Is(err, redis.Nil) {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, q.wrap("receive", err)
		}
	}
}

// redisTick is how late Redis may end a blocking command at its default hz.
const redisTick = 100 * time.Millisecond

// receive runs receiveScript once: it acks acks, then returns the ready
// messages or, with none, the ms until the next deadline (-1 for none) and
// the number of void acks.
func (q *Queue) receive(ctx context.Context, acks []queue.Receipt, n int, visibility time.Duration) (ds []queue.Delivery, next int64, void int, err error) {
	args := make([]any, 3, 4+2*len(acks))
	args[0], args[1], args[2] = n, ms(visibility), q.maxAttempts
	args = appendReceipts(args, acks)
	vals, err := receiveScript.Run(ctx, q.rdb, q.keys, args...).Slice()
	if err != nil {
		return nil, 0, 0, q.wrap("receive", err)
	}
	if len(vals) < 2 {
		return nil, 0, 0, q.wrap("receive", errReply)
	}
	v, _ := vals[0].(int64)
	next, _ = vals[1].(int64)
	if len(vals) == 4 {
		es, _ := vals[2].([]any)
		vs, _ := vals[3].([]any)
		ds, err = q.deliveries(es, vs)
	}
	return ds, next, int(v), err
}

// appendReceipts appends rs to args as the scripts read them: their count,
// their in-flight members, then their IDs.
func appendReceipts(args []any, rs []queue.Receipt) []any {
	args = append(args, len(rs))
	for _, r := range rs {
		args = append(args, member(r))
	}
	for _, r := range rs {
		args = append(args, r.ID)
	}
	return args
}

var errReply = errors.New("unexpected reply")

// member returns the in-flight member that names the delivery of r:
// "ID:token", or the ID alone for a first delivery (token 1). No ID the
// queue hands out has a colon, so a receipt whose ID has one gets a member
// that names no delivery, rather than one that could name another's.
func member(r queue.Receipt) string {
	if r.Token == 1 && !strings.Contains(r.ID, ":") {
		return r.ID
	}
	return r.ID + ":" + strconv.FormatUint(r.Token, 10)
}

// AckReceive acks receipts and then receives up to n messages that are ready
// now, in one round trip, without waiting: it may return none. It returns
// how many receipts were void. If err is not nil, whether the acks took
// effect is unknown. Worker uses it to spend one round trip per message on
// acking one and receiving the next.
func (q *Queue) AckReceive(ctx context.Context, receipts []queue.Receipt, n int, visibility time.Duration) ([]queue.Delivery, int, error) {
	if err := queue.CheckReceive(n, visibility); err != nil {
		return nil, 0, err
	}
	ds, _, void, err := q.receive(ctx, receipts, n, visibility)
	return ds, void, err
}

// deliveries turns the entries that receiveScript popped and the hash
// values of their messages into deliveries.
func (q *Queue) deliveries(es, vs []any) ([]queue.Delivery, error) {
	if len(es) == 0 || len(vs) != len(es) {
		return nil, q.wrap("receive", errReply)
	}
	out := make([]queue.Delivery, len(es))
	for i := range out {
		e, _ := es[i].(string)
		m, _ := vs[i].(string)
		id, n, r, err := parseEntry(e)
		if err != nil {
			return nil, q.wrap("receive", err)
		}
		enq, h, body, err := unpackMessage(m)
		if err != nil {
			return nil, q.wrap("receive", err)
		}
		out[i] = queue.Delivery{
			Receipt:     queue.Receipt{ID: id, Token: n + 1},
			Body:        body,
			Headers:     h,
			Attempt:     int(n + 1 - r),
			MaxAttempts: q.maxAttempts,
			EnqueuedAt:  time.UnixMilli(enq),
		}
	}
	return out, nil
}

// parseEntry splits an entry of the ready list, "ID" or "ID:n:r", into the
// message ID, its deliveries so far and those before its last redrive.
func parseEntry(e string) (id string, n, r uint64, err error) {
	id, rest, ok := strings.Cut(e, ":")
	if !ok {
		return e, 0, 0, nil
	}
	ns, rs, ok := strings.Cut(rest, ":")
	if !ok {
		return "", 0, 0, errHeaders
	}
	if n, err = strconv.ParseUint(ns, 10, 64); err != nil {
		return "", 0, 0, errHeaders
	}
	if r, err = strconv.ParseUint(rs, 10, 64); err != nil || r > n {
		return "", 0, 0, errHeaders
	}
	return id, n, r, nil
}

// Ack deletes the messages of receipts in one round trip. It returns
// queue.ErrNotHeld if any receipt is void; the others are still acked.
func (q *Queue) Ack(ctx context.Context, receipts ...queue.Receipt) error {
	if len(receipts) == 0 {
		return nil
	}
	args := appendReceipts(make([]any, 0, 1+2*len(receipts)), receipts)
	void, err := ackScript.Run(ctx, q.rdb, q.keys, args...).Int()
	if err != nil {
		return q.wrap("ack", err)
	}
	if void > 0 {
		return queue.ErrNotHeld
	}
	return nil
}

// Nack makes the message of r visible again after delay (rounded up to a
// millisecond), or moves it to the dead-letter queue if this was its last
// attempt, in one round trip. It returns queue.ErrNotHeld if r is void and an
// error wrapping queue.ErrInvalid if delay < 0.
func (q *Queue) Nack(ctx context.Context, r queue.Receipt, delay time.Duration) error {
	if err := queue.CheckDelay(delay); err != nil {
		return err
	}
	ok, err := nackScript.Run(ctx, q.rdb, q.keys, r.ID, member(r), r.Token, ms(delay), q.maxAttempts).Int()
	if err != nil {
		return q.wrap("nack", err)
	}
	if ok == 0 {
		return queue.ErrNotHeld
	}
	return nil
}

// Extend makes the message of r invisible for visibility from now, in one
// round trip. It returns queue.ErrNotHeld if r is void and an error wrapping
// queue.ErrInvalid if visibility < 0.
func (q *Queue) Extend(ctx context.Context, r queue.Receipt, visibility time.Duration) error {
	if err := queue.CheckDelay(visibility); err != nil {
		return err
	}
	ok, err := extendScript.Run(ctx, q.rdb, q.keys, member(r), ms(visibility)).Int()
	if err != nil {
		return q.wrap("extend", err)
	}
	if ok == 0 {
		return queue.ErrNotHeld
	}
	return nil
}

// Dead returns up to max dead messages, oldest death first, in one round
// trip. It returns an error wrapping queue.ErrInvalid if max < 1.
func (q *Queue) Dead(ctx context.Context, max int) ([]queue.Delivery, error) {
	if max < 1 {
		return nil, queue.CheckReceive(max, 1)
	}
	vals, err := deadScript.Run(ctx, q.rdb, q.keys, max).Slice()
	if err != nil {
		return nil, q.wrap("dead", err)
	}
	out := make([]queue.Delivery, len(vals)/3)
	for i := range out {
		v := vals[3*i:]
		id, _ := v[0].(string)
		att, _ := v[1].(int64)
		m, _ := v[2].(string)
		enq, h, body, err := unpackMessage(m)
		if err != nil {
			return nil, q.wrap("dead", err)
		}
		out[i] = queue.Delivery{
			Receipt:     queue.Receipt{ID: id},
			Body:        body,
			Headers:     h,
			Attempt:     int(att),
			MaxAttempts: q.maxAttempts,
			EnqueuedAt:  time.UnixMilli(enq),
		}
	}
	return out, nil
}

// Redrive moves the dead messages with the given IDs back to the queue,
// ready at once with their attempt count reset, in one round trip, and
// returns how many it moved.
func (q *Queue) Redrive(ctx context.Context, ids ...string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	n, err := redriveScript.Run(ctx, q.rdb, q.keys, args...).Int()
	if err != nil {
		return 0, q.wrap("redrive", err)
	}
	return n, nil
}

// Len returns how many messages the queue holds in each state, in one round
// trip. Deadlines that passed but that no Receive has acted on yet count in
// their old state.
func (q *Queue) Len(ctx context.Context) (queue.Counts, error) {
	v, err := lenScript.Run(ctx, q.rdb, q.keys).Int64Slice()
	if err != nil || len(v) != 4 {
		return queue.Counts{}, q.wrap("len", err)
	}
	return queue.Counts{Ready: int(v[0]), Delayed: int(v[1]), InFlight: int(v[2]), Dead: int(v[3])}, nil
}
