package backoff

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"testing/synctest"
	"time"
)

var errFlaky = errors.New("flaky")

// failN returns an op that fails n times, then returns the attempt number.
func failN(n int, err error) (func(context.Context) (int, error), *int) {
	calls := 0
	return func(context.Context) (int, error) {
		calls++
		if calls <= n {
			return 0, err
		}
		return calls, nil
	}, &calls
}

func TestRetryBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		op, _ := failN(3, errFlaky)
		v, err := Retry(t.Context(), op, WithPolicy(NewExponential(time.Second, 2, time.Minute)))
		if got, want := time.Since(start), 7*time.Second; err != nil || v != 4 || got != want {
			t.Errorf("Retry = %v, %v after %v; want 4, nil after %v", v, err, got, want)
		}
	})
}

func TestRetryStops(t *testing.T) {
	errBad := errors.New("bad request")
	tests := []struct {
		name      string
		failures  int
		err       error
		opts      []Option
		wantCalls int
		wantErr   error
		wantTime  time.Duration
	}{
		{"max attempts", 100, errFlaky, []Option{WithMaxAttempts(3)}, 3, errFlaky, 2 * time.Second},
		{"default attempts", 100, errFlaky, nil, DefaultMaxAttempts, errFlaky, 9 * time.Second},
		{"permanent", 100, Permanent(errBad), nil, 1, errBad, 0},
		{"permanent wrapped", 100, fmt.Errorf("op: %w", Permanent(errBad)), nil, 1, errBad, 0},
		{"classifier", 100, errBad, []Option{WithRetryIf(func(err error) bool { return !errors.Is(err, errBad) })}, 1, errBad, 0},
		{"classifier retries", 2, errFlaky, []Option{WithRetryIf(func(err error) bool { return !errors.Is(err, errBad) })}, 3, nil, 2 * time.Second},
		{"max elapsed", 100, errFlaky, []Option{WithMaxElapsed(2500 * time.Millisecond)}, 3, errFlaky, 2 * time.Second},
		{"max elapsed 0", 100, errFlaky, []Option{WithMaxElapsed(0)}, 1, errFlaky, 0},
		{"retry-after wins", 1, RetryAfter(errFlaky, 30*time.Second), nil, 2, nil, 30 * time.Second},
		{"retry-after wrapped", 1, fmt.Errorf("x: %w", RetryAfter(errFlaky, 5*time.Second)), nil, 2, nil, 5 * time.Second},
		{"retry-after in join", 1, errors.Join(errBad, RetryAfter(errFlaky, 3*time.Second)), nil, 2, nil, 3 * time.Second},
		{"retry-after negative", 1, RetryAfter(errFlaky, -time.Second), nil, 2, nil, 0},
		{"retry-after past elapsed", 1, RetryAfter(errFlaky, time.Hour), []Option{WithMaxElapsed(time.Minute)}, 1, errFlaky, 0},
		{"unlimited", 50, errFlaky, []Option{WithMaxAttempts(math.MaxInt)}, 51, nil, 50 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				op, calls := failN(tt.failures, tt.err)
				start := time.Now()
				opts := append([]Option{WithPolicy(Constant(time.Second))}, tt.opts...)
				_, err := Retry(t.Context(), op, opts...)
				if *calls != tt.wantCalls || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
					t.Errorf("Retry made %d calls and returned %v; want %d calls and %v", *calls, err, tt.wantCalls, tt.wantErr)
				}
				if got := time.Since(start); got != tt.wantTime {
					t.Errorf("Retry took %v; want %v", got, tt.wantTime)
				}
				if tt.wantErr == errBad && err != errBad {
					t.Errorf("Retry returned %#v; want the unwrapped error", err)
				}
			})
		})
	}
}

func TestRetryContextEndKeepsBothErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 2500*time.Millisecond)
		defer cancel()
		op, calls := failN(100, errFlaky)
		start := time.Now()
		_, err := Retry(ctx, op, WithPolicy(Constant(time.Second)))
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, errFlaky) {
			t.Errorf("Retry = %v; want both DeadlineExceeded and errFlaky", err)
		}
		if *calls != 3 || time.Since(start) != 2500*time.Millisecond {
			t.Errorf("Retry made %d calls in %v; want 3 in 2.5s", *calls, time.Since(start))
		}
		if err.Error() == "" {
			t.Error("empty error message")
		}
	})
}

