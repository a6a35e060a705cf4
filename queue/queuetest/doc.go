// Package queuetest is the conformance suite for implementations of
// queue.Queue.
//
// A backend's test calls Run with a function that returns a new, empty queue
// configured with the given MaxAttempts and otherwise its defaults (the body
// size limit queue.DefaultMaxBodySize, a dedup window of at least a minute).
// The suite uses real time with visibility timeouts and delays of a few
// hundred milliseconds, runs its subtests in parallel, and takes a few
// seconds. A queue that also has Len(ctx) (queue.Counts, error), as Local and
// redisqueue.Queue do, has its counts checked too.
package queuetest
