// Command ratelimit runs an HTTP server that limits each client to a budget
// of requests, and shows the answers a client gets.
//
// Without flags it starts the server on a loopback port, sends it a short
// script of requests from two clients, prints what was allowed and denied
// with the RateLimit header fields, and exits. With -serve it serves until
// interrupted; with -redis ADDR the budget lives in Redis, shared by every
// process that uses the same server.
//
//	go run ./examples/ratelimit
//	go run ./examples/ratelimit -serve -addr :8080
//	go run ./examples/ratelimit -redis localhost:6379
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"time"

	"github.com/distkit/distkit/examples/internal/redisaddr"
	"github.com/distkit/distkit/ratelimit"
	"github.com/distkit/distkit/ratelimit/redisratelimit"
)

func main() {
	serve := flag.Bool("serve", false, "serve until interrupted instead of running the scripted clients")
	addr := flag.String("addr", "127.0.0.1:8080", "address to serve on with -serve")
	redisAddr := flag.String("redis", "", "Redis address (host:port, or the path of a unix socket): share each client's budget through Redis")
	flag.Parse()

	limit := ratelimit.PerSecond(2).WithBurst(3)
	var limiter ratelimit.Limiter = ratelimit.NewLocal(limit)
	if *redisAddr != "" {
		rdb := redisaddr.Client(*redisAddr)
		defer rdb.Close()
		limiter = redisratelimit.New(rdb, limit, redisratelimit.WithPrefix("example:"+strconv.FormatInt(time.Now().UnixNano(), 36)+":"))
	}

	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "hello") })
	// The scripted clients speak through loopback and name themselves in
	// X-Forwarded-For, as a proxy on this machine would.
	key := ratelimit.ForwardedIP(netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"))
	var counters ratelimit.MiddlewareCounters // what the middleware did, for monitoring
	handler := ratelimit.Middleware(limiter, key, ratelimit.WithCounters(&counters))(hello)

	if *serve {
		srv := &http.Server{Addr: *addr, Handler: handler}
		go func() {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			<-ctx.Done()
			srv.Shutdown(context.Background())
		}()
		log.Printf("serving on %s, %v requests/s per client with bursts of %d", *addr, limit.Rate, limit.Burst)
		if err := srv.ListenAndServe(); err != http.ErrServerClosed {
			log.Fatal(err)
		}
		return
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: handler}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/"
	fmt.Printf("limit: %v requests/s per client, bursts of %d\n\n", limit.Rate, limit.Burst)

	var retry time.Duration
	for range 5 {
		retry = send(url, "203.0.113.1")
	}
	send(url, "203.0.113.2")
	send(url, "203.0.113.2")
	fmt.Printf("\n203.0.113.1 waits the %v Retry-After asked for\n\n", retry)
	time.Sleep(retry)
	send(url, "203.0.113.1")

	st := counters.Stats()
	fmt.Printf("\nmiddleware stats: %d requests, %d allowed, %d limited, %d limiter errors\n",
		st.Requests, st.Allowed, st.Limited, st.Errors)
}

// send makes one request as client and prints the answer; it returns the
// Retry-After the server asked for.
func send(url, client string) time.Duration {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("X-Forwarded-For", client)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	verdict := "allowed"
	if resp.StatusCode == http.StatusTooManyRequests {
		verdict = "denied "
	} else if resp.StatusCode != http.StatusOK {
		verdict = resp.Status
	}
	ra := resp.Header.Get("Retry-After")
	fmt.Printf("%-12s %d %s  RateLimit-Policy: %s  RateLimit: %s", client, resp.StatusCode, verdict,
		resp.Header.Get("RateLimit-Policy"), resp.Header.Get("RateLimit"))
	if ra != "" {
		fmt.Printf("  Retry-After: %s", ra)
	}
	fmt.Println()
	secs, _ := strconv.Atoi(ra)
	return time.Duration(secs) * time.Second
}
