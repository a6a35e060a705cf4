package idgen

import "time"

// withClock replaces the monotonic clock with f, in ns since construction.
func withClock(f func() int64) Option { return func(c *config) { c.clock = f } }

// withNow replaces time.Now at construction.
func withNow(f func() time.Time) Option { return func(c *config) { c.timeNow = f } }
