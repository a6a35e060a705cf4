package backoff

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"
)

// ErrBudgetExhausted is returned, wrapped with the last attempt's error, by
// Retry when its Budget refuses a retry.
var ErrBudgetExhausted = errors.New("backoff: retry budget exhausted")

// An Option configures Retry. Options are plain values: building and passing
// them allocates nothing.
type Option struct {
	kind optKind
	d    time.Duration // the count or duration of the option
	v    any           // the Policy, *Budget or function of the option
}

type optKind uint8

const (
	optNone optKind = iota
	optPolicy
	optMaxAttempts
	optMaxElapsed
	optAttemptTimeout
	optRetryIf
	optOnRetry
	optBudget
)

// DefaultMaxAttempts is the number of attempts Retry makes unless
// WithMaxAttempts says otherwise.
const DefaultMaxAttempts = 10

// defaultPolicy is full jitter over 100ms, 200ms, ... capped at 10s.
var defaultPolicy Policy = NewFullJitter(NewExponential(100*time.Millisecond, 2, 10*time.Second), nil)

// WithPolicy sets the policy that gives the delay before each retry.
// Default: full jitter over an exponential from 100ms doubling to 10s.
// It panics if p is nil.
func WithPolicy(p Policy) Option {
	if p == nil {
		panic("backoff: WithPolicy(nil)")
	}
	return Option{kind: optPolicy, v: p}
}

// WithMaxAttempts sets the number of attempts, the first included. Default:
// DefaultMaxAttempts. Use math.MaxInt for no limit (with a context deadline
// or WithMaxElapsed). It panics if n < 1.
func WithMaxAttempts(n int) Option {
	if n < 1 {
		panic("backoff: WithMaxAttempts needs n >= 1")
	}
	return Option{kind: optMaxAttempts, d: time.Duration(n)}
}

// WithMaxElapsed stops retrying when the next retry would start more than d
// after the first attempt began; Retry then returns the last error. Default:
// no limit. WithMaxElapsed(0) makes a single attempt.
func WithMaxElapsed(d time.Duration) Option {
	return Option{kind: optMaxElapsed, d: d}
}

// WithAttemptTimeout gives each attempt a context that ends after d. An
// attempt that times out is retried like any failure. Default: none (each
// attempt gets Retry's context). It costs a context and a timer per attempt.
// It panics if d <= 0.
func WithAttemptTimeout(d time.Duration) Option {
	if d <= 0 {
		panic("backoff: WithAttemptTimeout needs d > 0")
	}
	return Option{kind: optAttemptTimeout, d: d}
}

// WithRetryIf sets the classifier: Retry stops and returns err when f(err)
// is false. Default: every error is retried except Permanent ones.
func WithRetryIf(f func(err error) bool) Option {
	return Option{kind: optRetryIf, v: f}
}

// WithOnRetry sets a hook called before each wait with the attempt that just
// failed (from 1), its error and the delay about to be waited.
func WithOnRetry(f func(attempt int, err error, delay time.Duration)) Option {
	return Option{kind: optOnRetry, v: f}
}

// WithBudget makes Retry deposit into b after a success and withdraw from it
// before each retry; when b refuses, Retry returns an error wrapping both
// ErrBudgetExhausted and the last attempt's error. Default: no budget.
func WithBudget(b *Budget) Option {
	return Option{kind: optBudget, v: b}
}

// Permanent wraps err so that Retry stops at once and returns err itself.
// Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// RetryAfter wraps err with a hint that the next retry should wait d, as a
// server's Retry-After header asks; Retry waits d instead of its policy's
// delay (still bounded by WithMaxElapsed and the context). Any error in the
// chain with a method RetryAfter() time.Duration is honoured the same way.
// RetryAfter(nil, d) is nil.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	if d < 0 {
		d = 0
	}
	return &retryAfterError{err: err, d: d}
}

type retryAfterError struct {
	err error
	d   time.Duration
}

func (e *retryAfterError) Error() string             { return e.err.Error() }
func (e *retryAfterError) Unwrap() error             { return e.err }
func (e *retryAfterError) RetryAfter() time.Duration { return e.d }

// find walks err's chain (Unwrap() error and Unwrap() []error) depth first
// and returns the first error for which match is true. Unlike errors.As it
// allocates nothing.
func find(err error, match func(error) bool) error {
	for err != nil {
		if match(err) {
			return err
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if f := find(e, match); f != nil {
					return f
				}
			}
			return nil
		default:
			return nil
		}
	}
	return nil
}

func isPermanent(err error) bool { _, ok := err.(*permanentError); return ok }

func hasRetryAfter(err error) bool {
	_, ok := err.(interface{ RetryAfter() time.Duration })
	return ok
}

// ctxError keeps both the context's error and the last attempt's.
type ctxError struct {
	ctx, last error
}

func (e *ctxError) Error() string {
	return "backoff: " + e.ctx.Error() + " (last attempt: " + e.last.Error() + ")"
}
func (e *ctxError) Unwrap() []error { return []error{e.ctx, e.last} }

// budgetError keeps both ErrBudgetExhausted and the last attempt's error.
type budgetError struct{ last error }

func (e *budgetError) Error() string {
	return fmt.Sprintf("%v (last attempt: %v)", ErrBudgetExhausted, e.last)
}
func (e *budgetError) Unwrap() []error { return []error{ErrBudgetExhausted, e.last} }

type config struct {
	policy         Policy
	maxAttempts    int
	maxElapsed     time.Duration
	hasMaxElapsed  bool
	attemptTimeout time.Duration
	retryIf        func(error) bool
	onRetry        func(int, error, time.Duration)
	budget         *Budget
}

