package backoff

import (
	"testing"
	"time"
)

func TestSequence(t *testing.T) {
	s := NewSequence(NewExponential(10*time.Millisecond, 2, time.Second), 3)
	for i, want := range []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, Stop, Stop} {
		if got := s.NextBackOff(); got != want {
			t.Errorf("NextBackOff #%d = %v; want %v", i+1, got, want)
		}
	}
	s.Reset()
	if got := s.NextBackOff(); got != 10*time.Millisecond {
		t.Errorf("NextBackOff after Reset = %v; want 10ms", got)
	}

	unlimited := NewSequence(Constant(time.Second), 0)
	for i := range 1000 {
		if got := unlimited.NextBackOff(); got != time.Second {
			t.Fatalf("NextBackOff #%d with no limit = %v; want 1s", i+1, got)
		}
	}
}

func TestSequenceChained(t *testing.T) {
	p := NewDecorrelatedJitter(10*time.Millisecond, time.Second, NewSplitMix(1))
	s := NewSequence(p, 0)
	prev := time.Duration(0)
	for i := range 50 {
		d := s.NextBackOff()
		lo, hi := 10*time.Millisecond, min(time.Second, 3*max(prev, 10*time.Millisecond))
		if d < lo || d > hi {
			t.Fatalf("NextBackOff #%d = %v after %v; want within [%v, %v], chained on the previous delay", i+1, d, prev, lo, hi)
		}
		prev = d
	}
}

func TestNewSequenceNilPolicy(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewSequence(nil) did not panic")
		}
	}()
	NewSequence(nil, 1)
}
