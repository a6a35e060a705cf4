// Command resilience calls a flaky in-process HTTP server through
// backoff.Retry with a retry Budget and a circuitbreaker.Transport, and
// prints the breaker's state changes and how many calls reached the server.
//
// The server is healthy for its first 300ms, then fails every request for
// 600ms (503, sometimes with Retry-After), then recovers. The client sends a
// request every 5ms for 1.5s. Without the breaker and the budget each failed
// request would reach the server up to four times; with them, most of the
// outage is absorbed by the client.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/distkit/distkit/backoff"
	"github.com/distkit/distkit/circuitbreaker"
)

func main() {
	start := time.Now()
	since := func() string { return fmt.Sprintf("%4dms", time.Since(start).Milliseconds()) }

	var reached, served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := reached.Add(1)
		if el := time.Since(start); el > 300*time.Millisecond && el < 900*time.Millisecond {
			if n%4 == 0 {
				w.Header().Set("Retry-After", "0")
			}
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		served.Add(1)
		io.WriteString(w, "ok")
	}))
	defer srv.Close()

	tr := circuitbreaker.NewTransport(http.DefaultTransport,
		circuitbreaker.WithCountWindow(20, 10),
		circuitbreaker.WithFailureRate(0.5),
		circuitbreaker.WithOpenBackoff(backoff.NewExponential(50*time.Millisecond, 2, 400*time.Millisecond)),
		circuitbreaker.WithHalfOpenProbes(2),
		circuitbreaker.WithOnStateChange(func(c circuitbreaker.StateChange) {
			fmt.Printf("%s  breaker %s: %v -> %v\n", since(), c.Name, c.From, c.To)
		}),
	)
	client := &http.Client{Transport: tr, Timeout: time.Second}
	budget := backoff.NewBudget(0.1, 20) // 10% of successes, plus 20 retries a second

	var requests, ok, failed, rejected, retries atomic.Int64
	get := func(ctx context.Context) (string, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
		if err != nil {
			return "", backoff.Permanent(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 500 {
			err := fmt.Errorf("status %d", resp.StatusCode)
			if d, ok := backoff.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
				return "", backoff.RetryAfter(err, d)
			}
			return "", err
		}
		return string(body), nil
	}
	opts := []backoff.Option{
		backoff.WithPolicy(backoff.NewFullJitter(backoff.NewExponential(2*time.Millisecond, 2, 20*time.Millisecond), nil)),
		backoff.WithMaxAttempts(4),
		backoff.WithBudget(budget),
		// An open breaker answers at once; retrying it only burns budget.
		backoff.WithRetryIf(func(err error) bool { return !errors.Is(err, circuitbreaker.ErrOpen) }),
		backoff.WithOnRetry(func(int, error, time.Duration) { retries.Add(1) }),
	}

	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	fmt.Printf("%s  client starts; the server fails from 300ms to 900ms\n", since())
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
		}
		requests.Add(1)
		_, err := backoff.Retry(ctx, get, opts...)
		switch {
		case err == nil:
			ok.Add(1)
		case errors.Is(err, circuitbreaker.ErrOpen), errors.Is(err, circuitbreaker.ErrTooManyRequests):
			rejected.Add(1)
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
			requests.Add(-1) // cut short by the end of the run
		default:
			failed.Add(1)
		}
	}
	fmt.Printf("%s  done\n", since())
	fmt.Printf("client requests:          %d (ok %d, failed %d, rejected by the breaker %d)\n",
		requests.Load(), ok.Load(), failed.Load(), rejected.Load())
	fmt.Printf("retries:                  %d\n", retries.Load())
	fmt.Printf("calls that reached server: %d (served %d)\n", reached.Load(), served.Load())
}