// Retry calls op until it succeeds and returns its result. Between attempts
// it waits the policy's delay, or the delay a RetryAfter hint asks for,
// without holding a goroutine other than the caller's. It stops and returns
// the zero T and an error when:
//
//   - op returns a Permanent error: that error, unwrapped;
//   - the classifier (WithRetryIf) refuses the error: that error;
//   - the attempts (WithMaxAttempts, default 10) or the elapsed time
//     (WithMaxElapsed) run out: the last error;
//   - the Budget refuses a retry: an error matching ErrBudgetExhausted and
//     the last error;
//   - ctx ends: an error matching both ctx.Err() and the last attempt's
//     error with errors.Is (only ctx.Err() if no attempt was made).
//
// On success Retry allocates nothing and reads no clock unless
// WithMaxElapsed is set.
func Retry[T any](ctx context.Context, op func(ctx context.Context) (T, error), opts ...Option) (T, error) {
	// The success path reads only the two options it needs; the others are
	// read after a failure.
	var timeout time.Duration
	var budget *Budget
	for i := range opts {
		switch o := &opts[i]; o.kind {
		case optAttemptTimeout:
			timeout = o.d
		case optBudget:
			budget, _ = o.v.(*Budget)
		}
	}
	if err := ctx.Err(); err != nil {
		var zero T
		return zero, err
	}
	var start time.Time
	if hasMaxElapsed(opts) {
		start = time.Now()
	}
	var v T
	var err error
	if timeout <= 0 {
		v, err = op(ctx)
	} else {
		v, err = callWithTimeout(ctx, op, timeout)
	}
	if err == nil {
		if budget != nil {
			budget.Deposit()
		}
		return v, nil
	}
	return retryAfterFailure(ctx, op, opts, start, err)
}

// hasMaxElapsed reports whether opts set a maximum elapsed time.
func hasMaxElapsed(opts []Option) bool {
	for i := range opts {
		if opts[i].kind == optMaxElapsed {
			return true
		}
	}
	return false
}

// retryAfterFailure continues Retry after the first attempt, begun at start
// (read only with WithMaxElapsed), failed with err.
func retryAfterFailure[T any](ctx context.Context, op func(ctx context.Context) (T, error), opts []Option, start time.Time, err error) (T, error) {
	c := config{policy: defaultPolicy, maxAttempts: DefaultMaxAttempts}
	for i := range opts {
		o := &opts[i]
		switch o.kind {
		case optPolicy:
			c.policy = o.v.(Policy)
		case optMaxAttempts:
			c.maxAttempts = int(o.d)
		case optMaxElapsed:
			c.maxElapsed, c.hasMaxElapsed = o.d, true
		case optAttemptTimeout:
			c.attemptTimeout = o.d
		case optRetryIf:
			c.retryIf, _ = o.v.(func(error) bool)
		case optOnRetry:
			c.onRetry, _ = o.v.(func(int, error, time.Duration))
		case optBudget:
			c.budget, _ = o.v.(*Budget)
		}
	}
	var zero T
	var prev time.Duration
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			var v T
			v, err = callOnce(ctx, op, c.attemptTimeout)
			if err == nil {
				if c.budget != nil {
					c.budget.Deposit()
				}
				return v, nil
			}
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return zero, &ctxError{ctx: ctxErr, last: err}
		}
		if p := find(err, isPermanent); p != nil {
			return zero, p.(*permanentError).err
		}
		if c.retryIf != nil && !c.retryIf(err) {
			return zero, err
		}
		if attempt >= c.maxAttempts {
			return zero, err
		}
		var delay time.Duration
		if h := find(err, hasRetryAfter); h != nil {
			delay = h.(interface{ RetryAfter() time.Duration }).RetryAfter()
		} else if cp, ok := c.policy.(ChainedPolicy); ok {
			delay = cp.DelayAfter(attempt, prev)
		} else {
			delay = c.policy.Delay(attempt)
		}
		prev = delay
		if c.hasMaxElapsed && time.Since(start)+delay > c.maxElapsed {
			return zero, err
		}
		if c.budget != nil && !c.budget.Withdraw() {
			return zero, &budgetError{last: err}
		}
		if c.onRetry != nil {
			c.onRetry(attempt, err, delay)
		}
		if ctxErr := wait(ctx, delay); ctxErr != nil {
			return zero, &ctxError{ctx: ctxErr, last: err}
		}
	}
}

// spinLimit is the longest delay waited by yielding the processor instead
// of with a timer: the runtime's timers overshoot short delays by tens of
// microseconds or more.
const spinLimit = 50 * time.Microsecond

// wait waits d or until ctx ends, and returns ctx.Err() if it ended.
func wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	if d <= spinLimit {
		start := time.Now()
		for {
			runtime.Gosched()
			el := time.Since(start)
			if el >= d {
				return ctx.Err()
			}
			if el == 0 {
				// The clock did not move: a fake clock (testing/synctest)
				// or a coarse one. Only a timer can wait for it.
				break
			}
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	if ctx.Done() == nil {
		// A context that can never end needs no select: sleeping uses the
		// goroutine's own timer and allocates nothing.
		time.Sleep(d)
		return nil
	}
	t := time.NewTimer(d)
	select {
	case <-ctx.Done():
		t.Stop()
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// callOnce runs one attempt, under its own timeout if d > 0.
func callOnce[T any](ctx context.Context, op func(ctx context.Context) (T, error), d time.Duration) (T, error) {
	if d <= 0 {
		return op(ctx)
	}
	return callWithTimeout(ctx, op, d)
}

func callWithTimeout[T any](ctx context.Context, op func(ctx context.Context) (T, error), d time.Duration) (T, error) {
	actx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return op(actx)
}
