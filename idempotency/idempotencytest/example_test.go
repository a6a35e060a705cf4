package idempotencytest_test

import (
	"testing"

	"github.com/distkit/distkit/idempotency"
	"github.com/distkit/distkit/idempotency/idempotencytest"
)

// A backend's test runs the suite with a function that returns a new, empty
// Store; here the in-memory Local.
func ExampleRun() {
	var t *testing.T // the *testing.T of a TestXxx function
	idempotencytest.Run(t, func(t *testing.T) idempotency.Store { return idempotency.NewLocal() })
}
