package redisidempotency_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/distkit/distkit/idempotency"
	"github.com/distkit/distkit/idempotency/idempotencytest"
	"github.com/distkit/distkit/idempotency/redisidempotency"
	"github.com/distkit/distkit/internal/redistest"
)

func TestConformance(t *testing.T) {
	idempotencytest.Run(t, func(t *testing.T) idempotency.Store {
		return redisidempotency.New(redistest.Start(t))
	})
}

func TestConformanceWithPrefix(t *testing.T) {
	rdb := redistest.Start(t)
	idempotencytest.Run(t, func(t *testing.T) idempotency.Store {
		// Subtests share one server; prefixes keep them apart.
		return redisidempotency.New(rdb, redisidempotency.WithPrefix(t.Name()+":"))
	})
}

// roundTrips counts the commands a client sends to the server.
type roundTrips struct{ n atomic.Int64 }

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}
func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

func TestOneRoundTripPerCall(t *testing.T) {
	rdb := redistest.Start(t)
	s := redisidempotency.New(rdb)
	ctx := t.Context()
	// Load the scripts, so that EVALSHA finds them.
	c, _ := s.Begin(ctx, "warm", "", time.Minute)
	s.Complete(ctx, "warm", c.Token, nil, time.Minute)
	c, _ = s.Begin(ctx, "warm2", "", time.Minute)
	s.Release(ctx, "warm2", c.Token)

	serverCalls := commandCalls(t, rdb)
	var h roundTrips
	rdb.AddHook(&h)
	calls := []struct {
		name string
		fn   func() error
	}{
		{"Begin(new)", func() error { var err error; c, err = s.Begin(ctx, "k", "fp", time.Minute); return err }},
		{"Begin(in progress)", func() error {
			_, err := s.Begin(ctx, "k", "fp", time.Minute)
			return nil2(err, idempotency.ErrInProgress)
		}},
		{"Complete", func() error { return s.Complete(ctx, "k", c.Token, []byte("r"), time.Minute) }},
		{"Begin(done)", func() error { _, err := s.Begin(ctx, "k", "fp", time.Minute); return err }},
		{"Begin(mismatch)", func() error { _, err := s.Begin(ctx, "k", "x", time.Minute); return nil2(err, idempotency.ErrMismatch) }},
		{"Begin(new 2)", func() error { var err error; c, err = s.Begin(ctx, "k2", "fp", time.Minute); return err }},
		{"Release", func() error { return s.Release(ctx, "k2", c.Token) }},
	}
	for _, call := range calls {
		before := h.n.Load()
		if err := call.fn(); err != nil {
			t.Fatalf("%s error = %v", call.name, err)
		}
		if n := h.n.Load() - before; n != 1 {
			t.Errorf("%s took %d round trips; want 1", call.name, n)
		}
	}
	// The server agrees: one EVALSHA per call, with no EVAL fallback.
	// (Commandstats also counts the commands scripts run, so only the
	// script commands tell round trips.)
	after := commandCalls(t, rdb)
	if n := after["evalsha"] - serverCalls["evalsha"]; n != len(calls) {
		t.Errorf("server ran EVALSHA %d times for %d calls; want one each", n, len(calls))
	}
	if n := after["eval"] - serverCalls["eval"]; n != 0 {
		t.Errorf("server ran EVAL %d times; want 0 once the scripts are loaded", n)
	}
}

// commandCalls returns the calls per command from INFO commandstats.
func commandCalls(t *testing.T, rdb *redis.Client) map[string]int {
	t.Helper()
	info, err := rdb.Info(t.Context(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	for _, line := range strings.Split(info, "\n") {
		// cmdstat_evalsha:calls=7,usec=...
		name, rest, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "cmdstat_"), ":calls=")
		if !ok {
			continue
		}
		n, _, _ := strings.Cut(rest, ",")
		calls[name], _ = strconv.Atoi(n)
	}
	return calls
}

func nil2(err, want error) error {
	if errors.Is(err, want) {
		return nil
	}
	return err
}