func TestRetryContextEndDuringAttempt(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	_, err := Retry(ctx, func(ctx context.Context) (int, error) {
		cancel()
		return 0, errFlaky
	}, WithPolicy(Constant(0)))
	if !errors.Is(err, context.Canceled) || !errors.Is(err, errFlaky) {
		t.Errorf("Retry = %v; want both Canceled and errFlaky", err)
	}
	// Zero delay still notices a cancelled context before the next attempt.
	ctx2, cancel2 := context.WithCancel(t.Context())
	calls := 0
	_, err = Retry(ctx2, func(ctx context.Context) (int, error) {
		calls++
		return 0, errFlaky
	}, WithPolicy(Constant(0)), WithOnRetry(func(int, error, time.Duration) { cancel2() }))
	if calls != 1 || !errors.Is(err, context.Canceled) || !errors.Is(err, errFlaky) {
		t.Errorf("Retry = %v after %d calls; want Canceled and errFlaky after 1", err, calls)
	}
	// An already-ended context makes no attempt.
	_, err = Retry(ctx, func(context.Context) (int, error) {
		t.Error("op called with an ended context")
		return 0, nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Retry(ended ctx) = %v; want Canceled", err)
	}
}

func TestRetryAttemptTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		start := time.Now()
		v, err := Retry(t.Context(), func(ctx context.Context) (string, error) {
			calls++
			if calls < 3 {
				<-ctx.Done() // hangs until the attempt times out
				return "", ctx.Err()
			}
			return "ok", nil
		}, WithAttemptTimeout(time.Second), WithPolicy(Constant(100*time.Millisecond)))
		if v != "ok" || err != nil || calls != 3 {
			t.Errorf("Retry = %q, %v after %d calls; want ok after 3", v, err, calls)
		}
		if got, want := time.Since(start), 2200*time.Millisecond; got != want {
			t.Errorf("Retry took %v; want %v", got, want)
		}
	})
}

func TestRetryOnRetryAndDecorrelated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type call struct {
			attempt int
			delay   time.Duration
		}
		var got []call
		op, _ := failN(4, errFlaky)
		p := NewDecorrelatedJitter(10*time.Millisecond, time.Second, NewSplitMix(3))
		start := time.Now()
		_, err := Retry(t.Context(), op, WithPolicy(p), WithOnRetry(func(attempt int, err error, d time.Duration) {
			if !errors.Is(err, errFlaky) {
				t.Errorf("OnRetry err = %v", err)
			}
			got = append(got, call{attempt, d})
		}))
		if err != nil || len(got) != 4 {
			t.Fatalf("Retry = %v with %d hooks; want nil with 4", err, len(got))
		}
		var sum, prev time.Duration
		for i, c := range got {
			if c.attempt != i+1 {
				t.Errorf("hook %d attempt = %d", i, c.attempt)
			}
			hi := min(time.Second, 3*max(prev, 10*time.Millisecond))
			if c.delay < 10*time.Millisecond || c.delay > hi {
				t.Errorf("delay %d = %v; want in [10ms, %v]", i, c.delay, hi)
			}
			prev = c.delay
			sum += c.delay
		}
		if time.Since(start) != sum {
			t.Errorf("Retry took %v; want the sum of delays %v", time.Since(start), sum)
		}
	})
}

func TestRetryBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBudget(0.5, 0) // no floor: retries only from successes
		op, calls := failN(100, errFlaky)
		_, err := Retry(t.Context(), op, WithBudget(b), WithPolicy(Constant(time.Millisecond)))
		if !errors.Is(err, ErrBudgetExhausted) || !errors.Is(err, errFlaky) || *calls != 1 {
			t.Errorf("Retry with an empty budget = %v after %d calls; want ErrBudgetExhausted and errFlaky after 1", err, *calls)
		}
		if err.Error() == "" {
			t.Error("empty message")
		}
		for range 4 { // four successes earn two retries
			if _, err := Retry(t.Context(), func(context.Context) (int, error) { return 1, nil }, WithBudget(b)); err != nil {
				t.Fatal(err)
			}
		}
		op, calls = failN(100, errFlaky)
		_, err = Retry(t.Context(), op, WithBudget(b), WithPolicy(Constant(time.Millisecond)))
		if !errors.Is(err, ErrBudgetExhausted) || *calls != 3 {
			t.Errorf("Retry after 4 successes = %v after %d calls; want ErrBudgetExhausted after 3", err, *calls)
		}
		if got, want := b.Stats(), (BudgetStats{Allowed: 2, Refused: 2}); got != want {
			t.Errorf("Stats = %+v; want %+v (two retries, two refusals)", got, want)
		}
	})
}

