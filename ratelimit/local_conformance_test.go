package ratelimit_test

import (
	"testing"

	"github.com/distkit/distkit/ratelimit"
	"github.com/distkit/distkit/ratelimit/ratelimittest"
)

func TestLocalConformance(t *testing.T) {
	ratelimittest.Run(t, func(t *testing.T, limit ratelimit.Limit) ratelimit.Limiter {
		return ratelimit.NewLocal(limit)
	})
}
