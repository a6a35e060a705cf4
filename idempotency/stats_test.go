package idempotency_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/distkit/distkit/idempotency"
)

// completeFails is a store whose Complete fails, as when the store goes away
// while the handler runs.
type completeFails struct{ *idempotency.Local }

func (completeFails) Complete(context.Context, string, uint64, []byte, time.Duration) error {
	return io.ErrUnexpectedEOF
}

func TestMiddlewareCounters(t *testing.T) {
	var c idempotency.Counters
	count := idempotency.WithCounters(&c)
	fixed := idempotency.WithFingerprintFunc(func(*http.Request, []byte) string { return "fp" })
	store := idempotency.NewLocal()
	p := &payments{}
	h := idempotency.Middleware(store, count)(p)
	fixedFP := idempotency.Middleware(store, count, fixed)(p)
	strict := idempotency.Middleware(store, count, idempotency.WithRequired(true),
		idempotency.WithMaxKeyLength(4), idempotency.WithMaxBodySize(4))(p)
	status := func(code int) http.Handler {
		return idempotency.Middleware(store, count)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(code)
		}))
	}
	panicky := idempotency.Middleware(store, count)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	}))
	ctx := context.Background()
	store.Begin(ctx, "held", "fp", time.Hour)
	garbled, _ := store.Begin(ctx, "garbled", "fp", time.Hour)
	store.Complete(ctx, "garbled", garbled.Token, []byte("not a response"), time.Hour)

	var want idempotency.Stats
	steps := []struct {
		name string
		do   func() int
		code int
		add  func(*idempotency.Stats)
	}{
		{"a GET", func() int { return do(h, "GET", "/", "k", "").Code }, 201, func(*idempotency.Stats) {}},
		{"no key", func() int { return do(h, "POST", "/", "", "").Code }, 201, func(s *idempotency.Stats) { s.Unkeyed++ }},
		{"first", func() int { return do(h, "POST", "/", "k1", "a").Code }, 201, func(s *idempotency.Stats) { s.Executed++ }},
		{"retry", func() int { return do(h, "POST", "/", "k1", "a").Code }, 201, func(s *idempotency.Stats) { s.Replayed++ }},
		{"other body", func() int { return do(h, "POST", "/", "k1", "b").Code }, 422, func(s *idempotency.Stats) { s.Mismatched++ }},
		{"in progress", func() int { return do(fixedFP, "POST", "/", "held", "").Code }, 409, func(s *idempotency.Stats) { s.InProgress++ }},
		{"missing key", func() int { return do(strict, "POST", "/", "", "").Code }, 400, func(s *idempotency.Stats) { s.Rejected++ }},
		{"malformed key", func() int { return do(strict, "POST", "/", `"a`, "").Code }, 400, func(s *idempotency.Stats) { s.Rejected++ }},
		{"long key", func() int { return do(strict, "POST", "/", "abcde", "").Code }, 400, func(s *idempotency.Stats) { s.Rejected++ }},
		{"large body", func() int { return do(strict, "POST", "/", "k", "abcde").Code }, 413, func(s *idempotency.Stats) { s.Rejected++ }},
		{"5xx", func() int { return do(status(502), "POST", "/", "k5", "").Code }, 502, func(s *idempotency.Stats) { s.Executed++; s.Released++ }},
		{"4xx", func() int { return do(status(404), "POST", "/", "k4", "").Code }, 404, func(s *idempotency.Stats) { s.Executed++ }},
		{"panic", func() int {
			defer func() { recover() }()
			do(panicky, "POST", "/", "kp", "")
			return 0
		}, 0, func(s *idempotency.Stats) { s.Executed++; s.Released++ }},
		{"store down", func() int {
			return do(idempotency.Middleware(failingStore{store}, count)(p), "POST", "/", "k", "").Code
		}, 503, func(s *idempotency.Stats) { s.StoreErrors++ }},
		{"complete fails", func() int {
			return do(idempotency.Middleware(completeFails{store}, count)(p), "POST", "/", "kc", "").Code
		}, 201, func(s *idempotency.Stats) { s.Executed++; s.StoreErrors++ }},
		{"stored response garbled", func() int { return do(fixedFP, "POST", "/", "garbled", "").Code }, 503,
			func(s *idempotency.Stats) { s.StoreErrors++ }},
	}
	for _, s := range steps {
		if code := s.do(); code != s.code {
			t.Errorf("%s: status %d; want %d", s.name, code, s.code)
		}
		s.add(&want)
		if got := c.Stats(); got != want {
			t.Errorf("after %s: Stats = %+v; want %+v", s.name, got, want)
		}
	}

	synctest.Test(t, func(t *testing.T) {
		var c idempotency.Counters
		sleep := func(code int) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				time.Sleep(2 * time.Second) // the work outlives the lock TTL
				w.WriteHeader(code)
			})
		}
		opts := []idempotency.Option{idempotency.WithCounters(&c), idempotency.WithLockTTL(time.Second)}
		do(idempotency.Middleware(idempotency.NewLocal(), opts...)(sleep(200)), "POST", "/", "k", "")
		do(idempotency.Middleware(idempotency.NewLocal(), opts...)(sleep(500)), "POST", "/", "k", "")
		if got, want := c.Stats(), (idempotency.Stats{Executed: 2, Expired: 2}); got != want {
			t.Errorf("handlers outliving the lock TTL: Stats = %+v; want %+v", got, want)
		}
	})
}

