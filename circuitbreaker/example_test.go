package circuitbreaker_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/distkit/distkit/backoff"
	"github.com/distkit/distkit/circuitbreaker"
)

func Example() {
	b := circuitbreaker.New(
		circuitbreaker.WithName("inventory"),
		circuitbreaker.WithConsecutiveFailures(3),
		circuitbreaker.WithOpenDuration(30*time.Second),
		circuitbreaker.WithOnStateChange(func(c circuitbreaker.StateChange) {
			fmt.Printf("%s: %v -> %v\n", c.Name, c.From, c.To)
		}),
	)
	errDown := errors.New("connection refused")
	for i := range 5 {
		_, err := circuitbreaker.Execute(context.Background(), b, func(ctx context.Context) (string, error) {
			return "", errDown
		})
		fmt.Println(i, err)
	}
	// Output:
	// 0 connection refused
	// 1 connection refused
	// inventory: closed -> open
	// 2 connection refused
	// 3 circuitbreaker: inventory: open
	// 4 circuitbreaker: inventory: open
}

func ExampleBreaker_Allow() {
	b := circuitbreaker.New()
	done, err := b.Allow(context.Background())
	if err != nil {
		fmt.Println("rejected:", err)
		return
	}
	// ... make the call, e.g. stream a response ...
	done(nil)
	fmt.Println(b.State())
	// Output: closed
}

func ExampleBreaker_AllowAt() {
	// A failure-rate rule over the last 10 calls, evaluated from 4 calls on,
	// driven on explicit times.
	b := circuitbreaker.New(
		circuitbreaker.WithCountWindow(10, 4),
		circuitbreaker.WithFailureRate(0.5),
		circuitbreaker.WithOpenDuration(time.Minute),
	)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, failed := range []bool{false, true, false, true} {
		now := t0.Add(time.Duration(i) * time.Second)
		t, err := b.AllowAt(now)
		if err != nil {
			fmt.Println(err)
			continue
		}
		var callErr error
		if failed {
			callErr = errors.New("timeout")
		}
		b.DoneAt(t, now, callErr)
	}
	s := b.Stats()
	fmt.Println(s.State, s.Calls, s.Failures)
	_, err := b.AllowAt(t0.Add(30 * time.Second))
	fmt.Println(err)
	// Output:
	// open 4 2
	// circuitbreaker: open
}

func ExampleWithOpenBackoff() {
	// Stay open 1s after the first trip, then 2s, 4s... up to a minute,
	// until a probe succeeds.
	b := circuitbreaker.New(circuitbreaker.WithOpenBackoff(backoff.NewExponential(time.Second, 2, time.Minute)))
	fmt.Println(b.State())
	// Output: closed
}
