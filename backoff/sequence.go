package backoff

import "time"

// Stop is what Sequence.NextBackOff returns when no retry is left: -1, as
// cenkalti/backoff's Stop.
const Stop time.Duration = -1

// A Sequence walks a Policy one retry at a time. Its methods are those of
// cenkalti/backoff's BackOff interface (v4 and v5), so a Policy can be given
// to code written for that interface, cenkalti's own Retry among it. Unlike a
// Policy, a Sequence has state: use one per retry loop. It is not safe for
// concurrent use.
type Sequence struct {
	p          Policy
	maxRetries int
	attempt    int
	prev       time.Duration
}

// NewSequence returns a Sequence of p's delays that ends, with Stop, after
// maxRetries of them; maxRetries <= 0 sets no limit. It panics if p is nil.
func NewSequence(p Policy, maxRetries int) *Sequence {
	if p == nil {
		panic("backoff: NewSequence with a nil Policy")
	}
	return &Sequence{p: p, maxRetries: maxRetries}
}

// NextBackOff returns the delay before the next retry, Delay(1) the first
// time, or Stop once maxRetries delays have been returned. A ChainedPolicy
// gets the previous delay, as in Retry.
func (s *Sequence) NextBackOff() time.Duration {
	if s.maxRetries > 0 && s.attempt >= s.maxRetries {
		return Stop
	}
	s.attempt++
	if c, ok := s.p.(ChainedPolicy); ok {
		s.prev = c.DelayAfter(s.attempt, s.prev)
	} else {
		s.prev = s.p.Delay(s.attempt)
	}
	return s.prev
}

// Reset starts the sequence over, as after a success.
func (s *Sequence) Reset() { s.attempt, s.prev = 0, 0 }
