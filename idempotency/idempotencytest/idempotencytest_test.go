package idempotencytest_test

import (
	"testing"

	"github.com/distkit/distkit/idempotency"
	"github.com/distkit/distkit/idempotency/idempotencytest"
)

func TestRunLocal(t *testing.T) {
	idempotencytest.Run(t, func(t *testing.T) idempotency.Store { return idempotency.NewLocal() })
}