func TestKeysAreHashTagged(t *testing.T) {
	rdb := redistest.Start(t)
	s := redisidempotency.New(rdb, redisidempotency.WithPrefix("p:"))
	if _, err := s.Begin(t.Context(), "order-1", "fp", time.Minute); err != nil {
		t.Fatal(err)
	}
	keys, err := rdb.Keys(t.Context(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != "p:{order-1}" {
		t.Fatalf("keys = %q; want [p:{order-1}]", keys)
	}
	ttl := rdb.PTTL(t.Context(), keys[0]).Val()
	if ttl <= 0 || ttl > time.Minute {
		t.Fatalf("PTTL = %v; want within the lock TTL of 1m", ttl)
	}
}

func TestServerKilledSurfacesWrappedError(t *testing.T) {
	srv := redistest.StartServer(t)
	opts := srv.Options()
	opts.MaxRetries = -1
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	s := redisidempotency.New(rdb)
	ctx := t.Context()
	c, err := s.Begin(ctx, "k", "fp", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	checks := []struct {
		name string
		err  error
	}{
		{"Begin", func() error { _, err := s.Begin(ctx, "k", "fp", time.Minute); return err }()},
		{"Complete", s.Complete(ctx, "k", c.Token, []byte("r"), time.Minute)},
		{"Release", s.Release(ctx, "k", c.Token)},
	}
	for _, ch := range checks {
		if ch.err == nil || !strings.HasPrefix(ch.err.Error(), "redisidempotency: "+strings.ToLower(ch.name)+` "k": `) {
			t.Errorf("%s with the server down: error = %v; want a wrapped transport error", ch.name, ch.err)
		}
		for _, sentinel := range []error{idempotency.ErrNotHeld, idempotency.ErrInProgress, idempotency.ErrMismatch} {
			if errors.Is(ch.err, sentinel) {
				t.Errorf("%s with the server down: error = %v; want no sentinel", ch.name, ch.err)
			}
		}
	}
	if got, want := s.Stats(), (redisidempotency.Stats{Begins: 2, Completes: 1, Releases: 1, Errors: 3}); got != want {
		t.Errorf("Stats with the server down = %+v; want %+v", got, want)
	}
	// After a restart without persistence the store is empty and serves again.
	srv.Restart()
	if c, err := s.Begin(ctx, "k", "fp", time.Minute); err != nil || !c.Owned() {
		t.Fatalf("Begin after restart = %+v, %v; want owned", c, err)
	}
	if got, want := s.Stats(), (redisidempotency.Stats{Begins: 3, Completes: 1, Releases: 1, Errors: 3}); got != want {
		t.Errorf("Stats after restart = %+v; want %+v", got, want)
	}
}

func TestStatsCountRoundTripsNotAnswers(t *testing.T) {
	s := redisidempotency.New(redistest.Start(t))
	ctx := t.Context()
	// Bad input is refused without a round trip.
	s.Begin(ctx, "", "fp", time.Minute)
	s.Begin(ctx, "k", "fp", 0)
	s.Complete(ctx, "k", 1, nil, 0)
	s.Complete(ctx, "k", 0, nil, time.Minute)
	s.Release(ctx, "k", 0)
	if got := s.Stats(); got != (redisidempotency.Stats{}) {
		t.Errorf("Stats after bad input = %+v; want zero", got)
	}
	c, err := s.Begin(ctx, "k", "fp", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	answers := []error{
		func() error { _, err := s.Begin(ctx, "k", "fp", time.Minute); return err }(),
		func() error { _, err := s.Begin(ctx, "k", "other", time.Minute); return err }(),
		s.Complete(ctx, "k", c.Token+2, []byte("r"), time.Minute),
		s.Release(ctx, "k", c.Token+2),
		s.Complete(ctx, "k", c.Token, []byte("r"), time.Minute),
	}
	for i, want := range []error{idempotency.ErrInProgress, idempotency.ErrMismatch, idempotency.ErrNotHeld, idempotency.ErrNotHeld, nil} {
		if !errors.Is(answers[i], want) {
			t.Errorf("answer %d = %v; want %v", i, answers[i], want)
		}
	}
	if got, want := s.Stats(), (redisidempotency.Stats{Begins: 3, Completes: 2, Releases: 1}); got != want {
		t.Errorf("Stats = %+v; want %+v (answers are not errors)", got, want)
	}
}

func TestRestartWithAppendOnlyKeepsResults(t *testing.T) {
	srv := redistest.StartServer(t, redistest.WithAppendOnly(true))
	s := redisidempotency.New(srv.Client())
	ctx := t.Context()
	c, err := s.Begin(ctx, "k", "fp", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Complete(ctx, "k", c.Token, []byte("charged"), time.Hour); err != nil {
		t.Fatal(err)
	}
	srv.Restart()
	var d idempotency.Claim
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err = s.Begin(ctx, "k", "fp", time.Minute)
		if err == nil || time.Now().After(deadline) {
			break
		}
		tm := time.NewTimer(10 * time.Millisecond) // the client reconnects
		<-tm.C
	}
	if err != nil || !d.Done || string(d.Result) != "charged" {
		t.Fatalf("Begin after restart = %+v, %v; want the stored result", d, err)
	}
}

func TestPausedServerHonoursDeadline(t *testing.T) {
	srv := redistest.StartServer(t)
	opts := srv.Options()
	opts.ContextTimeoutEnabled = true
	opts.MaxRetries = -1
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	s := redisidempotency.New(rdb)
	if _, err := s.Begin(t.Context(), "warm", "", time.Minute); err != nil {
		t.Fatal(err)
	}
	srv.Pause()
	defer srv.Resume()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := s.Begin(ctx, "k", "fp", time.Minute)
	var ne net.Error
	if err == nil || !strings.HasPrefix(err.Error(), `redisidempotency: begin "k": `) ||
		!(errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("Begin on a paused server = %v; want a wrapped timeout", err)
	}
	srv.Resume()
	// The script may or may not have run before the pause took effect; either
	// way the store answers again.
	if _, err := s.Begin(t.Context(), "k", "fp", time.Minute); err != nil && !errors.Is(err, idempotency.ErrInProgress) {
		t.Fatalf("Begin after resume = %v", err)
	}
}

func BenchmarkBegin(b *testing.B) {
	rdb := redistest.Start(b)
	s := redisidempotency.New(rdb)
	ctx := b.Context()
	c, _ := s.Begin(ctx, "k", "fp", time.Hour)
	s.Complete(ctx, "k", c.Token, []byte(`{"id":"ch_1","amount":100}`), time.Hour)
	var h roundTrips
	rdb.AddHook(&h)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Begin(ctx, "k", "fp", time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(h.n.Load())/float64(b.N), "roundtrips/op")
}

func BenchmarkBeginParallel(b *testing.B) {
	rdb := redistest.Start(b)
	s := redisidempotency.New(rdb)
	ctx := b.Context()
	c, _ := s.Begin(ctx, "k", "fp", time.Hour)
	s.Complete(ctx, "k", c.Token, []byte(`{"id":"ch_1","amount":100}`), time.Hour)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Begin(ctx, "k", "fp", time.Hour); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkBeginComplete(b *testing.B) {
	rdb := redistest.Start(b)
	s := redisidempotency.New(rdb)
	ctx := b.Context()
	res := []byte(`{"id":"ch_1","amount":100}`)
	c, _ := s.Begin(ctx, "warm", "fp", time.Hour)
	s.Complete(ctx, "warm", c.Token, res, time.Hour)
	var h roundTrips
	rdb.AddHook(&h)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := strconv.Itoa(i) // a new key each time: Begin and Complete, one round trip each
		i++
		c, err := s.Begin(ctx, k, "fp", time.Hour)
		if err != nil || !c.Owned() {
			b.Fatalf("Begin(%q) = %+v, %v; want owned", k, c, err)
		}
		if err := s.Complete(ctx, k, c.Token, res, time.Second); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(h.n.Load())/float64(b.N), "roundtrips/op")
}

func TestDoAcrossProcesses(t *testing.T) {
	srv := redistest.StartServer(t)
	// Two stores with their own clients stand for two processes.
	stores := []*redisidempotency.Store{redisidempotency.New(srv.Client()), redisidempotency.New(srv.Client())}
	var runs atomic.Int32
	results := make(chan string, 20)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			v, err := idempotency.Do(t.Context(), stores[i%2], "msg-1", func(context.Context) (string, error) {
				return fmt.Sprintf("run-%d", runs.Add(1)), nil
			}, idempotency.WithPollInterval(time.Millisecond, 10*time.Millisecond))
			if err != nil {
				t.Errorf("Do error = %v", err)
			}
			results <- v
		})
	}
	wg.Wait()
	close(results)
	if n := runs.Load(); n != 1 {
		t.Errorf("fn ran %d times across processes; want 1", n)
	}
	for v := range results {
		if v != "run-1" {
			t.Errorf("Do = %q; want run-1", v)
		}
	}
}
