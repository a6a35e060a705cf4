package circuitbreaker

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/distkit/distkit/backoff"
)

var errFail = errors.New("fail")

// A step makes one call at t0+at that takes dur and ends with err, unless
// noCall; it checks what AllowAt returned and the state afterwards.
type step struct {
	at        time.Duration
	dur       time.Duration
	err       error
	wantAllow error
	wantState State
}

func runSteps(t *testing.T, b *Breaker, steps []step) {
	t.Helper()
	t0 := b.base
	for i, s := range steps {
		tk, err := b.AllowAt(t0.Add(s.at))
		if !errors.Is(err, s.wantAllow) || (err == nil) != (s.wantAllow == nil) {
			t.Fatalf("step %d: AllowAt(t0+%v) = %v; want %v", i, s.at, err, s.wantAllow)
		}
		if err == nil {
			b.DoneAt(tk, t0.Add(s.at+s.dur), s.err)
		}
		if got := b.State(); got != s.wantState {
			t.Fatalf("step %d (t0+%v, err %v): State = %v; want %v", i, s.at, s.err, got, s.wantState)
		}
	}
}

const sec = time.Second

func TestConsecutiveFailures(t *testing.T) {
	b := New(WithConsecutiveFailures(3), WithOpenDuration(10*sec))
	runSteps(t, b, []step{
		{at: 0, err: errFail, wantState: Closed},
		{at: 1, err: errFail, wantState: Closed},
		{at: 2, err: nil, wantState: Closed}, // a success resets the run
		{at: 3, err: errFail, wantState: Closed},
		{at: 4, err: context.Canceled, wantState: Closed}, // neither
		{at: 5, err: errFail, wantState: Closed},
		{at: 6, err: errFail, wantState: Open},
		{at: 5 * sec, wantAllow: ErrOpen, wantState: Open},
		{at: 10*sec + 5, wantAllow: ErrOpen, wantState: Open},
		{at: 10*sec + 6, err: nil, wantState: Closed}, // the probe closes it
		{at: 11 * sec, err: errFail, wantState: Closed},
	})
	if s := b.Stats(); s.ConsecutiveFailures != 1 || s.Trips != 1 || s.State != Closed {
		t.Errorf("Stats = %+v; want 1 consecutive failure, 1 trip, closed", s)
	}
}

func TestDefaultRuleIsFiveConsecutive(t *testing.T) {
	b := New()
	steps := make([]step, 0, 5)
	for i := range 4 {
		steps = append(steps, step{at: time.Duration(i), err: errFail, wantState: Closed})
	}
	steps = append(steps, step{at: 4, err: context.DeadlineExceeded, wantState: Open},
		step{at: 59 * sec, wantAllow: ErrOpen, wantState: Open},
		step{at: 60*sec + 4, err: errFail, wantState: Open}, // a failed probe reopens
		step{at: 61 * sec, wantAllow: ErrOpen, wantState: Open})
	runSteps(t, b, steps)
}

func TestCountWindow(t *testing.T) {
	b := New(WithCountWindow(4, 3), WithFailureRate(0.5), WithOpenDuration(sec))
	runSteps(t, b, []step{
		{at: 0, err: errFail, wantState: Closed},   // 1/1 but below minCalls
		{at: 1, err: nil, wantState: Closed},       // 1/2
		{at: 2, err: nil, wantState: Closed},       // 1/3
		{at: 3, err: nil, wantState: Closed},       // 1/4
		{at: 4, err: errFail, wantState: Closed},   // evicts the first failure: 1/4
		{at: 5, err: errFail, wantState: Open},     // 2/4 = 0.5
		{at: sec + 5, err: nil, wantState: Closed}, // probe closes and empties the window
		{at: sec + 6, err: errFail, wantState: Closed},
		{at: sec + 7, err: errFail, wantState: Closed}, // 2/2, below minCalls
		{at: sec + 8, err: errFail, wantState: Open},
	})
	if s := b.Stats(); s.Trips != 2 {
		t.Errorf("Trips = %d; want 2", s.Trips)
	}
}

func TestTimeWindow(t *testing.T) {
	// 10s in 10 buckets of 1s, at least 4 calls, trips at 50% failures.
	b := New(WithTimeWindow(10*sec, 10, 4), WithOpenDuration(30*sec))
	runSteps(t, b, []step{
		{at: 0, err: errFail, wantState: Closed},
		{at: 1 * sec, err: errFail, wantState: Closed},
		{at: 2 * sec, err: nil, wantState: Closed},
		{at: 12 * sec, err: errFail, wantState: Closed}, // the 0s and 1s failures left the window: 1/2
		{at: 12 * sec, err: nil, wantState: Closed},     // 1/3 (2s, 12s, 12s)
		{at: 12*sec + 1, err: nil, wantState: Closed},   // 1/4
		{at: 13 * sec, err: errFail, wantState: Open},   // 2s evicted: 2/4
		{at: 42 * sec, wantAllow: ErrOpen, wantState: Open},
		{at: 43 * sec, err: nil, wantState: Closed},
		{at: 43 * sec, err: errFail, wantState: Closed}, // the window restarted empty
	})
}

