package idgen

import (
	"fmt"
	"time"
)

// DefaultEpoch is the epoch of DefaultLayout: 2024-01-01 00:00:00 UTC.
var DefaultEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// A Layout describes how an ID splits its 63 bits (the sign bit stays zero):
// from the top, TimeBits of ticks since Epoch, WorkerBits of worker ID and
// SequenceBits of sequence number within a tick. One generator issues at most
// 2^SequenceBits IDs per Tick, for 2^TimeBits ticks after Epoch.
//
// A Layout is a plain value; check it with Validate. Every process that
// decodes or generates a fleet's IDs must use the same Layout.
type Layout struct {
	TimeBits     int           // bits of ticks since Epoch
	WorkerBits   int           // bits of worker ID
	SequenceBits int           // bits of sequence number within a tick
	Epoch        time.Time     // time of tick zero; not in the future
	Tick         time.Duration // length of one tick; > 0
}

// DefaultLayout returns the layout New uses unless told otherwise: 41 bits of
// milliseconds since DefaultEpoch, 10 bits of worker ID (1024 workers) and 12
// bits of sequence (4096 IDs per millisecond, 4.096M per second, per
// generator). Its lifetime is 2^41 ms, about 69.7 years: until September 2093.
func DefaultLayout() Layout {
	return Layout{TimeBits: 41, WorkerBits: 10, SequenceBits: 12, Epoch: DefaultEpoch, Tick: time.Millisecond}
}

// SonyflakeLayout returns a layout with the widths and tick of
// sony/sonyflake (v1): 39 bits of 10 ms ticks since 2014-09-01 UTC, 16 bits
// of worker ID and 8 bits of sequence. It lasts about 174 years and caps a
// generator at 25,600 IDs per second. Sonyflake puts the sequence above the
// machine ID, so its own IDs do not decode under this layout.
func SonyflakeLayout() Layout {
	return Layout{
		TimeBits: 39, WorkerBits: 8 + 8, SequenceBits: 8,
		Epoch: time.Date(2014, 9, 1, 0, 0, 0, 0, time.UTC), Tick: 10 * time.Millisecond,
	}
}

// Validate reports whether l can work: TimeBits and SequenceBits at least 1,
// WorkerBits at least 0, all three summing to 63, Tick positive and Epoch set.
// Its error wraps ErrInvalidLayout and says which rule failed. It does not
// look at the clock; New also checks that Epoch is not in the future and the
// lifetime not over.
func (l Layout) Validate() error {
	switch {
	case l.TimeBits < 1 || l.SequenceBits < 1 || l.WorkerBits < 0:
		return fmt.Errorf("%w: bits %d/%d/%d; time and sequence bits must be at least 1, worker bits at least 0",
			ErrInvalidLayout, l.TimeBits, l.WorkerBits, l.SequenceBits)
	case l.TimeBits+l.WorkerBits+l.SequenceBits != 63:
		return fmt.Errorf("%w: time+worker+sequence bits = %d+%d+%d = %d; want 63",
			ErrInvalidLayout, l.TimeBits, l.WorkerBits, l.SequenceBits, l.TimeBits+l.WorkerBits+l.SequenceBits)
	case l.Tick <= 0:
		return fmt.Errorf("%w: tick %v; want > 0", ErrInvalidLayout, l.Tick)
	case l.Epoch.IsZero():
		return fmt.Errorf("%w: epoch not set", ErrInvalidLayout)
	}
	return nil
}

// validateAt is Validate plus the checks that depend on the time now.
func (l Layout) validateAt(now time.Time) error {
	if err := l.Validate(); err != nil {
		return err
	}
	if l.Epoch.After(now) {
		return fmt.Errorf("%w: epoch %v is in the future", ErrInvalidLayout, l.Epoch.UTC())
	}
	if now.Sub(l.Epoch) == maxDuration {
		return fmt.Errorf("%w: epoch %v is more than %v ago", ErrInvalidLayout, l.Epoch.UTC(), maxDuration)
	}
	if end, ok := l.end(); ok && !now.Before(end) {
		return fmt.Errorf("%w: lifetime of epoch %v ended at %v", ErrLayoutExpired, l.Epoch.UTC(), end.UTC())
	}
	return nil
}

