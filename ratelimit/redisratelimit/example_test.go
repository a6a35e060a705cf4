package redisratelimit_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/distkit/distkit/ratelimit"
	"github.com/distkit/distkit/ratelimit/redisratelimit"
	"github.com/redis/go-redis/v9"
)

func Example() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	limiter := redisratelimit.New(rdb, ratelimit.PerMinute(100), redisratelimit.WithPrefix("api:"))

	d, err := limiter.Allow(context.Background(), "user-42")
	if err != nil {
		fmt.Println("redis unavailable:", err)
		return
	}
	fmt.Println(d.Allowed, d.Remaining, d.RetryAfter)
}

func Example_middleware() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	limiter := redisratelimit.New(rdb, ratelimit.PerSecond(20))
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "hello") })
	// Every process behind the load balancer shares each client's budget;
	// if Redis is down, requests are served rather than refused.
	h := ratelimit.Middleware(limiter, ratelimit.RemoteIP, ratelimit.WithFailOpen(true))(mux)
	http.ListenAndServe(":8080", h)
}

func ExampleLimiter_Stats() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	limiter := redisratelimit.New(rdb, ratelimit.PerMinute(100))
	limiter.Allow(context.Background(), "user-42")
	// No round trip: the counters are the Limiter's own.
	st := limiter.Stats()
	fmt.Printf("round trips %d, denied %d, failed %d\n", st.Calls, st.Denied, st.Errors)
}