func TestPermanentAndRetryAfterNil(t *testing.T) {
	if Permanent(nil) != nil || RetryAfter(nil, time.Second) != nil {
		t.Error("Permanent(nil) or RetryAfter(nil) is not nil")
	}
	err := Permanent(errFlaky)
	if !errors.Is(err, errFlaky) || err.Error() != "flaky" {
		t.Errorf("Permanent(errFlaky) = %v; want it to wrap errFlaky", err)
	}
	ra := RetryAfter(errFlaky, time.Second)
	if !errors.Is(ra, errFlaky) || ra.Error() != "flaky" {
		t.Errorf("RetryAfter(errFlaky) = %v", ra)
	}
}

func TestRetrySuccessDoesNotAllocate(t *testing.T) {
	ctx := context.Background()
	b := NewBudget(0.1, 10)
	op := func(context.Context) (int, error) { return 1, nil }
	if n := testing.AllocsPerRun(100, func() {
		Retry(ctx, op, WithMaxAttempts(3), WithPolicy(Constant(time.Millisecond)), WithBudget(b), WithMaxElapsed(time.Second))
	}); n != 0 {
		t.Errorf("Retry success path allocates %v times per call; want 0", n)
	}
	x := 0
	if n := testing.AllocsPerRun(100, func() {
		Retry(ctx, func(context.Context) (int, error) { x++; return x, nil })
	}); n != 0 {
		t.Errorf("Retry with a capturing closure allocates %v times per call; want 0", n)
	}
}

func TestRetryOneRetryAllocations(t *testing.T) {
	ctx := context.Background()
	p := WithPolicy(Constant(time.Microsecond))
	if n := testing.AllocsPerRun(20, func() {
		first := true
		Retry(ctx, func(context.Context) (int, error) {
			if first {
				first = false
				return 0, errFlaky
			}
			return 1, nil
		}, p)
	}); n > 2 {
		t.Errorf("one retry allocates %v times; want <= 2", n)
	}
}

func BenchmarkRetry(b *testing.B) {
	ctx := context.Background()
	b.Run("success", func(b *testing.B) {
		b.ReportAllocs()
		op := func(context.Context) (int, error) { return 1, nil }
		for b.Loop() {
			Retry(ctx, op, WithMaxAttempts(3))
		}
	})
	b.Run("success/parallel", func(b *testing.B) {
		b.ReportAllocs()
		op := func(context.Context) (int, error) { return 1, nil }
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				Retry(ctx, op, WithMaxAttempts(3))
			}
		})
	})
	b.Run("oneretry", func(b *testing.B) {
		b.ReportAllocs()
		p := WithPolicy(Constant(time.Microsecond))
		for b.Loop() {
			n := 0
			Retry(ctx, func(context.Context) (int, error) {
				n++
				if n == 1 {
					return 0, errFlaky
				}
				return n, nil
			}, p)
		}
	})
}

func TestRetryTinyDelays(t *testing.T) {
	// On the real clock, tiny delays are waited by yielding, and still waited.
	op, calls := failN(2, errFlaky)
	start := time.Now()
	if _, err := Retry(context.Background(), op, WithPolicy(Constant(20*time.Microsecond))); err != nil || *calls != 3 {
		t.Fatalf("Retry = %v after %d calls", err, *calls)
	}
	if el := time.Since(start); el < 40*time.Microsecond {
		t.Errorf("two 20µs delays took %v", el)
	}
	// A cancelled context ends the wait.
	ctx, cancel := context.WithCancel(context.Background())
	op, _ = failN(100, errFlaky)
	_, err := Retry(ctx, op, WithPolicy(Constant(40*time.Microsecond)), WithOnRetry(func(int, error, time.Duration) { cancel() }))
	if !errors.Is(err, context.Canceled) || !errors.Is(err, errFlaky) {
		t.Errorf("Retry cancelled during a tiny delay = %v", err)
	}
	// On a fake clock, they fall back to a timer and take exactly their time.
	synctest.Test(t, func(t *testing.T) {
		op, _ := failN(3, errFlaky)
		start := time.Now()
		if _, err := Retry(t.Context(), op, WithPolicy(Constant(10*time.Microsecond))); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != 30*time.Microsecond {
			t.Errorf("three 10µs delays on the fake clock took %v; want 30µs", got)
		}
	})
}
