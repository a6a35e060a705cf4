package redisqueue_test

import (
	"testing"

	"github.com/distkit/distkit/internal/redistest"
	"github.com/distkit/distkit/queue"
	"github.com/distkit/distkit/queue/queuetest"
	"github.com/distkit/distkit/queue/redisqueue"
)

func TestConformance(t *testing.T) {
	rdb := redistest.Start(t)
	queuetest.Run(t, func(t *testing.T, maxAttempts int) queue.Queue {
		return redisqueue.New(rdb, t.Name(), redisqueue.WithMaxAttempts(maxAttempts))
	})
}
