package redisidgen_test

import (
	"context"
	"errors"
	"expvar"
	"fmt"
	"log"

	"github.com/distkit/distkit/idgen"
	"github.com/distkit/distkit/idgen/redisidgen"
	"github.com/redis/go-redis/v9"
)

func Example() {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	lease, err := redisidgen.Acquire(ctx, rdb)
	if err != nil {
		log.Fatal(err)
	}
	defer lease.Close() // stops renewing and releases the worker ID

	id, err := lease.Next()
	if errors.Is(err, idgen.ErrLeaseLost) {
		log.Fatal("worker ID lease lost: acquire a new one")
	}
	fmt.Println(id, lease.Snowflake().Decode(id).Worker == lease.Worker())
}

// The lease's counters served as JSON on /debug/vars (expvar), from where a
// Prometheus or OpenTelemetry exporter can read them. A growing RenewFailed
// or any Lapses says Redis is hard to reach; Lost says the worker ID must be
// acquired again.
func ExampleLease_Stats() {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
	lease, err := redisidgen.Acquire(ctx, rdb)
	if err != nil {
		log.Fatal(err)
	}
	defer lease.Close()
	expvar.Publish("idgen", expvar.Func(func() any { return lease.Stats() }))
}
