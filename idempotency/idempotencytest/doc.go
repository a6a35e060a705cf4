// Package idempotencytest provides the conformance suite that every
// idempotency.Store passes, in the style of testing/fstest.TestFS. A user who
// writes a Store on another database runs the same suite:
//
//	func TestStore(t *testing.T) {
//		idempotencytest.Run(t, func(t *testing.T) idempotency.Store { return mystore.New(...) })
//	}
//
// The suite checks the lifecycle of a key (begin, complete, replay, release),
// fingerprint mismatches, owner fencing after a lock TTL passed, expiry,
// independent keys, bad input (empty key, TTLs that are not positive, a
// result over idempotency.MaxResultSize) and cancelled contexts; that 50
// goroutines beginning one key run the work once and all see its result;
// and, end to end through a real net/http server and client with dropped
// connections and lost responses, that idempotency.Middleware over the
// store charges each payment exactly once.
//
// It uses lock TTLs and retentions of tens of milliseconds of real time and
// polls with deadlines, so the store must expire records within about a
// second of their TTL. Run it with -race.
package idempotencytest
