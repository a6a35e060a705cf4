// Package redisratelimit provides a ratelimit.Limiter shared through Redis,
// so that every process limiting a key draws on one budget.
//
// Each decision is one round trip: a Lua script that runs GCRA (the generic
// cell rate algorithm) on one Redis key per limited key, reads the time with
// Redis TIME so that all processes share one clock, and sets a PX expiry so
// that a key vanishes as soon as its bucket is full again. A script touches
// exactly one key, so the limiter works on Redis Cluster unchanged.
// AllowAtMost admits part of a request, as many events as the budget holds,
// in one round trip too.
//
// When Redis cannot be reached or does not answer before the context is
// done, a decision returns an error wrapping the cause and a Decision that
// does not allow; what to do then (fail open or closed) is the caller's
// choice, and ratelimit.Middleware makes it an option.
//
// Monitoring: Limiter.Stats counts the decisions sent to Redis, the denied
// ones and the failed ones, without a round trip.
package redisratelimit