func TestDoCounters(t *testing.T) {
	var c idempotency.Counters
	count := idempotency.WithCounters(&c)
	store := idempotency.NewLocal()
	ctx := context.Background()
	ok := func(context.Context) (string, error) { return "ok", nil }
	store.Begin(ctx, "held", "", time.Hour)
	garbled, _ := store.Begin(ctx, "garbled", "", time.Hour)
	store.Complete(ctx, "garbled", garbled.Token, []byte("{"), time.Hour)

	var want idempotency.Stats
	steps := []struct {
		name string
		do   func() error
		add  func(*idempotency.Stats)
	}{
		{"first", func() error { _, err := idempotency.Do(ctx, store, "k", ok, count); return err },
			func(s *idempotency.Stats) { s.Executed++ }},
		{"again", func() error { _, err := idempotency.Do(ctx, store, "k", ok, count); return err },
			func(s *idempotency.Stats) { s.Replayed++ }},
		{"mismatch", func() error {
			_, err := idempotency.Do(ctx, store, "k", ok, count, idempotency.WithFingerprint("other"))
			return nil2(err, idempotency.ErrMismatch)
		}, func(s *idempotency.Stats) { s.Mismatched++ }},
		{"in progress", func() error {
			_, err := idempotency.Do(ctx, store, "held", ok, count, idempotency.WithWait(false))
			return nil2(err, idempotency.ErrInProgress)
		}, func(s *idempotency.Stats) { s.InProgress++ }},
		{"empty key", func() error {
			_, err := idempotency.Do(ctx, store, "", ok, count)
			return nil2(err, idempotency.ErrEmptyKey)
		}, func(s *idempotency.Stats) { s.Rejected++ }},
		{"bad TTL", func() error {
			_, err := idempotency.Do(ctx, store, "k", ok, count, idempotency.WithLockTTL(0))
			return nil2(err, idempotency.ErrInvalidTTL)
		}, func(s *idempotency.Stats) { s.Rejected++ }},
		{"fn fails", func() error {
			_, err := idempotency.Do(ctx, store, "kf", func(context.Context) (string, error) { return "", io.EOF }, count)
			return nil2(err, io.EOF)
		}, func(s *idempotency.Stats) { s.Executed++; s.Released++ }},
		{"fn panics", func() error {
			defer func() { recover() }()
			idempotency.Do(ctx, store, "kp", func(context.Context) (string, error) { panic("boom") }, count)
			return nil
		}, func(s *idempotency.Stats) { s.Executed++; s.Released++ }},
		{"result too large", func() error {
			_, err := idempotency.Do(ctx, store, "kl", func(context.Context) (string, error) {
				return strings.Repeat("x", idempotency.MaxResultSize), nil
			}, count)
			return nil2(err, idempotency.ErrTooLarge)
		}, func(s *idempotency.Stats) { s.Executed++; s.StoreErrors++; s.Released++ }},
		{"stored result garbled", func() error {
			_, err := idempotency.Do(ctx, store, "garbled", ok, count)
			if err == nil {
				return errors.New("no error")
			}
			return nil
		}, func(s *idempotency.Stats) { s.StoreErrors++ }},
		{"store down", func() error {
			_, err := idempotency.Do(ctx, failingStore{store}, "k", ok, count)
			return nil2(err, io.ErrUnexpectedEOF)
		}, func(s *idempotency.Stats) { s.StoreErrors++ }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Errorf("%s: %v", s.name, err)
		}
		s.add(&want)
		if got := c.Stats(); got != want {
			t.Errorf("after %s: Stats = %+v; want %+v", s.name, got, want)
		}
	}

	synctest.Test(t, func(t *testing.T) {
		var c idempotency.Counters
		store := idempotency.NewLocal()
		// Another process holds the key for 1s and dies: Do polls after
		// 10, 20, 40, ..., 640ms, and at 1270ms finds the lock expired.
		store.Begin(t.Context(), "k", "", time.Second)
		if _, err := idempotency.Do(t.Context(), store, "k", ok, idempotency.WithCounters(&c)); err != nil {
			t.Fatal(err)
		}
		// And then outlives its own lock TTL.
		idempotency.Do(t.Context(), store, "slow", func(context.Context) (int, error) {
			time.Sleep(2 * time.Second)
			return 1, nil
		}, idempotency.WithCounters(&c), idempotency.WithLockTTL(time.Second))
		if got, want := c.Stats(), (idempotency.Stats{Executed: 2, Waits: 7, Expired: 1}); got != want {
			t.Errorf("waiting Do: Stats = %+v; want %+v", got, want)
		}
	})
}

