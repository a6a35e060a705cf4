// Package redislock provides a lock.Locker shared through Redis.
//
// Every operation is one Lua script: one round trip to obtain a lease with
// its fencing token, one to refresh, one to release. The keys of one lock
// share the hash tag {key}, so the Locker works on Redis Cluster. Waiters in
// Lock queue in arrival order and are handed the lock by Release, without
// polling.
//
// Guarantees rest on one Redis server (one primary per Cluster shard): a
// lease is lost if that server restarts without persistence or fails over
// before replicating it. Fencing tokens survive both: a lock's counter counts
// up by one per grant from a start at the server's clock in microseconds, and
// starts from the clock again whenever it is lost (and once a day). As no
// key is granted more than once per microsecond, the counter never runs ahead
// of the clock, so tokens keep increasing across restarts as long as the
// server's clock is not set back. A stale holder is caught where its token is
// checked.
//
// Monitoring: Locker.Stats returns a lock.LockerStats (leases acquired,
// contended, refreshed, released and lost; errors from Redis) without a round
// trip.
package redislock
