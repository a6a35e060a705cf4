package ratelimittest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/distkit/distkit/internal/suitetest"
	"github.com/distkit/distkit/ratelimit"
	"github.com/distkit/distkit/ratelimit/ratelimittest"
)

// A variant is a Limiter that breaks one promise, and the subtests of the
// suite that must catch it.
type variant struct {
	name   string
	allowN allowN
	atMost atMost // nil: the Local's
	fail   []string
}

// An atMost is the AllowAtMost of a broken Limiter over the Local l.
type atMost func(l broken, ctx context.Context, key string, n int) (int, ratelimit.Decision, error)

// An allowN is the AllowN of a broken Limiter over the Local l.
type allowN func(l broken, ctx context.Context, key string, n int) (ratelimit.Decision, error)

var variants = []variant{
	{
		name:   "always-allows",
		allowN: edit(func(d *ratelimit.Decision) { d.Allowed, d.RetryAfter = true, 0 }),
		fail:   []string{"Burst", "Cost", "Refill", "KeyIsolation", "Concurrent", "ZeroAndInf"},
	},
	{
		name: "never-refills",
		allowN: func(l broken, _ context.Context, key string, n int) (ratelimit.Decision, error) {
			return l.AllowNAt(l.born, key, n)
		},
		fail: []string{"Refill"},
	},
	{
		name: "refills-three-times-too-fast",
		allowN: func(l broken, _ context.Context, key string, n int) (ratelimit.Decision, error) {
			return l.AllowNAt(l.born.Add(3*time.Since(l.born)), key, n)
		},
		fail: []string{"Refill"},
	},
	{
		name: "ignores-cost",
		allowN: func(l broken, ctx context.Context, key string, n int) (ratelimit.Decision, error) {
			return l.Local.AllowN(ctx, key, min(n, 1))
		},
		fail: []string{"Cost", "Refill", "BadInput"},
	},
	{
		name:   "retry-after-halved",
		allowN: edit(func(d *ratelimit.Decision) { d.RetryAfter /= 2 }),
		fail:   []string{"Burst", "Cost", "Refill", "ZeroAndInf"},
	},
	{
		name:   "remaining-off-by-one",
		allowN: edit(func(d *ratelimit.Decision) { d.Remaining++ }),
		fail:   []string{"Burst", "Cost"},
	},
	{
		name:   "no-reset-after",
		allowN: edit(func(d *ratelimit.Decision) { d.ResetAfter = 0 }),
		fail:   []string{"Burst", "Cost"},
	},
	{
		name:   "no-limit-in-decision",
		allowN: edit(func(d *ratelimit.Decision) { d.Limit = ratelimit.Limit{} }),
		fail:   []string{"Burst"},
	},
	{
		name: "keys-collide",
		allowN: func(l broken, ctx context.Context, key string, n int) (ratelimit.Decision, error) {
			if key != "" {
				key = "one"
			}
			return l.Local.AllowN(ctx, key, n)
		},
		fail: []string{"Cost", "KeyIsolation"},
	},
	{
		name: "input-not-checked",
		allowN: func(l broken, ctx context.Context, key string, n int) (ratelimit.Decision, error) {
			return l.Local.AllowN(ctx, key+"-", min(max(n, 0), l.Limit().Burst))
		},
		fail: []string{"BadInput", "ZeroAndInf"},
	},
	{
		name:   "at-most-all-or-nothing",
		allowN: edit(func(*ratelimit.Decision) {}),
		atMost: func(l broken, ctx context.Context, key string, n int) (int, ratelimit.Decision, error) {
			d, err := l.Local.AllowN(ctx, key, min(n, l.Limit().Burst))
			if err != nil || !d.Allowed {
				return 0, d, err
			}
			return min(n, l.Limit().Burst), d, nil
		},
		fail: []string{"AtMost"},
	},
	{
		name:   "at-most-over-admits",
		allowN: edit(func(*ratelimit.Decision) {}),
		atMost: func(l broken, ctx context.Context, key string, n int) (int, ratelimit.Decision, error) {
			k, d, err := l.Local.AllowAtMost(ctx, key, n)
			if err == nil && n > 0 {
				k, d.Allowed = min(n, l.Limit().Burst), true
			}
			return k, d, err
		},
		fail: []string{"AtMost"},
	},
	{
		name: "store-down",
		allowN: func(broken, context.Context, string, int) (ratelimit.Decision, error) {
			return ratelimit.Decision{}, errors.New("store unavailable")
		},
		fail: []string{"Burst", "Cost", "Refill", "KeyIsolation", "Concurrent", "BadInput", "ZeroAndInf"},
	},
}

// TestBrokenLimiters runs the suite against each variant in a child process
// and checks that it fails where it should.
func TestBrokenLimiters(t *testing.T) {
	var cases []suitetest.Case
	for _, v := range variants {
		cases = append(cases, suitetest.Case{Name: v.name, Fail: v.fail, Suite: func(t *testing.T) {
			ratelimittest.Run(t, func(t *testing.T, limit ratelimit.Limit) ratelimit.Limiter {
				return broken{ratelimit.NewLocal(limit), time.Now(), v.allowN, v.atMost}
			})
		}})
	}
	suitetest.Run(t, cases...)
}

// broken is a Limiter over a Local whose AllowN is replaced.
type broken struct {
	*ratelimit.Local
	born   time.Time
	allowN allowN
	atMost atMost
}

func (l broken) AllowAtMost(ctx context.Context, key string, n int) (int, ratelimit.Decision, error) {
	if l.atMost == nil {
		return l.Local.AllowAtMost(ctx, key, n)
	}
	return l.atMost(l, ctx, key, n)
}

func (l broken) Allow(ctx context.Context, key string) (ratelimit.Decision, error) {
	return l.AllowN(ctx, key, 1)
}

func (l broken) AllowN(ctx context.Context, key string, n int) (ratelimit.Decision, error) {
	return l.allowN(l, ctx, key, n)
}

// edit returns the AllowN of the Local, with f applied to its decisions.
func edit(f func(*ratelimit.Decision)) allowN {
	return func(l broken, ctx context.Context, key string, n int) (ratelimit.Decision, error) {
		d, err := l.Local.AllowN(ctx, key, n)
		if err == nil {
			f(&d)
		}
		return d, err
	}
}
