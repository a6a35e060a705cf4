// Package ratelimit limits how often events may happen, in one process or,
// with package redisratelimit, across many.
//
// TokenBucket is one lock-free bucket, method-compatible with
// golang.org/x/time/rate's Limiter: switching is a matter of the import and
// the constructor. Unlike x/time/rate it never admits more than rate·T + burst
// events in any window of length T, even when timestamps arrive out of order
// or the clock steps back.
//
// Limiter is the keyed interface: one budget per key (a user, an IP address,
// an API token), described by a Limit such as PerSecond(10) or
// PerMinute(100).WithBurst(20). Each decision is a Decision carrying whether
// the event was allowed, what remains, and when to retry. Local implements it
// in memory with GCRA (the generic cell rate algorithm): one timestamp per
// key, sharded, allocation-free for a known key, and bounded in memory. Package
// redisratelimit implements it on Redis with one round trip per decision, so
// processes that share a key share one budget. Package ratelimittest holds
// the conformance suite both pass.
//
// Middleware applies a Limiter to a net/http handler: it answers 429 Too Many
// Requests with Retry-After, and sets the IETF RateLimit-Policy and RateLimit
// fields (draft-ietf-httpapi-ratelimit-headers) on every response.
//
// Monitoring: Local.Stats counts decisions and forgotten keys, WithCounters
// makes Middleware count requests, 429s and limiter errors, and
// redisratelimit's Limiter.Stats its round trips. TokenBucket has none: a
// shared counter would cost more than its Allow.
//
// Errors are ErrEmptyKey, ErrNegativeN and ErrExceedsBurst for bad input,
// ErrWouldExceedDeadline from TokenBucket.WaitN, or wrap a backend's.
package ratelimit
