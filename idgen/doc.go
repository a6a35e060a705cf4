// Package idgen generates unique, roughly time-ordered 64-bit IDs without a
// central database, in the snowflake scheme: each ID packs a time, a worker
// ID and a sequence number, as described by a Layout.
//
// A Snowflake issues IDs for one worker ID. Next is lock-free (the time and
// sequence live in one atomic word, moved by one atomic add within a tick)
// and its IDs are strictly increasing. It reads the monotonic clock, which a
// step of the wall clock cannot move back. When a tick's sequence is used up
// it borrows the following ticks, at most MaxLead ahead of the clock, and then
// waits (up to MaxWait) or returns ErrExhausted.
// NextAt takes the time explicitly: a time earlier than one already seen is a
// clock stepping back, absorbed by a logical clock up to MaxSkew, past which
// NextAt returns ErrClockBackwards. WithCoarseClock trades a tick of time
// accuracy for a much cheaper Next; such a generator must be closed.
//
// IDs are unique across processes only if no two live generators share a
// worker ID and the hosts' clocks agree to within a tick or so. A worker ID
// may be static, taken from the host's private IPv4 address (HostWorker), or
// leased from Redis by package redisidgen, whose leases stop the generator
// (ErrLeaseLost) rather than risk a duplicate. A worker ID must not be reused
// within MaxLead of its previous holder stopping.
//
// An ID prints in decimal (String; JSON as a string, since JavaScript loses
// integers above 2^53), sortable base32 and base58, and bwmarrin/snowflake's
// base36; ParseID, ParseBase32, ParseBase58 and ParseBase36 read them back,
// rejecting anything else with an error wrapping ErrInvalidID.
//
// Monitoring: Snowflake.Stats counts the rare events of Next and NextAt
// (waits, ticks borrowed ahead of the clock, clock regressions, errors) and
// reports the current lead, at no cost to the common path.
package idgen
