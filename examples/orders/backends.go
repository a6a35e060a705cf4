package main

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/distkit/distkit/bloom"
	"github.com/distkit/distkit/bloom/redisbloom"
	"github.com/distkit/distkit/idempotency"
	"github.com/distkit/distkit/idempotency/redisidempotency"
	"github.com/distkit/distkit/idgen"
	"github.com/distkit/distkit/idgen/redisidgen"
	"github.com/distkit/distkit/lock"
	"github.com/distkit/distkit/lock/redislock"
	"github.com/distkit/distkit/queue"
	"github.com/distkit/distkit/queue/redisqueue"
	"github.com/distkit/distkit/ratelimit"
	"github.com/distkit/distkit/ratelimit/redisratelimit"
)

// emailQueue is what the service needs of the email queue: a queue.Queue whose
// dead letters can be listed and whose messages can be counted.
type emailQueue interface {
	queue.Queue
	queue.DeadLetters
	Len(ctx context.Context) (queue.Counts, error)
}

// couponSet remembers the coupon codes already redeemed. In memory it is a
// bloom.Filter; with Redis a redisbloom.Filter shared by every process.
type couponSet interface {
	Seen(ctx context.Context, code string) (bool, error)
	Add(ctx context.Context, code string) error
}

// backends holds the stateful halves of the primitives: in memory for one
// process, or in Redis for several processes sharing the same prefix.
type backends struct {
	kind    string // "memory" or "redis"
	ids     idgen.Generator
	worker  int64 // the idgen worker ID of this process
	limiter ratelimit.Limiter
	idem    idempotency.Store
	emails  emailQueue
	locker  lock.Locker
	coupons couponSet
	close   func()
}

// idLeaseTTL and idMaxLead tune the idgen worker leases in Redis: a process
// that stops renewing stops issuing within idMaxLead before its lease ends.
var (
	idLeaseTTL = 5 * time.Second
	idMaxLead  = time.Second
)

const (
	emailMaxAttempts = 3
	couponCapacity   = 100_000
	couponFPRate     = 0.001
)

// clientLimit is each client's budget: bursts of 10, refilled at 20 per second.
var clientLimit = ratelimit.PerSecond(20).WithBurst(10)

func memoryBackends() (*backends, error) {
	ids, err := idgen.New(1)
	if err != nil {
		return nil, err
	}
	return &backends{
		kind:    "memory",
		ids:     ids,
		worker:  ids.Worker(),
		limiter: ratelimit.NewLocal(clientLimit),
		idem:    idempotency.NewLocal(),
		emails:  queue.NewLocal(queue.WithMaxAttempts(emailMaxAttempts)),
		locker:  lock.NewLocal(),
		coupons: memCoupons{bloom.New(couponCapacity, couponFPRate)},
		close:   func() {},
	}, nil
}

// redisBackends connects to addr. Every key lives under prefix, so processes
// started with the same prefix share rate limits, idempotency keys, the email
// queue, the leader election and the coupons. The idgen worker leases live
// under idPrefix: a fresh one makes the first Acquire wait one lease TTL (it
// cannot know whether an earlier holder is still issuing), so a demo run that
// wants fresh state elsewhere keeps its idgen prefix.
// It closes rdb when the backends are closed.
func redisBackends(ctx context.Context, log *slog.Logger, rdb *redis.Client, idPrefix, prefix string) (*backends, error) {
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, err
	}
	// Each process leases a distinct idgen worker ID for as long as it runs.
	log.Info("leasing an idgen worker ID (the first lease under a prefix waits its TTL)")
	lease, err := redisidgen.Acquire(ctx, rdb, redisidgen.WithPrefix(idPrefix+"idgen:"), redisidgen.WithTTL(idLeaseTTL), redisidgen.WithMaxLead(idMaxLead))
	if err != nil {
		rdb.Close()
		return nil, err
	}
	return &backends{
		kind:    "redis",
		ids:     lease,
		worker:  lease.Worker(),
		limiter: redisratelimit.New(rdb, clientLimit, redisratelimit.WithPrefix(prefix+"rl:")),
		idem:    redisidempotency.New(rdb, redisidempotency.WithPrefix(prefix+"idem:")),
		emails: redisqueue.New(rdb, "emails",
			redisqueue.WithPrefix(prefix+"q:"), redisqueue.WithMaxAttempts(emailMaxAttempts),
			redisqueue.WithPollInterval(20*time.Millisecond)),
		locker:  redislock.New(rdb, redislock.WithPrefix(prefix+"lock:")),
		coupons: redisCoupons{redisbloom.New(rdb, "coupons", couponCapacity, couponFPRate, redisbloom.WithPrefix(prefix+"bloom:"))},
		close: func() {
			releaseCtx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_ = lease.Release(releaseCtx)
			_ = lease.Close()
			_ = rdb.Close()
		},
	}, nil
}

// runPrefix returns prefix with a suffix unique to this run, so that demo
// runs against one Redis server do not see each other's coupons and orders.
func runPrefix(prefix string) string {
	return prefix + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
}

type memCoupons struct{ f *bloom.Filter }

func (c memCoupons) Seen(_ context.Context, code string) (bool, error) {
	return c.f.TestString(code), nil
}

func (c memCoupons) Add(_ context.Context, code string) error {
	c.f.AddString(code)
	return nil
}

type redisCoupons struct{ f *redisbloom.Filter }

func (c redisCoupons) Seen(ctx context.Context, code string) (bool, error) {
	return c.f.Test(ctx, code)
}

func (c redisCoupons) Add(ctx context.Context, code string) error {
	return c.f.Add(ctx, code)
}
