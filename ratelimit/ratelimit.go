package ratelimit

import (
	"context"
	"errors"
	"math"
	"time"
)

// A Limiter decides whether events for a key may happen now. Each key has its
// own budget, described by the Limit the implementation was built with.
//
// Implementations are safe for concurrent use by multiple goroutines.
type Limiter interface {
	// Allow reports whether one event for key may happen now. It is
	// AllowN(ctx, key, 1).
	Allow(ctx context.Context, key string) (Decision, error)

	// AllowN reports whether n events for key may happen now, and if so
	// consumes them: either all n are admitted or none. n = 0 consumes
	// nothing and reports the current state (a peek). It returns ErrEmptyKey
	// for an empty key, ErrNegativeN for n < 0, ErrExceedsBurst for n larger
	// than the burst, or an error wrapping the backend's; with an error the
	// Decision is the zero Decision, which does not allow.
	AllowN(ctx context.Context, key string, n int) (Decision, error)
}

// An AtMostLimiter is a Limiter that can also admit part of a request, as
// Local and redisratelimit.Limiter can: go-redis/redis_rate's AllowAtMost.
type AtMostLimiter interface {
	Limiter
	// AllowAtMost admits as many of n events for key as its budget holds
	// now, up to n, and reports how many; the Decision describes the
	// budget after them, and when none were admitted its RetryAfter is the
	// wait until one event fits. n = 0 is a peek; an n above the burst
	// admits at most the burst. Errors are AllowN's, except that n above
	// the burst is one only where the burst is 0.
	AllowAtMost(ctx context.Context, key string, n int) (admitted int, d Decision, err error)
}

// Rate is a number of events per second. It plays the part of
// golang.org/x/time/rate's Limit: Every and Inf mean the same.
type Rate float64

// Inf is the infinite rate: it allows every event, even when the burst is 0.
const Inf = Rate(math.MaxFloat64)

// InfDuration is the duration returned by TokenBucket.Reserve's Delay when a
// reservation can never be honoured, and the RetryAfter of a Decision that
// will never allow.
const InfDuration = time.Duration(math.MaxInt64)

// Every converts a minimum time interval between events to a Rate. Every(0)
// and negative intervals are Inf.
func Every(interval time.Duration) Rate {
	if interval <= 0 {
		return Inf
	}
	return 1 / Rate(interval.Seconds())
}

// A Limit is the budget of one key: Burst events at once, refilled at Rate
// events per second. Its zero value allows nothing.
type Limit struct {
	// Rate is how many events per second the budget refills by. Inf allows
	// every event; 0 allows none (a keyed limiter forgets idle keys, so it
	// cannot remember a one-time burst).
	Rate Rate
	// Burst is the most events allowed at once, and the largest n a single
	// AllowN may ask for.
	Burst int
}

// PerSecond returns the Limit of n events per second with a burst of n.
func PerSecond(n int) Limit { return Limit{Rate: Rate(n), Burst: n} }

// PerMinute returns the Limit of n events per minute with a burst of n.
func PerMinute(n int) Limit { return Limit{Rate: Rate(n) / 60, Burst: n} }

// PerHour returns the Limit of n events per hour with a burst of n.
func PerHour(n int) Limit { return Limit{Rate: Rate(n) / 3600, Burst: n} }

// WithBurst returns a copy of l with the given burst.
func (l Limit) WithBurst(burst int) Limit { l.Burst = burst; return l }

// Interval returns the time one event's budget takes to refill, 1/Rate: 0
// for Inf, InfDuration for a zero Rate.
func (l Limit) Interval() time.Duration {
	switch {
	case l.Rate >= Inf:
		return 0
	case l.Rate <= 0:
		return InfDuration
	}
	iv := 1e9 / float64(l.Rate)
	if iv >= math.MaxInt64/2 {
		return InfDuration
	}
	return time.Duration(math.Round(iv))
}

// Window returns the time an empty budget takes to fill up again,
// Burst·Interval: the w of the RateLimit-Policy header field.
func (l Limit) Window() time.Duration {
	iv := l.Interval()
	if iv == InfDuration {
		return InfDuration
	}
	if l.Burst > 0 && int64(iv) > math.MaxInt64/int64(l.Burst) {
		return InfDuration
	}
	return iv * time.Duration(l.Burst)
}

// A Decision is a limiter's answer for one key.
type Decision struct {
	// Allowed reports whether the events may happen. If so they have been
	// counted against the key's budget.
	Allowed bool
	// Remaining is how many more events the key may have right now.
	Remaining int
	// RetryAfter is how long to wait before the same request could be
	// allowed; 0 when allowed, InfDuration when it never will be.
	RetryAfter time.Duration
	// ResetAfter is how long until the key's budget is full again.
	ResetAfter time.Duration
	// Limit is the Limit the decision was made under.
	Limit Limit
}

var (
	// ErrEmptyKey is returned by a Limiter for the empty key.
	ErrEmptyKey = errors.New("ratelimit: empty key")
	// ErrNegativeN is returned by a Limiter for n < 0.
	ErrNegativeN = errors.New("ratelimit: negative n")
	// ErrExceedsBurst is returned by a Limiter, and wrapped by
	// TokenBucket.WaitN, when n is larger than the burst: such a request
	// could never be allowed.
	ErrExceedsBurst = errors.New("ratelimit: n exceeds burst")
	// ErrWouldExceedDeadline is wrapped by TokenBucket.WaitN when the
	// context's deadline comes before the tokens would.
	ErrWouldExceedDeadline = errors.New("ratelimit: wait would exceed context deadline")
)
