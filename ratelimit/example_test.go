package ratelimit_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"time"

	"github.com/distkit/distkit/ratelimit"
)

func ExampleTokenBucket() {
	// 10 events per second, bursts of 3; replaces rate.NewLimiter(10, 3).
	tb := ratelimit.NewTokenBucket(10, 3)
	start := time.Now()
	for _, ms := range []int{0, 0, 0, 0, 50, 100} {
		t := start.Add(time.Duration(ms) * time.Millisecond)
		fmt.Printf("t=%3dms allowed=%v\n", ms, tb.AllowN(t, 1))
	}
	// Output:
	// t=  0ms allowed=true
	// t=  0ms allowed=true
	// t=  0ms allowed=true
	// t=  0ms allowed=false
	// t= 50ms allowed=false
	// t=100ms allowed=true
}

func ExampleTokenBucket_ReserveN() {
	tb := ratelimit.NewTokenBucket(ratelimit.Every(time.Second), 1)
	now := time.Now()
	first := tb.ReserveN(now, 1)
	second := tb.ReserveN(now, 1)
	fmt.Println(first.DelayFrom(now), second.DelayFrom(now))
	second.CancelAt(now) // the second event will not happen after all
	fmt.Println(tb.TokensAt(now.Add(time.Second)))
	// Output:
	// 0s 1s
	// 1
}

func ExampleLocal() {
	l := ratelimit.NewLocal(ratelimit.PerMinute(2))
	start := time.Now()
	for _, s := range []int{0, 0, 0, 30} {
		d, err := l.AllowAt(start.Add(time.Duration(s)*time.Second), "user-42")
		if err != nil {
			panic(err)
		}
		fmt.Printf("t=%2ds allowed=%-5v remaining=%d retry-after=%v\n", s, d.Allowed, d.Remaining, d.RetryAfter)
	}
	// Output:
	// t= 0s allowed=true  remaining=1 retry-after=0s
	// t= 0s allowed=true  remaining=0 retry-after=0s
	// t= 0s allowed=false remaining=0 retry-after=30s
	// t=30s allowed=true  remaining=0 retry-after=0s
}

// A batch job sends what its budget allows now and keeps the rest for later,
// as with go-redis/redis_rate's AllowAtMost.
func ExampleLocal_AllowAtMostAt() {
	l := ratelimit.NewLocal(ratelimit.PerSecond(10)) // a burst of 10, one more every 100ms
	start := time.Now()
	pending := 25
	for _, ms := range []int{0, 0, 350} {
		sent, d, err := l.AllowAtMostAt(start.Add(time.Duration(ms)*time.Millisecond), "mailer", pending)
		if err != nil {
			panic(err)
		}
		pending -= sent
		fmt.Printf("t=%3dms sent=%-2d pending=%d retry-after=%v\n", ms, sent, pending, d.RetryAfter)
	}
	// Output:
	// t=  0ms sent=10 pending=15 retry-after=0s
	// t=  0ms sent=0  pending=15 retry-after=100ms
	// t=350ms sent=3  pending=12 retry-after=0s
}

func ExampleMiddleware() {
	limiter := ratelimit.NewLocal(ratelimit.PerHour(100).WithBurst(2))
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "hello") })
	h := ratelimit.Middleware(limiter, ratelimit.RemoteIP)(hello)

	for range 3 {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "192.0.2.7:52000"
		h.ServeHTTP(w, r)
		fmt.Printf("%d RateLimit-Policy: %s RateLimit: %s Retry-After: %q\n", w.Code,
			w.Header().Get("RateLimit-Policy"), w.Header().Get("RateLimit"), w.Header().Get("Retry-After"))
	}
	// Output:
	// 200 RateLimit-Policy: "default";q=2;w=72 RateLimit: "default";r=1;t=36 Retry-After: ""
	// 200 RateLimit-Policy: "default";q=2;w=72 RateLimit: "default";r=0;t=72 Retry-After: ""
	// 429 RateLimit-Policy: "default";q=2;w=72 RateLimit: "default";r=0;t=72 Retry-After: "36"
}

func ExampleForwardedIP() {
	key := ratelimit.ForwardedIP(netip.MustParsePrefix("10.0.0.0/8"))
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.1.2.3:41000" // the load balancer
	r.Header.Set("X-Forwarded-For", "203.0.113.9, 198.51.100.20, 10.4.5.6")
	fmt.Println(key(r))
	// Output: 198.51.100.20
}

func ExampleLimiter() {
	var l ratelimit.Limiter = ratelimit.NewLocal(ratelimit.PerSecond(5))
	d, err := l.AllowN(context.Background(), "tenant-a", 5)
	fmt.Println(d.Allowed, d.Remaining, err)
	_, err = l.AllowN(context.Background(), "tenant-a", 6)
	fmt.Println(err)
	// Output:
	// true 0 <nil>
	// ratelimit: n exceeds burst
}

func ExampleLocal_Stats() {
	l := ratelimit.NewLocal(ratelimit.PerMinute(2), ratelimit.WithMaxKeys(64))
	now := time.Now()
	for _, key := range []string{"a", "a", "a", "b"} {
		l.AllowAt(now, key)
	}
	fmt.Printf("%+v\n", l.Stats())
	// Output:
	// {Keys:2 Allowed:3 Denied:1 Dropped:0 Evicted:0}
}

func ExampleMiddlewareCounters() {
	var counters ratelimit.MiddlewareCounters
	limiter := ratelimit.NewLocal(ratelimit.PerHour(100).WithBurst(2))
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "hello") })
	h := ratelimit.Middleware(limiter, ratelimit.RemoteIP, ratelimit.WithCounters(&counters))(hello)

	for range 3 {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "192.0.2.7:52000"
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	// Serve counters.Stats() on /debug/vars, or read it from a metrics
	// collector: each field is a counter.
	fmt.Printf("%+v\n", counters.Stats())
	// Output:
	// {Requests:3 Allowed:2 Limited:1 Errors:0 FailedOpen:0}
}

// Sometimes thins out a log line that a hot path would otherwise print on
// every call: here the first two calls and every fourth one print.
func ExampleSometimes() {
	sometimes := ratelimit.Sometimes{First: 2, Every: 4}
	for i := 1; i <= 10; i++ {
		sometimes.Do(func() { fmt.Println("call", i) })
	}
	// Output:
	// call 1
	// call 2
	// call 5
	// call 9
}