// maxDuration is where time.Time.Sub saturates: about 292 years. Instants
// are measured from the epoch in nanoseconds, so none may lie further.
const maxDuration = time.Duration(1<<63 - 1)

// Lifetime returns how long after Epoch the layout's time field lasts,
// Tick × 2^TimeBits, or the largest Duration if that is longer.
func (l Layout) Lifetime() time.Duration {
	if l.TimeBits >= 63 || l.Tick <= 0 {
		return maxDuration
	}
	ticks := int64(1) << l.TimeBits
	if int64(l.Tick) > int64(maxDuration)/ticks {
		return maxDuration
	}
	return time.Duration(ticks) * l.Tick
}

// end returns the first time that no longer fits, if it is representable.
func (l Layout) end() (time.Time, bool) {
	d := l.Lifetime()
	if d == maxDuration {
		return time.Time{}, false
	}
	return l.Epoch.Add(d), true
}

// MaxWorker returns the largest worker ID the layout holds, 2^WorkerBits-1.
func (l Layout) MaxWorker() int64 { return 1<<l.WorkerBits - 1 }

// MaxSequence returns the largest sequence number of a tick,
// 2^SequenceBits-1.
func (l Layout) MaxSequence() int64 { return 1<<l.SequenceBits - 1 }

// Parts are the fields of an ID under a Layout.
type Parts struct {
	Time     time.Time // start of the ID's tick, in UTC
	Worker   int64     // worker ID
	Sequence int64     // sequence number within the tick
}

// Decode splits id into its time, worker ID and sequence number under l. It
// does not validate l; under an invalid layout the parts mean nothing.
func (l Layout) Decode(id ID) Parts {
	v := uint64(id)
	seq := v & (1<<l.SequenceBits - 1)
	worker := (v >> l.SequenceBits) & (1<<l.WorkerBits - 1)
	ticks := v >> (l.SequenceBits + l.WorkerBits)
	return Parts{
		Time:     l.Epoch.Add(time.Duration(ticks) * l.Tick).UTC(),
		Worker:   int64(worker),
		Sequence: int64(seq),
	}
}

// Compose returns the ID with the given parts under l, with t rounded down to
// its tick: the smallest ID of that tick and worker when seq is 0, which makes
// it a bound for range queries over IDs. Its error wraps ErrInvalidLayout,
// ErrLayoutExpired (t before Epoch or past the lifetime), ErrWorkerRange or
// ErrInvalidID (sequence out of range).
func (l Layout) Compose(t time.Time, worker, seq int64) (ID, error) {
	if err := l.Validate(); err != nil {
		return 0, err
	}
	if t.Before(l.Epoch) {
		return 0, fmt.Errorf("%w: time %v before epoch %v", ErrLayoutExpired, t.UTC(), l.Epoch.UTC())
	}
	d := t.Sub(l.Epoch)
	ticks := int64(d / l.Tick)
	if end, ok := l.end(); (ok && !t.Before(end)) || ticks>>l.TimeBits != 0 || d == maxDuration {
		return 0, fmt.Errorf("%w: time %v", ErrLayoutExpired, t.UTC())
	}
	if worker < 0 || worker > l.MaxWorker() {
		return 0, fmt.Errorf("%w: worker %d; want 0..%d", ErrWorkerRange, worker, l.MaxWorker())
	}
	if seq < 0 || seq > l.MaxSequence() {
		return 0, fmt.Errorf("%w: sequence %d; want 0..%d", ErrInvalidID, seq, l.MaxSequence())
	}
	return ID(ticks<<(l.WorkerBits+l.SequenceBits) | worker<<l.SequenceBits | seq), nil
}
