package redislock_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/distkit/distkit/internal/redistest"
	"github.com/distkit/distkit/lock"
	"github.com/distkit/distkit/lock/redislock"
	"github.com/redis/go-redis/v9"
)

// Three candidates, each with its own connection to Redis. When the leader's
// connection dies (as with a crash), another candidate takes over once the
// leader's lease expires in Redis, with a higher term.
func TestElectorFailover(t *testing.T) {
	srv := redistest.StartServer(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	const ttl = 300 * time.Millisecond
	type event struct {
		i    int
		term uint64
		at   time.Time
	}
	elected := make(chan event, 10)
	clients := make([]*redis.Client, 3)
	var wg sync.WaitGroup
	for i := range clients {
		clients[i] = srv.Client()
		e := lock.NewElector(redislock.New(clients[i]), "leader", string(rune('a'+i)), ttl)
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.Run(ctx, func(ctx context.Context, term uint64) {
				elected <- event{i, term, time.Now()}
				<-ctx.Done()
			})
		}()
	}
	first := <-elected
	h, ok, err := redislock.New(srv.Client()).Inspect(ctx, "leader")
	if !ok || err != nil || h.Owner != string(rune('a'+first.i)) || h.Token != first.term {
		t.Errorf("Inspect = %+v, %v, %v; want owner %c, token %d", h, ok, err, 'a'+first.i, first.term)
	}
	crashed := time.Now()
	clients[first.i].Close() // the leader can neither refresh nor release
	second := <-elected
	if second.i == first.i || second.term <= first.term {
		t.Errorf("after the crash: candidate %d, term %d; want another candidate, term above %d", second.i, second.term, first.term)
	}
	// The lease was last refreshed at most TTL/3 before the crash; waiters
	// notice its expiry within MaxBlock.
	if d := second.at.Sub(crashed); d > ttl+redislock.MaxBlock {
		t.Errorf("crashed leader replaced after %v; want within TTL + MaxBlock = %v", d, ttl+redislock.MaxBlock)
	}
	cancel()
	wg.Wait()
}
