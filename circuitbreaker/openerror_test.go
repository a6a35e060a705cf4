package circuitbreaker

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/distkit/distkit/backoff"
)

var errDown = errors.New("down")

func TestOpenErrorTellsWhenProbesResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(WithName("pay"), WithConsecutiveFailures(1), WithOpenDuration(5*time.Second))
		if _, err := Execute(t.Context(), b, func(context.Context) (int, error) { return 0, errDown }); err != errDown {
			t.Fatalf("first call = %v; want %v", err, errDown)
		}
		time.Sleep(2 * time.Second)
		for name, err := range map[string]error{
			"Execute": func() error {
				_, err := Execute(t.Context(), b, func(context.Context) (int, error) { return 0, nil })
				return err
			}(),
			"Allow":   func() error { _, err := b.Allow(t.Context()); return err }(),
			"AllowAt": func() error { _, err := b.AllowAt(time.Now()); return err }(),
		} {
			var oe *OpenError
			if !errors.As(err, &oe) || !errors.Is(err, ErrOpen) {
				t.Fatalf("%s = %v; want an *OpenError matching ErrOpen", name, err)
			}
			if oe.Name != "pay" || err.Error() != "circuitbreaker: pay: open" {
				t.Errorf("%s: Name %q, Error %q; want pay, \"circuitbreaker: pay: open\"", name, oe.Name, err)
			}
			if d := oe.RetryAfter(); d != 3*time.Second+timerSlack {
				t.Errorf("%s: RetryAfter = %v; want 3s + %v", name, d, timerSlack)
			}
		}
		time.Sleep(4 * time.Second)
		if d := (&OpenError{Until: time.Now().Add(-time.Second)}).RetryAfter(); d != timerSlack {
			t.Errorf("RetryAfter past the open period = %v; want %v", d, timerSlack)
		}
		_, err := b.Allow(t.Context())
		if err != nil {
			t.Fatalf("Allow after the open period = %v; want a probe", err)
		}
	})
}

func TestOpenErrorNeedsNoName(t *testing.T) {
	b := New(WithConsecutiveFailures(1))
	_, _ = Execute(t.Context(), b, func(context.Context) (int, error) { return 0, errDown })
	_, err := b.Allow(t.Context())
	if err == nil || err.Error() != "circuitbreaker: open" {
		t.Errorf("Allow = %v; want circuitbreaker: open", err)
	}
	b.ForceOpen()
	if _, err := b.Allow(t.Context()); err != ErrOpen {
		t.Errorf("Allow when forced open = %v; want ErrOpen itself (no end to wait for)", err)
	}
}

func TestOpenErrorAllocatesNothing(t *testing.T) {
	b := New(WithConsecutiveFailures(1))
	_, _ = Execute(t.Context(), b, func(context.Context) (int, error) { return 0, errDown })
	ctx := context.Background()
	fn := func(context.Context) (int, error) { return 0, nil }
	if n := testing.AllocsPerRun(100, func() { Execute(ctx, b, fn) }); n != 0 {
		t.Errorf("a rejection allocates %v times; want 0", n)
	}
}

// backoff.Retry honours OpenError's RetryAfter: a retry through an open
// breaker waits for the probe instead of spending its attempts.
func TestRetryWaitsForTheProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(WithConsecutiveFailures(1), WithOpenDuration(5*time.Second))
		calls := 0
		start := time.Now()
		v, err := backoff.Retry(t.Context(), func(ctx context.Context) (string, error) {
			return Execute(ctx, b, func(context.Context) (string, error) {
				calls++
				if calls == 1 {
					return "", errDown
				}
				return "paid", nil
			})
		}, backoff.WithPolicy(backoff.Constant(100*time.Millisecond)), backoff.WithMaxAttempts(3))
		if err != nil || v != "paid" {
			t.Fatalf("Retry = %q, %v; want paid, nil", v, err)
		}
		if calls != 2 {
			t.Errorf("upstream called %d times; want 2", calls)
		}
		if d, want := time.Since(start), 5*time.Second+timerSlack; d != want {
			t.Errorf("Retry took %v; want %v (the open period, then the timer's slack)", d, want)
		}
	})
}
