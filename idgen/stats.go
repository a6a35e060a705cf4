package idgen

import "time"

// Stats is a snapshot of a Snowflake's counters since New. Next and NextAt
// count only rare events (a tick's sequence running out, a wait, a clock
// stepping back, an error), so counting costs the common path nothing.
type Stats struct {
	// Waits counts the times Next slept for the clock because the sequence
	// was used up to the maximum lead.
	Waits uint64
	// Waited is how long Next slept in all.
	Waited time.Duration
	// BorrowedTicks counts ticks borrowed ahead of the clock: a tick's
	// sequence ran out and IDs went on from the following tick before the
	// clock reached it (each borrowed tick holds up to 1<<SequenceBits IDs).
	BorrowedTicks uint64
	// Exhausted counts Next and NextAt calls that returned ErrExhausted.
	Exhausted uint64
	// ClockRegressions counts NextAt calls given a time before the latest
	// tick seen, within MaxSkew, that the logical clock absorbed (a clock
	// stepping back, or readings passed in out of order).
	ClockRegressions uint64
	// ClockBackwards counts NextAt calls that returned ErrClockBackwards.
	ClockBackwards uint64
	// CoarseMisses counts the times Next, with WithCoarseClock, could not
	// issue an ID at the coarse clock's reading and read the precise clock
	// (moving the coarse one forward) before deciding to wait or fail.
	CoarseMisses uint64
	// Lead is how far the time of the last ID issued runs ahead of the
	// clock (or of the latest time passed to NextAt, if later), in whole
	// ticks, when Stats is called; 0 when it does not.
	Lead time.Duration
}

// Stats returns a snapshot of the generator's counters. It is safe to call
// concurrently with Next and allocates nothing.
func (s *Snowflake) Stats() Stats {
	st := Stats{
		Waits:            s.waits.Load(),
		Waited:           time.Duration(s.waited.Load()),
		BorrowedTicks:    s.borrowed.Load(),
		Exhausted:        s.exhausted.Load(),
		ClockRegressions: s.regressions.Load(),
		ClockBackwards:   s.backwards.Load(),
		CoarseMisses:     s.coarseMisses.Load(),
	}
	// The clock is the later of the monotonic clock and the latest tick
	// seen, which NextAt's callers may have set ahead of it.
	if lead := int64(s.state.Load()>>s.seqBits) - max(s.tickOf(s.preciseNow()), s.high.Load()); lead > 0 {
		st.Lead = time.Duration(lead * s.tickNs)
	}
	return st
}

// issued counts the rare events of issuing state st: a tick borrowed ahead
// of the clock. Callers call it only for the first ID of a tick.
func (s *Snowflake) issued(st uint64) {
	if int64(st>>s.seqBits) > s.high.Load() {
		s.borrowed.Add(1)
	}
}

// failed counts err, returned by Next or NextAt.
func (s *Snowflake) failed(err error) {
	switch err {
	case ErrExhausted:
		s.exhausted.Add(1)
	case ErrClockBackwards:
		s.backwards.Add(1)
	}
}
