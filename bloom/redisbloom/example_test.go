package redisbloom_test

import (
	"context"
	"expvar"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/distkit/distkit/bloom"
	"github.com/distkit/distkit/bloom/redisbloom"
)

func Example() {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})

	// Every crawler worker makes the same filter; they share its bits.
	seen := redisbloom.New(rdb, "crawler:urls", 10_000_000, 0.001)
	batch := []string{"https://a.example/", "https://b.example/"}
	present, err := seen.TestAndAddMany(ctx, batch) // one round trip
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, url := range batch {
		if !present[i] {
			fmt.Println("fetch", url)
		}
	}
}

func ExampleFilter_Store() {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})

	// Build in memory, publish to Redis, and read it back elsewhere.
	mem := bloom.New(1_000_000, 0.01)
	mem.AddString("https://a.example/")
	shared := redisbloom.New(rdb, "snapshot", 1_000_000, 0.01)
	if err := shared.Store(ctx, mem); err != nil {
		fmt.Println(err)
		return
	}
	back, err := shared.Fetch(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(back.TestString("https://a.example/"))
}

// The filter's counters served as JSON on /debug/vars (expvar), from where a
// Prometheus or OpenTelemetry exporter can read them; Present/Tested is the
// share of keys seen before.
func ExampleFilter_Stats() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	seen := redisbloom.New(rdb, "crawler:urls", 10_000_000, 0.001)
	expvar.Publish("seen", expvar.Func(func() any { return seen.Stats() }))
}