func TestTimeWindowCounts(t *testing.T) {
	b := New(WithTimeWindow(10*sec, 10, 1000))
	t0 := b.base
	rec := func(at time.Duration, err error) {
		tk, e := b.AllowAt(t0.Add(at))
		if e != nil {
			t.Fatalf("AllowAt(t0+%v) = %v", at, e)
		}
		b.DoneAt(tk, t0.Add(at), err)
	}
	check := func(at time.Duration, calls, failures int64) {
		t.Helper()
		c, f, _ := b.win.counts(int64(at))
		if c != calls || f != failures {
			t.Errorf("counts at t0+%v = %d calls, %d failures; want %d, %d", at, c, f, calls, failures)
		}
	}
	rec(0, errFail)
	rec(500*time.Millisecond, nil)
	rec(3*sec, errFail)
	check(3*sec, 3, 2)
	check(9*sec+999*time.Millisecond, 3, 2)
	check(10*sec, 1, 1) // bucket 0 evicted
	rec(10*sec, nil)
	check(12*sec, 2, 1)
	check(13*sec, 1, 0) // bucket 3 evicted
	check(100*sec, 0, 0)
	rec(100*sec, errFail)
	check(100*sec, 1, 1)
}

func TestSlowCalls(t *testing.T) {
	b := New(WithCountWindow(4, 4), WithFailureRate(1), WithSlowCalls(100*time.Millisecond, 0.5), WithOpenDuration(sec))
	ms := time.Millisecond
	runSteps(t, b, []step{
		{at: 0, dur: 200 * ms, wantState: Closed}, // slow success
		{at: sec, dur: 10 * ms, wantState: Closed},
		{at: 2 * sec, dur: 10 * ms, wantState: Closed},
		{at: 3 * sec, dur: 150 * ms, wantState: Open},        // 2 slow of 4
		{at: 4*sec + 200*ms, dur: 300 * ms, wantState: Open}, // a slow probe fails
		{at: 6 * sec, dur: 10 * ms, wantState: Closed},
	})
	if s := b.Stats(); s.Calls != 0 || s.Trips != 2 {
		t.Errorf("Stats = %+v; want an empty window after closing, 2 trips", s)
	}
}

func TestHalfOpenRules(t *testing.T) {
	// Three probes; two must succeed.
	b := New(WithConsecutiveFailures(1), WithHalfOpenProbes(3), WithHalfOpenSuccessRate(0.6), WithOpenDuration(sec))
	t0 := b.base
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	tk, _ := b.AllowAt(at(0))
	b.DoneAt(tk, at(0), errFail)
	p1, e1 := b.AllowAt(at(sec))
	p2, e2 := b.AllowAt(at(sec))
	p3, e3 := b.AllowAt(at(sec))
	_, e4 := b.AllowAt(at(sec))
	if e1 != nil || e2 != nil || e3 != nil || e4 != ErrTooManyRequests {
		t.Fatalf("four AllowAt in half-open = %v %v %v %v; want three nil, then ErrTooManyRequests", e1, e2, e3, e4)
	}
	b.DoneAt(p1, at(sec), context.Canceled) // released
	p4, e := b.AllowAt(at(sec))
	if e != nil {
		t.Fatalf("AllowAt after a cancelled probe = %v; want nil", e)
	}
	b.DoneAt(p2, at(sec), errFail)
	if b.State() != HalfOpen {
		t.Fatalf("one failure of three with 2 needed: State = %v; want half-open", b.State())
	}
	b.DoneAt(p3, at(sec), nil)
	b.DoneAt(p4, at(sec), nil)
	if b.State() != Closed {
		t.Fatalf("two successes: State = %v; want closed", b.State())
	}
	// A stale probe ticket does nothing.
	b.DoneAt(p1, at(sec), errFail)
	if b.State() != Closed {
		t.Fatalf("stale probe changed the state to %v", b.State())
	}

	// Two failures of three make closing impossible: reopen at once.
	tk, _ = b.AllowAt(at(2 * sec))
	b.DoneAt(tk, at(2*sec), errFail)
	q1, _ := b.AllowAt(at(3 * sec))
	q2, _ := b.AllowAt(at(3 * sec))
	b.DoneAt(q1, at(3*sec), errFail)
	b.DoneAt(q2, at(3*sec), errFail)
	if b.State() != Open {
		t.Fatalf("two failed probes of three: State = %v; want open", b.State())
	}
}

func TestOpenBackoff(t *testing.T) {
	b := New(WithConsecutiveFailures(1), WithOpenBackoff(backoff.NewExponential(sec, 2, 10*sec)))
	runSteps(t, b, []step{
		{at: 0, err: errFail, wantState: Open},   // open 1s
		{at: sec, err: errFail, wantState: Open}, // open 2s
		{at: 2*sec + 999*time.Millisecond, wantAllow: ErrOpen, wantState: Open},
		{at: 3 * sec, err: errFail, wantState: Open}, // open 4s
		{at: 6 * sec, wantAllow: ErrOpen, wantState: Open},
		{at: 7 * sec, err: nil, wantState: Closed},   // closing resets the growth
		{at: 8 * sec, err: errFail, wantState: Open}, // open 1s again
		{at: 9 * sec, err: nil, wantState: Closed},
	})
}

