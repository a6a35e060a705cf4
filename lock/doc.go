// Package lock provides mutual exclusion across processes with leases and
// fencing tokens, and leader election on top of them.
//
// A Locker hands out a Lease on a key for a TTL; the store expires it unless
// the holder refreshes it (by hand, or with WithAutoRenew). Lease.Done closes
// once the holder can no longer be sure of it: a refresh failed, or the TTL
// minus a drift margin passed. Lock's waiters wake when the holder releases.
//
// What a lease protects against: holders that crash or are cut off. The
// store frees their key after the TTL. What it cannot protect against: a
// holder that stalls (a GC pause, a stopped VM, a slow network) past its
// TTL and then acts, believing it still holds the lock, after another holder
// has taken over. No lock service can prevent that; only the resource can. So
// each Lease carries a fencing token, strictly increasing for every grant of
// its key across holders and processes: pass Lease.Token with each write and
// have the resource refuse tokens lower than the highest it has seen.
//
// A Local serves the goroutines of one process, and tests. Package
// lock/redislock provides a Locker shared through one Redis server (or one
// Cluster shard per key). We do not ship Redlock (a majority of independent
// Redis servers): it adds round trips and servers, still depends on bounded
// clock drift and pauses for safety, and yields no fencing token, so it is
// neither needed where fencing is used nor sufficient where it is not.
//
// An Elector runs leader election on any Locker: the leader holds an
// auto-renewed lease, its term is the lease's token; a leader's context ends
// with cause ErrNotHeld (lease lost) or ErrResigned. Package lock/locktest is
// the conformance suite. Monitoring: a LockerStats from Local.Stats (or the
// Redis Locker's) counts leases acquired, contended, refreshed, released and
// lost, and store errors; Elector.Stats counts terms won and lost.
package lock
