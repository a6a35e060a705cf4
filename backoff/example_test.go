package backoff_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/distkit/distkit/backoff"
)

func ExampleRetry() {
	calls := 0
	v, err := backoff.Retry(context.Background(), func(ctx context.Context) (string, error) {
		calls++
		if calls < 3 {
			return "", errors.New("unavailable")
		}
		return "hello", nil
	}, backoff.WithPolicy(backoff.Constant(time.Millisecond)), backoff.WithMaxAttempts(5))
	fmt.Println(v, err, calls)
	// Output: hello <nil> 3
}

func ExampleRetry_permanent() {
	errNotFound := errors.New("not found")
	calls := 0
	_, err := backoff.Retry(context.Background(), func(ctx context.Context) (int, error) {
		calls++
		return 0, backoff.Permanent(errNotFound)
	})
	fmt.Println(err, errors.Is(err, errNotFound), calls)
	// Output: not found true 1
}

func ExampleNewExponential() {
	p := backoff.NewExponential(100*time.Millisecond, 2, time.Second)
	for attempt := 1; attempt <= 5; attempt++ {
		fmt.Println(p.Delay(attempt))
	}
	// Output:
	// 100ms
	// 200ms
	// 400ms
	// 800ms
	// 1s
}

func ExampleNewFullJitter() {
	// A seeded source makes the jitter reproducible in tests.
	p := backoff.NewFullJitter(backoff.NewExponential(time.Second, 2, time.Minute), backoff.NewSplitMix(1))
	d := p.Delay(3)
	fmt.Println(d >= 0 && d <= 4*time.Second)
	// Output: true
}

func ExampleNewBudget() {
	// One retry earned per ten successes, no floor.
	b := backoff.NewBudget(0.1, 0)
	for range 20 {
		b.Deposit()
	}
	fmt.Println(b.Withdraw(), b.Withdraw(), b.Withdraw())
	// Output: true true false
}

func ExampleBudget_Stats() {
	// One retry earned per two successes, no floor.
	b := backoff.NewBudget(0.5, 0)
	for range 4 {
		b.Deposit()
	}
	for range 3 {
		b.Withdraw()
	}
	fmt.Printf("%+v\n", b.Stats())
	// Output: {Balance:0 Allowed:2 Refused:1}
}

func ExampleParseRetryAfter() {
	now := time.Date(2015, 10, 21, 7, 28, 0, 0, time.UTC)
	d, ok := backoff.ParseRetryAfter("Wed, 21 Oct 2015 07:28:30 GMT", now)
	fmt.Println(d, ok)
	d, ok = backoff.ParseRetryAfter("120", now)
	fmt.Println(d, ok)
	// Output:
	// 30s true
	// 2m0s true
}

// A Sequence hands a Policy to code written for cenkalti/backoff's BackOff
// interface, which calls NextBackOff until it returns Stop.
func ExampleSequence() {
	s := backoff.NewSequence(backoff.NewExponential(100*time.Millisecond, 2, time.Second), 5)
	for d := s.NextBackOff(); d != backoff.Stop; d = s.NextBackOff() {
		fmt.Print(d, " ")
	}
	fmt.Println()
	// Output:
	// 100ms 200ms 400ms 800ms 1s
}
