// Package idempotency makes retried requests and redelivered messages take
// effect once: the first attempt with a key runs and its result is stored,
// and every later attempt with the same key gets the stored result back.
//
// A Store records, per key, a request fingerprint and either an owner (while
// the work runs, for a lock TTL) or the completed result (for a retention
// TTL). Completion is fenced by the owner's token: a holder whose lock TTL
// passed cannot overwrite the result of the holder that took over. Expiry
// protects against holders that crash; lock TTLs must outlast the work, or
// the work may run twice.
//
// Do runs a function at most once per key to completion, for queue consumers
// and other code without HTTP. Middleware does the same for HTTP handlers,
// following the IETF draft "The Idempotency-Key HTTP Header Field": it
// captures the response and replays it byte for byte.
//
// Monitoring: WithCounters makes Do and Middleware count executions,
// replays, conflicts and store errors in a Counters, whose Stats method
// reports them; Local.Stats reports a Local's records and evictions, and
// redisidempotency's Store.Stats its round trips.
//
// Local is a bounded in-memory Store for one process and for tests. Package
// redisidempotency provides a Store shared through Redis, and package
// idempotencytest the conformance suite every Store passes. Errors are
// ErrInProgress, ErrMismatch, ErrNotHeld, ErrEmptyKey, ErrInvalidTTL,
// ErrTooLarge, ErrFull, or wrap an error from the backend.
package idempotency
