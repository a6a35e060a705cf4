package idempotency_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/distkit/distkit/idempotency"
)

type charge struct {
	ID     string `json:"id"`
	Amount int    `json:"amount"`
}

func TestDoRunsOnceAndReturnsStoredResult(t *testing.T) {
	s := idempotency.NewLocal()
	var runs int
	fn := func(context.Context) (charge, error) {
		runs++
		return charge{ID: "ch_1", Amount: 100}, nil
	}
	for i := range 3 {
		got, err := idempotency.Do(t.Context(), s, "msg-1", fn)
		if err != nil || got != (charge{"ch_1", 100}) {
			t.Fatalf("Do #%d = %+v, %v; want ch_1", i, got, err)
		}
	}
	if runs != 1 {
		t.Fatalf("fn ran %d times; want 1", runs)
	}
}

func TestDoConcurrentCallersWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := idempotency.NewLocal()
		var runs atomic.Int32
		fn := func(ctx context.Context) (int, error) {
			runs.Add(1)
			time.Sleep(3 * time.Second) // the work takes a while
			return 42, nil
		}
		var wg sync.WaitGroup
		start := time.Now()
		for range 10 {
			wg.Go(func() {
				got, err := idempotency.Do(t.Context(), s, "k", fn)
				if err != nil || got != 42 {
					t.Errorf("Do = %v, %v; want 42", got, err)
				}
			})
		}
		wg.Wait()
		if n := runs.Load(); n != 1 {
			t.Errorf("fn ran %d times; want 1", n)
		}
		// Waiters in the same process are woken when the work is done.
		if d := time.Since(start); d != 3*time.Second {
			t.Errorf("callers done after %v; want the 3s the work takes", d)
		}
	})
}

func TestDoNoWaitReturnsInProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := idempotency.NewLocal()
		started, release := make(chan struct{}), make(chan struct{})
		go idempotency.Do(t.Context(), s, "k", func(context.Context) (int, error) {
			close(started)
			<-release
			return 1, nil
		})
		<-started
		_, err := idempotency.Do(t.Context(), s, "k", func(context.Context) (int, error) { return 2, nil },
			idempotency.WithWait(false))
		if !errors.Is(err, idempotency.ErrInProgress) {
			t.Errorf("Do(WithWait(false)) error = %v; want ErrInProgress", err)
		}
		close(release)
		synctest.Wait()
	})
}

func TestDoWaiterRunsAfterHolderFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := idempotency.NewLocal()
		errBoom := errors.New("boom")
		started := make(chan struct{})
		go func() {
			_, err := idempotency.Do(t.Context(), s, "k", func(context.Context) (int, error) {
				close(started)
				time.Sleep(time.Second)
				return 0, errBoom
			})
			if !errors.Is(err, errBoom) {
				t.Errorf("failing Do error = %v; want boom", err)
			}
		}()
		<-started
		got, err := idempotency.Do(t.Context(), s, "k", func(context.Context) (int, error) { return 7, nil })
		if err != nil || got != 7 {
			t.Errorf("waiting Do = %v, %v; want 7 after the holder failed", got, err)
		}
	})
}

func TestDoWaiterRunsAfterHolderDies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := idempotency.NewLocal()
		// A holder that died: it began and never completed.
		if _, err := s.Begin(t.Context(), "k", "", 5*time.Second); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		got, err := idempotency.Do(t.Context(), s, "k", func(context.Context) (int, error) { return 7, nil })
		if err != nil || got != 7 {
			t.Fatalf("Do = %v, %v; want 7", got, err)
		}
		if d := time.Since(start); d < 5*time.Second || d > 6*time.Second {
			t.Errorf("Do ran after %v; want just after the 5s lock TTL", d)
		}
	})
}

func TestDoWaitHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := idempotency.NewLocal()
		s.Begin(t.Context(), "k", "", time.Hour)
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		_, err := idempotency.Do(ctx, s, "k", func(context.Context) (int, error) { return 1, nil })
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Do error = %v; want context.DeadlineExceeded", err)
		}
	})
}

func TestDoPanicReleasesAndRepanics(t *testing.T) {
	s := idempotency.NewLocal()
	func() {
		defer func() {
			if p := recover(); p != "kaboom" {
				t.Fatalf("recovered %v; want the panic of fn", p)
			}
		}()
		idempotency.Do(t.Context(), s, "k", func(context.Context) (int, error) { panic("kaboom") })
	}()
	got, err := idempotency.Do(t.Context(), s, "k", func(context.Context) (int, error) { return 3, nil })
	if err != nil || got != 3 {
		t.Fatalf("Do after a panic = %v, %v; want 3", got, err)
	}
}