func TestForceOpenDisableReset(t *testing.T) {
	var changes []string
	b := New(WithName("db"), WithConsecutiveFailures(1), WithOnStateChange(func(c StateChange) {
		changes = append(changes, fmt.Sprintf("%s:%v->%v", c.Name, c.From, c.To))
	}))
	ctx := context.Background()
	b.ForceOpen()
	if _, err := b.Allow(ctx); !errors.Is(err, ErrOpen) {
		t.Errorf("Allow when forced open = %v; want ErrOpen", err)
	}
	if _, err := b.AllowAt(b.base.Add(time.Hour)); !errors.Is(err, ErrOpen) {
		t.Errorf("AllowAt an hour later when forced open = %v; want ErrOpen", err)
	}
	b.Disable()
	for range 10 {
		done, err := b.Allow(ctx)
		if err != nil {
			t.Fatalf("Allow when disabled = %v", err)
		}
		done(errFail)
	}
	if tk, err := b.AllowAt(time.Now()); err != nil {
		t.Fatal(err)
	} else {
		b.DoneAt(tk, time.Now(), errFail)
	}
	if _, err := Execute(ctx, b, func(context.Context) (int, error) { return 0, errFail }); err != errFail {
		t.Errorf("Execute when disabled = %v; want errFail", err)
	}
	if b.State() != Disabled {
		t.Errorf("State = %v; want disabled", b.State())
	}
	b.Reset()
	want := []string{"db:closed->forced-open", "db:forced-open->disabled", "db:disabled->closed"}
	if fmt.Sprint(changes) != fmt.Sprint(want) {
		t.Errorf("changes = %v; want %v", changes, want)
	}
	if b.Name() != "db" || State(9).String() != "unknown" {
		t.Error("Name or State.String wrong")
	}
}

func TestListenerMayCallBreaker(t *testing.T) {
	var b *Breaker
	var seen []State
	b = New(WithConsecutiveFailures(1), WithOnStateChange(func(c StateChange) {
		seen = append(seen, b.State()) // would deadlock if called under the lock
		if c.To == Open {
			b.Reset()
		}
	}))
	tk, _ := b.AllowAt(time.Now())
	b.DoneAt(tk, time.Now(), errFail)
	if b.State() != Closed || len(seen) != 2 {
		t.Errorf("State = %v, listener saw %v; want closed after two calls", b.State(), seen)
	}
}

func TestCustomClassifier(t *testing.T) {
	b := New(WithConsecutiveFailures(1), WithClassifier(func(err error) Outcome {
		if errors.Is(err, context.DeadlineExceeded) {
			return Ignore
		}
		return DefaultClassifier(err)
	}))
	_, err := Execute(context.Background(), b, func(context.Context) (int, error) { return 0, context.DeadlineExceeded })
	if err != context.DeadlineExceeded || b.State() != Closed {
		t.Errorf("ignored error: err %v, State %v; want DeadlineExceeded, closed", err, b.State())
	}
	if New(WithClassifier(nil)).cfg.classify == nil {
		t.Error("nil classifier kept")
	}
}

func TestExecutePanicCountsAsFailure(t *testing.T) {
	b := New(WithConsecutiveFailures(1))
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v; want the panic to continue", r)
			}
		}()
		Execute(context.Background(), b, func(context.Context) (int, error) { panic("boom") })
	}()
	if b.State() != Open {
		t.Errorf("after a panic State = %v; want open", b.State())
	}
	if _, err := Execute(context.Background(), b, func(context.Context) (int, error) { return 1, nil }); !errors.Is(err, ErrOpen) {
		t.Errorf("Execute when open = %v; want ErrOpen", err)
	}
}

func TestOptionsPanic(t *testing.T) {
	for name, f := range map[string]func(){
		"consecutive": func() { WithConsecutiveFailures(0) },
		"count":       func() { WithCountWindow(0, 1) },
		"time":        func() { WithTimeWindow(5, 10, 1) },
		"rate":        func() { WithFailureRate(1.5) },
		"slow":        func() { WithSlowCalls(-1, 0.5) },
		"backoff":     func() { WithOpenBackoff(nil) },
		"probes":      func() { WithHalfOpenProbes(0) },
		"close":       func() { WithHalfOpenSuccessRate(0) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func TestStateText(t *testing.T) {
	for s := Closed; s <= Disabled; s++ {
		text, err := s.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var got State
		if err := got.UnmarshalText(text); err != nil || got != s {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", text, got, err, s)
		}
	}
	var s State
	if err := s.UnmarshalText([]byte("ajar")); err == nil {
		t.Error("UnmarshalText(ajar) succeeded")
	}
}
