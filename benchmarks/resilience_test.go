package benchmarks

import (
	"context"
	"errors"
	"testing"
	"time"

	retrygo "github.com/avast/retry-go/v4"
	cenkalti "github.com/cenkalti/backoff/v5"
	eapache "github.com/eapache/go-resiliency/breaker"
	"github.com/failsafe-go/failsafe-go"
	fscb "github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/sony/gobreaker/v2"

	"github.com/distkit/distkit/backoff"
	"github.com/distkit/distkit/circuitbreaker"
)

var errTransient = errors.New("transient")

// BenchmarkBackoffDelay: one jittered exponential delay (100ms doubling to
// 10s). cenkalti's ExponentialBackOff is mutable, so each goroutine would
// need its own; ours is shared.
func BenchmarkBackoffDelay(b *testing.B) {
	benchDelay(b, backoff.NewFullJitter(backoff.NewExponential(100*time.Millisecond, 2, 10*time.Second), nil), cenkalti.DefaultRandomizationFactor)
}

// BenchmarkBackoffDelayNoJitter: the same exponential without jitter
// (cenkalti with RandomizationFactor 0).
func BenchmarkBackoffDelayNoJitter(b *testing.B) {
	benchDelay(b, backoff.NewExponential(100*time.Millisecond, 2, 10*time.Second), 0)
}

// benchDelay computes the delays of attempts 1 to 16 over and over: with
// ours, a shared policy's Delay; with cenkalti, NextBackOff on its stateful
// backoff, reset every 16 calls, at the given randomization factor.
func benchDelay(b *testing.B, p backoff.Policy, randomization float64) {
	b.Run("impl=distkit", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			n++
			p.Delay(n&15 + 1)
		}
	})
	b.Run("impl=cenkalti", func(b *testing.B) {
		eb := cenkalti.NewExponentialBackOff()
		eb.RandomizationFactor = randomization
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			n++
			if n&15 == 0 {
				eb.Reset()
			}
			eb.NextBackOff()
		}
	})
}

// BenchmarkRetrySuccess: an operation that succeeds at once, with up to
// three attempts.
func BenchmarkRetrySuccess(b *testing.B) {
	ctx := context.Background()
	op := func(context.Context) (int, error) { return 1, nil }
	b.Run("impl=distkit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			backoff.Retry(ctx, op, backoff.WithMaxAttempts(3))
		}
	})
	b.Run("impl=avast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			retrygo.DoWithData(func() (int, error) { return 1, nil }, retrygo.Attempts(3), retrygo.Context(ctx))
		}
	})
	b.Run("impl=cenkalti", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			cenkalti.Retry(ctx, func() (int, error) { return 1, nil }, cenkalti.WithMaxTries(3))
		}
	})
	b.Run("impl=failsafe", func(b *testing.B) {
		ex := failsafe.With[int](retrypolicy.NewBuilder[int]().WithMaxAttempts(3).Build())
		b.ReportAllocs()
		for b.Loop() {
			ex.Get(func() (int, error) { return 1, nil })
		}
	})
}

// BenchmarkRetryOnce: an operation that fails once, then succeeds after a
// 1µs delay.
func BenchmarkRetryOnce(b *testing.B) {
	ctx := context.Background()
	const delay = time.Microsecond
	b.Run("impl=distkit", func(b *testing.B) {
		pol := backoff.WithPolicy(backoff.Constant(delay))
		b.ReportAllocs()
		for b.Loop() {
			first := true
			backoff.Retry(ctx, func(context.Context) (int, error) {
				if first {
					first = false
					return 0, errTransient
				}
				return 1, nil
			}, pol, backoff.WithMaxAttempts(2))
		}
	})
	b.Run("impl=avast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			first := true
			retrygo.DoWithData(func() (int, error) {
				if first {
					first = false
					return 0, errTransient
				}
				return 1, nil
			}, retrygo.Attempts(2), retrygo.Delay(delay), retrygo.DelayType(retrygo.FixedDelay), retrygo.Context(ctx))
		}
	})
	b.Run("impl=cenkalti", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			first := true
			cenkalti.Retry(ctx, func() (int, error) {
				if first {
					first = false
					return 0, errTransient
				}
				return 1, nil
			}, cenkalti.WithBackOff(cenkalti.NewConstantBackOff(delay)), cenkalti.WithMaxTries(2))
		}
	})
	b.Run("impl=failsafe", func(b *testing.B) {
		ex := failsafe.With[int](retrypolicy.NewBuilder[int]().WithMaxAttempts(2).WithDelay(delay).Build())
		b.ReportAllocs()
		for b.Loop() {
			first := true
			ex.Get(func() (int, error) {
				if first {
					first = false
					return 0, errTransient
				}
				return 1, nil
			})
		}
	})
}