func TestDoErrors(t *testing.T) {
	ctx := t.Context()
	s := idempotency.NewLocal()
	one := func(context.Context) (int, error) { return 1, nil }
	if _, err := idempotency.Do(ctx, s, "k", one, idempotency.WithFingerprint("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := idempotency.Do(ctx, s, "k", one, idempotency.WithFingerprint("b")); !errors.Is(err, idempotency.ErrMismatch) {
		t.Errorf("Do(other fingerprint) error = %v; want ErrMismatch", err)
	}
	if _, err := idempotency.Do(ctx, s, "", one); !errors.Is(err, idempotency.ErrEmptyKey) {
		t.Errorf("Do(empty key) error = %v; want ErrEmptyKey", err)
	}
	if _, err := idempotency.Do(ctx, s, "x", one, idempotency.WithRetention(0)); !errors.Is(err, idempotency.ErrInvalidTTL) {
		t.Errorf("Do(retention 0) error = %v; want ErrInvalidTTL", err)
	}
	// A result too large to store is returned with ErrTooLarge, and the key
	// is released.
	big := func(context.Context) ([]byte, error) { return make([]byte, idempotency.MaxResultSize), nil }
	v, err := idempotency.Do(ctx, s, "big", big)
	if !errors.Is(err, idempotency.ErrTooLarge) || len(v) != idempotency.MaxResultSize {
		t.Errorf("Do(large result) = %d bytes, %v; want the result and ErrTooLarge", len(v), err)
	}
	if c, err := s.Begin(ctx, "big", "", time.Minute); err != nil || !c.Owned() {
		t.Errorf("Begin after ErrTooLarge = %+v, %v; want owned", c, err)
	}
	// A stored result the codec cannot decode is an error, not a zero value.
	c, _ := s.Begin(ctx, "bad", "", time.Minute)
	s.Complete(ctx, "bad", c.Token, []byte("{"), time.Minute)
	if _, err := idempotency.Do(ctx, s, "bad", one); err == nil {
		t.Error("Do(undecodable stored result) error = nil; want a decode error")
	}
	// An unencodable result is returned with the codec's error.
	if _, err := idempotency.Do(ctx, s, "ch", func(context.Context) (chan int, error) { return nil, nil }); err == nil {
		t.Error("Do(unencodable result) error = nil; want an encode error")
	}
}

func TestDoOutlivingLockTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := idempotency.NewLocal()
		v, err := idempotency.Do(t.Context(), s, "k", func(context.Context) (int, error) {
			time.Sleep(2 * time.Second)
			return 5, nil
		}, idempotency.WithLockTTL(time.Second))
		if v != 5 || !errors.Is(err, idempotency.ErrNotHeld) {
			t.Fatalf("Do outliving its lock = %v, %v; want 5, ErrNotHeld", v, err)
		}
	})
}

func TestDoPanicsOnBadPollInterval(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Do(WithPollInterval(0, 0)) did not panic")
		}
	}()
	idempotency.Do(t.Context(), idempotency.NewLocal(), "k", func(context.Context) (int, error) { return 0, nil },
		idempotency.WithPollInterval(0, 0))
}

// upperCodec stores strings upper-cased, to show which codec was used.
type upperCodec struct{}

func (upperCodec) Marshal(v any) ([]byte, error) { return []byte(strings.ToUpper(v.(string))), nil }
func (upperCodec) Unmarshal(data []byte, v any) error {
	*v.(*string) = string(data)
	return nil
}

func TestDoWithCodec(t *testing.T) {
	s := idempotency.NewLocal()
	fn := func(context.Context) (string, error) { return "abc", nil }
	first, _ := idempotency.Do(t.Context(), s, "k", fn, idempotency.WithCodec(upperCodec{}))
	again, err := idempotency.Do(t.Context(), s, "k", fn, idempotency.WithCodec(upperCodec{}))
	if first != "abc" || again != "ABC" || err != nil {
		t.Fatalf("Do = %q then %q, %v; want abc then the stored ABC", first, again, err)
	}
}

func TestDoPollsForOtherProcesses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := idempotency.NewLocal()
		// Another process owns the key and completes it after 2.5s; only
		// polling can tell.
		c, _ := s.Begin(t.Context(), "k", "", time.Minute)
		go func() {
			time.Sleep(2500 * time.Millisecond)
			s.Complete(context.Background(), "k", c.Token, []byte("7"), time.Hour)
		}()
		start := time.Now()
		got, err := idempotency.Do(t.Context(), s, "k", func(context.Context) (int, error) { return 1, nil },
			idempotency.WithPollInterval(100*time.Millisecond, time.Second))
		// Polls at 0.1, 0.3, 0.7, 1.5 and 2.5s (pauses 100ms doubling to 1s):
		// the one at 2.5s runs after the Complete at the same instant or
		// the next, at 3.5s.
		if d := time.Since(start); err != nil || got != 7 || d > 3500*time.Millisecond {
			t.Fatalf("Do = %v, %v after %v; want 7 by 3.5s", got, err, d)
		}
	})
}
