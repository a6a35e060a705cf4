package ratelimit

import (
	"sync"
	"sync/atomic"
	"time"
)

// Sometimes runs an action now and then, as golang.org/x/time/rate's
// Sometimes does: Do runs it on the first First calls, on every Every-th
// call starting with the first, and whenever Interval has passed since it
// last ran. A call runs it if any of the three allows it, and the first call
// always does, so the zero value runs the action exactly once.
//
// Calls that do not run the action take no lock and do not wait for one that
// does: an atomic count if First or Every is set, and a clock read if
// Interval is. Runs of the action happen one at a time. A Sometimes must not
// be copied after first use; Do must not be called from its own action.
//
//	var sometimes = ratelimit.Sometimes{First: 3, Interval: 10 * time.Second}
//	func Spammy() {
//		sometimes.Do(func() { log.Print("here I am!") })
//	}
type Sometimes struct {
	First    int           // if non-zero, the first First calls run the action
	Every    int           // if non-zero, every Every-th call runs it, from the first
	Interval time.Duration // if non-zero, a call runs it once Interval has passed since it last ran

	last atomic.Int64 // 1 + when the action last started (sometimesNow); 0 before
	mu   sync.Mutex   // held while the action runs

	// The count of calls, needed only for First and Every, changes on every
	// call: alone on its cache line, it does not take the fields above
	// from the other cores that read them.
	_     [64]byte
	calls atomic.Int64
}

// Do runs f if s allows it now (see Sometimes), and returns when f has, or
// at once if s does not.
func (s *Sometimes) Do(f func()) {
	byCount := false
	if s.First > 0 || s.Every > 0 {
		n := s.calls.Add(1) // this call's number, from 1
		byCount = n <= int64(s.First) || s.Every > 0 && (n-1)%int64(s.Every) == 0
	}
	if !byCount && !s.due() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// A call allowed only by Interval checks again under the lock, so that
	// of calls that found the interval over at once, one runs the action.
	if !byCount && !s.due() {
		return
	}
	s.last.Store(sometimesNow() + 1)
	f()
}

// due reports whether the action never ran, or Interval is set and has
// passed since it last started.
func (s *Sometimes) due() bool {
	last := s.last.Load()
	return last == 0 || s.Interval > 0 && sometimesNow()-(last-1) >= int64(s.Interval)
}

// sometimesBase carries the monotonic reading every Sometimes measures from,
// so that the zero Sometimes needs no setup.
var sometimesBase = time.Now()

// sometimesNow returns the monotonic time in ns since sometimesBase.
func sometimesNow() int64 { return int64(time.Since(sometimesBase)) }
