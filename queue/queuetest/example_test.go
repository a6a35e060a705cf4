package queuetest_test

import (
	"testing"

	"github.com/distkit/distkit/queue"
	"github.com/distkit/distkit/queue/queuetest"
)

// A backend's test runs the suite with a function that returns a new, empty
// queue with the given MaxAttempts; here the in-memory Local.
func ExampleRun() {
	var t *testing.T // the *testing.T of a TestXxx function
	queuetest.Run(t, func(t *testing.T, maxAttempts int) queue.Queue {
		return queue.NewLocal(queue.WithMaxAttempts(maxAttempts))
	})
}
