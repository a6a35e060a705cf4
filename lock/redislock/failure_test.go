package redislock_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/distkit/distkit/internal/redistest"
	"github.com/distkit/distkit/lock"
	"github.com/distkit/distkit/lock/redislock"
	"github.com/redis/go-redis/v9"
)

// With persistence off a restart loses every lease, but fencing tokens keep
// increasing: they are seeded from the server's clock.
func TestRestartWithoutPersistenceKeepsTokensIncreasing(t *testing.T) {
	srv := redistest.StartServer(t)
	ctx := t.Context()
	l := redislock.New(srv.Client())
	var last uint64
	for range 200 { // grants in quick succession push the counter hardest
		le, err := l.TryLock(ctx, "k", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if le.Token() <= last {
			t.Fatalf("token %d after %d", le.Token(), last)
		}
		last = le.Token()
		if err := le.Release(ctx); err != nil {
			t.Fatal(err)
		}
	}
	held, err := l.TryLock(ctx, "k", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	srv.Restart()

	// The lease is gone with the data: Refresh says so, and Done closes.
	if err := held.Refresh(ctx); !errors.Is(err, lock.ErrNotHeld) {
		t.Errorf("Refresh after restart = %v; want ErrNotHeld", err)
	}
	<-held.Done()
	next, err := redislock.New(srv.Client()).TryLock(ctx, "k", time.Minute)
	if err != nil {
		t.Fatalf("TryLock after restart = %v", err)
	}
	if next.Token() <= held.Token() {
		t.Errorf("token after restart %d <= token before %d; want strictly increasing", next.Token(), held.Token())
	}
	if err := held.Release(ctx); !errors.Is(err, lock.ErrNotHeld) {
		t.Errorf("stale Release after restart = %v; want ErrNotHeld", err)
	}
}

func TestRestartWithAppendOnlyKeepsLease(t *testing.T) {
	srv := redistest.StartServer(t, redistest.WithAppendOnly(true))
	ctx := t.Context()
	l := redislock.New(srv.Client())
	held, err := l.TryLock(ctx, "k", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	srv.Restart()
	if err := held.Refresh(ctx); err != nil {
		t.Errorf("Refresh after restart with AOF = %v; want nil", err)
	}
	if _, err := l.TryLock(ctx, "k", time.Minute); !errors.Is(err, lock.ErrNotObtained) {
		t.Errorf("TryLock after restart with AOF = %v; want ErrNotObtained", err)
	}
	if err := held.Release(ctx); err != nil {
		t.Fatal(err)
	}
	next, err := l.TryLock(ctx, "k", time.Minute)
	if err != nil || next.Token() <= held.Token() {
		t.Errorf("TryLock = %v, token %d; want nil, above %d", err, next.Token(), held.Token())
	}
}

// A Redis that stops answering for longer than the TTL: the holder's renewal
// cannot succeed, so Done closes by the local clock; when Redis resumes the
// lease has expired and another client takes over with a higher token.
func TestPauseLongerThanTTL(t *testing.T) {
	srv := redistest.StartServer(t)
	ctx := t.Context()
	opts := srv.Options()
	opts.ContextTimeoutEnabled = true // deadlines bound calls to a stopped server
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	l := redislock.New(rdb)
	const ttl = 300 * time.Millisecond
	held, err := l.TryLock(ctx, "k", ttl, lock.WithAutoRenew(true))
	if err != nil {
		t.Fatal(err)
	}
	srv.Pause()
	paused := true
	defer func() {
		if paused {
			srv.Resume()
		}
	}()
	start := time.Now()
	<-held.Done()
	if d := time.Since(start); d > ttl {
		t.Errorf("Done closed %v into the pause; want within the TTL %v", d, ttl)
	}
	// A TryLock against the stopped server fails with the caller's deadline,
	// never a false success.
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	le, err := l.TryLock(tctx, "k", ttl)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || le != nil {
		t.Errorf("TryLock on a paused server = %v, %v; want a transport error", le, err)
	}
	// Wait out the TTL on the server's clock, which runs during the pause.
	<-time.After(ttl - time.Since(start) + 50*time.Millisecond)
	srv.Resume()
	paused = false

	next, err := redislock.New(srv.Client()).Lock(ctx, "k", ttl)
	if err != nil {
		t.Fatalf("Lock after resume = %v", err)
	}
	defer next.Release(ctx)
	if next.Token() <= held.Token() {
		t.Errorf("token %d <= stale %d", next.Token(), held.Token())
	}
	if err := held.Refresh(ctx); !errors.Is(err, lock.ErrNotHeld) {
		t.Errorf("stale Refresh = %v; want ErrNotHeld", err)
	}
	if err := held.Release(ctx); !errors.Is(err, lock.ErrNotHeld) {
		t.Errorf("stale Release = %v; want ErrNotHeld", err)
	}
}

// Network errors are returned wrapped, never as an acquired lease nor as
// ErrNotObtained.
func TestNetworkErrorsAreWrapped(t *testing.T) {
	srv := redistest.StartServer(t)
	ctx := t.Context()
	opts := srv.Options()
	opts.MaxRetries = -1
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	l := redislock.New(rdb)
	held, err := l.TryLock(ctx, "k", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	check := func(op string, err error) {
		t.Helper()
		if err == nil || errors.Is(err, lock.ErrNotObtained) || errors.Is(err, lock.ErrNotHeld) {
			t.Errorf("%s on a dead server = %v; want a transport error", op, err)
		} else if !strings.HasPrefix(err.Error(), "redislock: ") {
			t.Errorf("%s error %q is not wrapped", op, err)
		}
	}
	le, err := l.TryLock(ctx, "k2", time.Minute)
	check("TryLock", err)
	if le != nil {
		t.Error("TryLock on a dead server returned a lease")
	}
	tctx, cancel := context.WithTimeout(ctx, time.Second)
	le, err = l.Lock(tctx, "k2", time.Minute)
	cancel()
	check("Lock", err)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Lock = %v; want it to wrap the ctx error", err)
	}
	if le != nil {
		t.Error("Lock on a dead server returned a lease")
	}
	_, _, err = l.Inspect(ctx, "k")
	check("Inspect", err)
	check("Refresh", held.Refresh(ctx))
	<-held.Done() // a failed refresh means the holder cannot be sure
	check("Release", held.Release(ctx))

	rdb.Close()
	_, err = l.TryLock(ctx, "k", time.Minute)
	if !errors.Is(err, redis.ErrClosed) {
		t.Errorf("TryLock on a closed client = %v; want it to wrap redis.ErrClosed", err)
	}
}

// A waiter blocked in Lock while the holder is cut off takes over as soon as
// the holder's lease expires in Redis.
func TestWaiterTakesOverExpiredLease(t *testing.T) {
	srv := redistest.StartServer(t)
	ctx := t.Context()
	const ttl = 200 * time.Millisecond
	start := time.Now()
	held, err := redislock.New(srv.Client()).TryLock(ctx, "k", ttl)
	if err != nil {
		t.Fatal(err)
	}
	le, err := redislock.New(srv.Client()).Lock(ctx, "k", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer le.Release(ctx)
	d := time.Since(start)
	if d < ttl-lock.Margin(ttl) || d > ttl+redislock.MaxBlock {
		t.Errorf("waiter took over after %v; want within [TTL, TTL+MaxBlock]", d)
	}
	if le.Token() <= held.Token() {
		t.Errorf("token %d <= %d", le.Token(), held.Token())
	}
}

// All keys of one lock share one hash tag, and nothing but the fencing
// counter is left once every lease is released.
func TestKeysShareHashTagAndAreCleanedUp(t *testing.T) {
	rdb := redistest.Start(t)
	ctx := t.Context()
	l := redislock.New(rdb, redislock.WithPrefix("app:{x}"))
	held, _ := l.TryLock(ctx, "job:{1}", time.Minute)
	got := make(chan error, 3)
	for range 3 {
		go func() {
			le, err := l.Lock(ctx, "job:{1}", time.Minute)
			if err == nil {
				err = le.Release(ctx)
			}
			got <- err
		}()
	}
	// Wait until the three waiters are queued.
	for deadline := time.Now().Add(5 * time.Second); ; {
		if n, _ := rdb.HLen(ctx, "app:{x}{job:{1}}:waiters").Result(); n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("waiters never queued")
		}
		time.Sleep(time.Millisecond)
	}
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	tag := hashTag(keys[0])
	for _, k := range keys {
		if hashTag(k) != tag {
			t.Errorf("key %q has hash tag %q; %q has %q", k, hashTag(k), keys[0], tag)
		}
	}
	held.Release(ctx)
	for range 3 {
		if err := <-got; err != nil {
			t.Error(err)
		}
	}
	keys, _ = rdb.Keys(ctx, "*").Result()
	if len(keys) != 1 || !strings.HasSuffix(keys[0], ":fence") {
		t.Errorf("keys left after release: %q; want only the fencing counter", keys)
	}
}

// hashTag returns the part of key Redis Cluster hashes.
func hashTag(key string) string {
	if s := strings.IndexByte(key, '{'); s >= 0 {
		if e := strings.IndexByte(key[s+1:], '}'); e > 0 {
			return key[s+1 : s+1+e]
		}
	}
	return key
}
