package redislock_test

import (
	"context"
	"strconv"
	"sync"
	"testing"

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
