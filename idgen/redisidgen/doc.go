// Package redisidgen leases snowflake worker IDs from Redis, so that a fleet
// of processes gets distinct worker IDs without configuration.
//
// Acquire claims the lowest free worker ID in one round trip (a script doing
// SET NX PX over the layout's worker IDs), returns a Lease that issues IDs
// from an idgen.Snowflake, and renews the claim in the background every third
// of its TTL until Close, which releases it. Expiry is decided by the Redis
// server's clock (PX), so the processes' clocks need not agree on it.
//
// A lease never risks a duplicate to keep issuing: its generator stops with
// idgen.ErrLeaseLost once the TTL, less the generator's maximum lead and a
// tick, has passed since the last successful renewal was sent, measured on
// the holder's monotonic clock, so a holder that was paused stops before its worker ID can
// pass to another process. After a failed renewal it resumes when a renewal
// succeeds; if another process holds the ID by then, the lease is lost for
// good. A released worker ID stays reserved for the maximum lead, during
// which the released generator may have issued IDs ahead of the clock.
//
// Redis losing data (a restart without persistence, a failover to a lagging
// replica) is detected with a marker key without TTL: a claim that finds it
// missing waits one TTL before issuing, by which time every earlier holder has
// stopped. All keys share the hash tag {workers}, so that each script stays
// on one Redis Cluster slot.
//
// Monitoring: Lease.Stats counts renewals, reclaims, failed renewals and
// lapses of the generator, says whether the lease is lost, and includes the
// generator's idgen.Stats; it does no I/O.
package redisidgen
