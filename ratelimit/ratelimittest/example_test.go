package ratelimittest_test

import (
	"testing"

	"github.com/distkit/distkit/ratelimit"
	"github.com/distkit/distkit/ratelimit/ratelimittest"
)

// A backend's test runs the suite with a function that builds a fresh
// limiter for each Limit the suite asks for; here the in-memory Local.
func ExampleRun() {
	var t *testing.T // the *testing.T of a TestXxx function
	ratelimittest.Run(t, func(t *testing.T, limit ratelimit.Limit) ratelimit.Limiter {
		return ratelimit.NewLocal(limit)
	})
}
