package redislock_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distkit/distkit/internal/redistest"
	"github.com/distkit/distkit/lock"
	"github.com/distkit/distkit/lock/locktest"
	"github.com/distkit/distkit/lock/redislock"
	"github.com/redis/go-redis/v9"
)

// servers gives each test one redis-server, shared by its Lockers.
type servers struct {
	mu sync.Mutex
	m  map[string]*redistest.Server
}

func (s *servers) get(t *testing.T) *redistest.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*redistest.Server{}
	}
	srv, ok := s.m[t.Name()]
	if !ok {
		srv = redistest.StartServer(t)
		s.m[t.Name()] = srv
	}
	return srv
}

type redisCounter struct {
	rdb *redis.Client
	key string
}

func (c redisCounter) Get(ctx context.Context) (int, error) {
	s, err := c.rdb.Get(ctx, c.key).Result()
	if err == redis.Nil {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(s)
}

func (c redisCounter) Set(ctx context.Context, n int) error {
	return c.rdb.Set(ctx, c.key, n, 0).Err()
}

func TestConformance(t *testing.T) {
	var s servers
	locktest.Run(t, func(t *testing.T) lock.Locker {
		return redislock.New(s.get(t).Client())
	}, locktest.WithCounter(func(t *testing.T) locktest.Counter {
		return redisCounter{rdb: s.get(t).Client(), key: "counter"}
	}))
}

// TestTokensCountGrantsOnly: a TryLock that finds the lock taken gives its
// token back, and the holder's token is kept in the lock itself, so Inspect
// reports it even once the counter is gone; the next grant then starts from
// the server's clock, above every earlier token.
func TestTokensCountGrantsOnly(t *testing.T) {
	ctx := context.Background()
	srv := redistest.StartServer(t)
	rdb := srv.Client()
	l := redislock.New(rdb, redislock.WithPrefix("t:"))
	a, err := l.TryLock(ctx, "k", time.Minute, lock.WithOwner("a"))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := l.TryLock(ctx, "k", time.Minute); err != lock.ErrNotObtained {
			t.Fatalf("TryLock on a held lock = %v; want ErrNotObtained", err)
		}
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := l.TryLock(ctx, "k", time.Minute, lock.WithOwner("b"))
	if err != nil {
		t.Fatal(err)
	}
	if b.Token() != a.Token()+1 {
		t.Errorf("tokens %d then %d, with three refused TryLocks between; want consecutive", a.Token(), b.Token())
	}
	if err := rdb.Del(ctx, "t:{k}:fence").Err(); err != nil {
		t.Fatal(err)
	}
	h, ok, err := l.Inspect(ctx, "k")
	if err != nil || !ok || h.Owner != "b" || h.Token != b.Token() {
		t.Errorf("Inspect with the counter gone = %+v, %v, %v; want owner b, token %d", h, ok, err, b.Token())
	}
	if err := b.Refresh(ctx); err != nil {
		t.Errorf("Refresh with the counter gone = %v", err)
	}
	if err := b.Release(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := l.TryLock(ctx, "k", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if c.Token() <= b.Token() {
		t.Errorf("token after the counter was lost = %d; want above %d", c.Token(), b.Token())
	}
}

// TestUnmarkedHolderHandsOverToWaiter: a lease taken by TryLock while a
// waiter is queued is not marked as waited for (TryLock does not look at the
// queue); the waiter marks the lock again on its next round, so the release
// still hands the lock over.
func TestUnmarkedHolderHandsOverToWaiter(t *testing.T) {
	ctx := context.Background()
	srv := redistest.StartServer(t)
	rdb := srv.Client()
	l := redislock.New(rdb, redislock.WithPrefix("h:"))
	holder, err := l.TryLock(ctx, "k", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *lock.Lease, 1)
	go func() {
		le, err := l.Lock(ctx, "k", time.Minute)
		if err != nil {
			t.Error(err)
		}
		got <- le
	}()
	marked := func() string {
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
			if v, _ := rdb.Get(ctx, "h:{k}:lock").Result(); strings.HasPrefix(v, "+") {
				return v
			}
			if time.Now().After(deadline) {
				t.Fatal("the waiter never marked the lock")
			}
		}
	}
	// Unmark the lock, as if TryLock had taken it after the waiter queued.
	if err := rdb.Do(ctx, "set", "h:{k}:lock", marked()[1:], "keepttl").Err(); err != nil {
		t.Fatal(err)
	}
	marked()
	if err := holder.Release(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case le := <-got:
		if le == nil || le.Token() <= holder.Token() {
			t.Fatalf("waiter got %v; want a lease with a token above %d", le, holder.Token())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiter was not handed the lock")
	}
}
