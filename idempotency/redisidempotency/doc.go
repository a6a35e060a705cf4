// Package redisidempotency provides an idempotency.Store shared through a
// Redis server, so that every process of a service sees the same keys.
//
// Each idempotency key is one Redis hash, named prefix + "{" + key + "}", that
// expires by itself (PEXPIRE): after the lock TTL while in progress, after the
// retention once completed. Begin, Complete and Release are each one Lua
// script, so each costs one round trip and is atomic; every script touches a
// single key, so the Store runs on Redis Cluster. Expiry uses the server's
// clock. Results are limited to idempotency.MaxResultSize bytes; Complete
// returns idempotency.ErrTooLarge above that.
//
// Monitoring: Store.Stats counts the calls sent to Redis and the failed ones,
// without a round trip; idempotency.Counters counts what Do and Middleware
// did with the Store.
//
// Errors are the sentinels of package idempotency, or wrap the error of the
// Redis client with the operation and key.
package redisidempotency