// BenchmarkBudgetParallel: the success hook of a retry budget, from every
// goroutine. No peer has a comparable budget (failsafe-go's caps in-flight
// retries and keeps its per-request hooks internal); the target is absolute.
func BenchmarkBudgetParallel(b *testing.B) {
	b.Run("impl=distkit", func(b *testing.B) {
		bud := backoff.NewBudget(0.1, 10)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				bud.Deposit()
			}
		})
	})
}

// BenchmarkBreakerClosed: a successful call through a closed breaker that
// trips on consecutive failures, from every goroutine.
func BenchmarkBreakerClosed(b *testing.B) {
	ctx := context.Background()
	b.Run("impl=distkit", func(b *testing.B) {
		br := circuitbreaker.New(circuitbreaker.WithConsecutiveFailures(5))
		op := func(context.Context) (int, error) { return 1, nil }
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				circuitbreaker.Execute(ctx, br, op)
			}
		})
	})
	b.Run("impl=eapache", func(b *testing.B) {
		br := eapache.New(5, 1, time.Minute)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				br.Run(func() error { return nil })
			}
		})
	})
	b.Run("impl=gobreaker", func(b *testing.B) {
		br := gobreaker.NewCircuitBreaker[int](gobreaker.Settings{})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				br.Execute(func() (int, error) { return 1, nil })
			}
		})
	})
	b.Run("impl=failsafe", func(b *testing.B) {
		ex := failsafe.With[int](fscb.NewBuilder[int]().WithFailureThreshold(5).Build())
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				ex.Get(func() (int, error) { return 1, nil })
			}
		})
	})
}

// BenchmarkBreakerTimeWindow: a successful call through a breaker that
// trips at a 50% failure rate over the last 10s (10 buckets, at least 10
// calls).
func BenchmarkBreakerTimeWindow(b *testing.B) {
	ctx := context.Background()
	b.Run("impl=distkit", func(b *testing.B) {
		br := circuitbreaker.New(circuitbreaker.WithTimeWindow(10*time.Second, 10, 10), circuitbreaker.WithFailureRate(0.5))
		op := func(context.Context) (int, error) { return 1, nil }
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				circuitbreaker.Execute(ctx, br, op)
			}
		})
	})
	b.Run("impl=gobreaker", func(b *testing.B) {
		br := gobreaker.NewCircuitBreaker[int](gobreaker.Settings{
			Interval: 10 * time.Second, BucketPeriod: time.Second,
			ReadyToTrip: func(c gobreaker.Counts) bool {
				return c.Requests >= 10 && c.TotalFailures*2 >= c.Requests
			},
		})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				br.Execute(func() (int, error) { return 1, nil })
			}
		})
	})
	b.Run("impl=failsafe", func(b *testing.B) {
		ex := failsafe.With[int](fscb.NewBuilder[int]().WithFailureRateThreshold(0.5, 10, 10*time.Second).Build())
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				ex.Get(func() (int, error) { return 1, nil })
			}
		})
	})
}

