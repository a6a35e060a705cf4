// Package locktest is the conformance suite every lock.Locker passes, in the
// style of testing/fstest.TestFS.
//
// A backend's test calls Run with a function returning Lockers: within one
// subtest, every Locker it returns must share one store (for a networked
// store: a new client of the same server), so that the suite can play several
// processes. The suite checks mutual exclusion under contention, fencing
// tokens, expiry, auto-renewal, hand-over on release and cancellation, with
// TTLs of a few hundred milliseconds and real time, and the counters of a
// Locker that has a Stats method returning lock.LockerStats.
package locktest
