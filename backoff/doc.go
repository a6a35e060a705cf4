// Package backoff computes retry delays and retries operations with them.
//
// A Policy maps an attempt number to a delay. Policies hold no mutable state,
// so one value serves every goroutine: Constant, Linear and Exponential, and
// the three jitters of the AWS "Exponential Backoff And Jitter" analysis,
// FullJitter, EqualJitter and DecorrelatedJitter. Jitters draw from the
// runtime's per-thread generator unless given a rand.Source; SplitMix is a
// seeded Source that is safe for concurrent use, for deterministic tests.
//
// Retry calls an operation until it succeeds, returns a Permanent error, is
// classified as not retryable, runs out of attempts, elapsed time or Budget,
// or its context ends. A server's hint (RetryAfter, or any error with a
// RetryAfter() time.Duration method) replaces the policy's delay;
// ParseRetryAfter reads the HTTP Retry-After header. The success path
// allocates nothing. A Sequence walks a Policy with the methods of
// cenkalti/backoff's BackOff interface, for code written against it.
//
// A Budget caps retries to a fraction of successful calls plus a floor per
// second, so that a failing dependency sees at most a bounded extra load
// instead of a retry storm.
//
// Monitoring: Budget.Stats reports the balance and counts the retries
// allowed and refused; Retry reports every retry, with its attempt, error and
// delay, to the hook set by WithOnRetry, where the caller counts what it
// needs.
package backoff
