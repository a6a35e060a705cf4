package queue_test

import (
	"testing"

	"github.com/distkit/distkit/queue"
	"github.com/distkit/distkit/queue/queuetest"
)

func TestLocalConformance(t *testing.T) {
	queuetest.Run(t, func(t *testing.T, maxAttempts int) queue.Queue {
		return queue.NewLocal(queue.WithMaxAttempts(maxAttempts))
	})
}