// nil2 returns nil if err matches want, else an error saying what it is.
func nil2(err, want error) error {
	if errors.Is(err, want) {
		return nil
	}
	return errors.New("error " + errString(err) + "; want " + want.Error())
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}

func TestLocalStats(t *testing.T) {
	l := idempotency.NewLocal(idempotency.WithCapacity(2))
	a, _ := l.BeginAt(t0, "a", "", time.Minute)
	l.CompleteAt(t0, "a", a.Token, []byte("r"), time.Hour)
	l.BeginAt(t0, "b", "", time.Minute)
	if got, want := l.Stats(), (idempotency.LocalStats{Records: 2, InProgress: 1}); got != want {
		t.Errorf("Stats = %+v; want %+v", got, want)
	}
	l.BeginAt(t0, "c", "", time.Minute) // evicts a, the only completed record
	if got, want := l.Stats(), (idempotency.LocalStats{Records: 2, InProgress: 2, Evicted: 1}); got != want {
		t.Errorf("Stats after an eviction = %+v; want %+v", got, want)
	}
	if _, err := l.BeginAt(t0, "d", "", time.Minute); !errors.Is(err, idempotency.ErrFull) {
		t.Fatalf("BeginAt on a full store = %v; want ErrFull", err)
	}
	if got, want := l.Stats(), (idempotency.LocalStats{Records: 2, InProgress: 2, Evicted: 1, Full: 1}); got != want {
		t.Errorf("Stats after ErrFull = %+v; want %+v", got, want)
	}
	// Both locks expire; the next Begin removes them.
	later := t0.Add(2 * time.Minute)
	d, _ := l.BeginAt(later, "d", "", time.Minute)
	if got, want := l.Stats(), (idempotency.LocalStats{Records: 1, InProgress: 1, Evicted: 1, Full: 1, LockExpired: 2}); got != want {
		t.Errorf("Stats after the locks expired = %+v; want %+v", got, want)
	}
	// A released record and an expired result are neither.
	l.ReleaseAt(later, "d", d.Token)
	e, _ := l.BeginAt(later, "e", "", time.Minute)
	l.CompleteAt(later, "e", e.Token, nil, time.Second)
	l.BeginAt(later.Add(time.Hour), "f", "", time.Minute)
	if got, want := l.Stats(), (idempotency.LocalStats{Records: 1, InProgress: 1, Evicted: 1, Full: 1, LockExpired: 2}); got != want {
		t.Errorf("Stats after a release and an expired result = %+v; want %+v", got, want)
	}
}