// BenchmarkBreakerCountWindow: a successful call through a breaker that
// trips at a 50% failure rate over the last 100 calls.
func BenchmarkBreakerCountWindow(b *testing.B) {
	ctx := context.Background()
	b.Run("impl=distkit", func(b *testing.B) {
		br := circuitbreaker.New(circuitbreaker.WithCountWindow(100, 100), circuitbreaker.WithFailureRate(0.5))
		op := func(context.Context) (int, error) { return 1, nil }
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				circuitbreaker.Execute(ctx, br, op)
			}
		})
	})
	b.Run("impl=failsafe", func(b *testing.B) {
		ex := failsafe.With[int](fscb.NewBuilder[int]().WithFailureThresholdRatio(50, 100).Build())
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				ex.Get(func() (int, error) { return 1, nil })
			}
		})
	})
}

// BenchmarkBreakerOpenReject: a call rejected by an open breaker.
func BenchmarkBreakerOpenReject(b *testing.B) {
	ctx := context.Background()
	b.Run("impl=distkit", func(b *testing.B) {
		br := circuitbreaker.New(circuitbreaker.WithConsecutiveFailures(1), circuitbreaker.WithOpenDuration(time.Hour))
		circuitbreaker.Execute(ctx, br, func(context.Context) (int, error) { return 0, errTransient })
		op := func(context.Context) (int, error) { return 1, nil }
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				circuitbreaker.Execute(ctx, br, op)
			}
		})
	})
	b.Run("impl=eapache", func(b *testing.B) {
		br := eapache.New(1, 1, time.Hour)
		br.Run(func() error { return errTransient })
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				br.Run(func() error { return nil })
			}
		})
	})
	b.Run("impl=gobreaker", func(b *testing.B) {
		br := gobreaker.NewCircuitBreaker[int](gobreaker.Settings{
			Timeout:     time.Hour,
			ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 1 },
		})
		br.Execute(func() (int, error) { return 0, errTransient })
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				br.Execute(func() (int, error) { return 1, nil })
			}
		})
	})
	b.Run("impl=failsafe", func(b *testing.B) {
		cb := fscb.NewBuilder[int]().WithFailureThreshold(1).WithDelay(time.Hour).Build()
		ex := failsafe.With[int](cb)
		ex.Get(func() (int, error) { return 0, errTransient })
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				ex.Get(func() (int, error) { return 1, nil })
			}
		})
	})
}

// TestPeersBehave checks that each open-state benchmark really rejects.
func TestPeersBehave(t *testing.T) {
	if err := eapacheOpen().Run(func() error { return nil }); err != eapache.ErrBreakerOpen {
		t.Errorf("eapache: %v; want ErrBreakerOpen", err)
	}
	br := circuitbreaker.New(circuitbreaker.WithConsecutiveFailures(1), circuitbreaker.WithOpenDuration(time.Hour))
	circuitbreaker.Execute(context.Background(), br, func(context.Context) (int, error) { return 0, errTransient })
	if _, err := circuitbreaker.Execute(context.Background(), br, func(context.Context) (int, error) { return 1, nil }); !errors.Is(err, circuitbreaker.ErrOpen) {
		t.Errorf("distkit: %v; want ErrOpen", err)
	}
}

func eapacheOpen() *eapache.Breaker {
	br := eapache.New(1, 1, time.Hour)
	br.Run(func() error { return errTransient })
	return br
}

// A backoff.Sequence is a cenkalti BackOff: cenkalti's own Retry runs on a
// distkit Policy, stopping after the Sequence's retries.
var _ cenkalti.BackOff = (*backoff.Sequence)(nil)

func TestSequenceDrivesCenkaltiRetry(t *testing.T) {
	calls := 0
	_, err := cenkalti.Retry(t.Context(), func() (int, error) {
		calls++
		return 0, errTransient
	}, cenkalti.WithBackOff(backoff.NewSequence(backoff.Constant(time.Millisecond), 3)), cenkalti.WithMaxElapsedTime(time.Minute))
	if !errors.Is(err, errTransient) || calls != 4 {
		t.Errorf("cenkalti.Retry over a Sequence of 3 retries: %d calls, %v; want 4 calls ending in the operation's error", calls, err)
	}
}
