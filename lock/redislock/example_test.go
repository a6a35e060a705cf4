package redislock_test

import (
	"context"
	"expvar"
	"fmt"
	"time"

	"github.com/distkit/distkit/lock"
	"github.com/distkit/distkit/lock/redislock"
	"github.com/redis/go-redis/v9"
)

func Example() {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
	locker := redislock.New(rdb, redislock.WithPrefix("myapp:lock:"))

	// Wait up to 10s for the lock; keep it renewed while the work runs.
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	le, err := locker.Lock(wctx, "migrations", 5*time.Second, lock.WithAutoRenew(true))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer le.Release(ctx)

	work, stop := context.WithCancel(ctx)
	defer stop()
	go func() { <-le.Done(); stop() }() // stop working when the lease is lost

	// Pass le.Token() with every write, so that the store can refuse a
	// holder that lost the lease without noticing.
	migrate(work, le.Token())
}

func ExampleLocker_TryLock() {
	ctx := context.Background()
	locker := redislock.New(redis.NewClient(&redis.Options{Addr: "localhost:6379"}))
	le, err := locker.TryLock(ctx, "nightly-report", time.Minute)
	if err != nil {
		fmt.Println("another replica runs the report:", err)
		return
	}
	defer le.Release(ctx)
	fmt.Println("running the report with token", le.Token())
}

// The counters of a Locker, and of the leases it granted, served as JSON on
// /debug/vars (expvar), from where a Prometheus or OpenTelemetry exporter
// can read them.
func ExampleLocker_Stats() {
	locker := redislock.New(redis.NewClient(&redis.Options{Addr: "localhost:6379"}))
	expvar.Publish("locks", expvar.Func(func() any { return locker.Stats() }))
}

func migrate(context.Context, uint64) {}
