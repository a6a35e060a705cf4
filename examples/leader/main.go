// Command leader runs three candidates for leadership of a periodic job, then
// crashes the leader and watches another take over with a higher term.
//
// Without flags the candidates share an in-memory lock.Local and the program
// ends by itself after a few seconds. With -redis ADDR they elect through
// Redis at ADDR (host:port, or a unix socket path), each with its own client,
// as three processes would.
//
// The job writes to a fenced store that refuses terms older than the highest
// it has seen: when the crashed leader, which was only frozen, wakes up and
// tries one more write with its old term, the store turns it away.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/distkit/distkit/examples/internal/redisaddr"
	"github.com/distkit/distkit/lock"
	"github.com/distkit/distkit/lock/redislock"
)

const ttl = time.Second

func main() {
	addr := flag.String("redis", "", "elect through the Redis server at `addr` (host:port or unix socket path)")
	flag.Parse()
	log.SetFlags(log.Lmicroseconds)

	var newLocker func() lock.Locker
	if *addr == "" {
		shared := lock.NewLocal()
		newLocker = func() lock.Locker { return shared }
	} else {
		newLocker = func() lock.Locker {
			return redislock.New(redisaddr.Client(*addr))
		}
	}
	if err := run(newLocker); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

func run(newLocker func() lock.Locker) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := &fencedStore{}
	elected := make(chan *candidate, 3)
	cands := make([]*candidate, 3)
	var wg sync.WaitGroup
	for i := range cands {
		c := &candidate{name: fmt.Sprintf("node-%c", 'a'+i), proc: &process{Locker: newLocker()}, frozen: make(chan struct{})}
		c.e = lock.NewElector(c.proc, "leader-example", c.name, ttl)
		cands[i] = c
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.e.Run(ctx, func(ctx context.Context, term uint64) {
				log.Printf("%s: elected, term %d", c.name, term)
				elected <- c
				c.lead(ctx, term, store)
			})
		}()
	}
	defer wg.Wait()
	defer cancel()

	first := <-elected
	time.Sleep(time.Second)
	killed := time.Now()
	log.Printf("%s: crashes (stops renewing its lease and freezes)", first.name)
	first.proc.crashed.Store(true)
	close(first.frozen)

	second := <-elected
	log.Printf("%s took over %v after the crash (TTL %v)", second.name, time.Since(killed).Round(time.Millisecond), ttl)
	time.Sleep(500 * time.Millisecond)
	first.zombie <- struct{}{} // the frozen leader wakes and writes once
	<-first.zombieDone
	time.Sleep(500 * time.Millisecond)

	log.Printf("%s: resigns", second.name)
	resigned := time.Now()
	if err := second.e.Resign(ctx); err != nil {
		return err
	}
	third := <-elected
	log.Printf("%s took over %v after the resignation", third.name, time.Since(resigned).Round(time.Millisecond))
	time.Sleep(500 * time.Millisecond)
	if h, ok, err := third.e.Leader(ctx); err == nil && ok {
		log.Printf("the store names %s leader in term %d; %d writes accepted, %d refused", h.Owner, h.Token, store.accepted.Load(), store.refused.Load())
	}
	return nil
}

type candidate struct {
	name       string
	proc       *process
	e          *lock.Elector
	frozen     chan struct{} // closed when the candidate crashes
	zombie     chan struct{}
	zombieDone chan struct{}
}

// lead runs the periodic job until leadership ends. A crashed leader freezes
// instead, as a stopped VM would, and may wake to write once more.
func (c *candidate) lead(ctx context.Context, term uint64, store *fencedStore) {
	c.zombie, c.zombieDone = make(chan struct{}), make(chan struct{})
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for n := 1; ; n++ {
		select {
		case <-c.frozen:
			<-c.zombie
			err := store.write(term, c.name)
			log.Printf("%s: wakes up and writes with stale term %d: %v", c.name, term, err)
			close(c.zombieDone)
			return
		case <-ctx.Done():
			log.Printf("%s: leadership ended: %v", c.name, context.Cause(ctx))
			return
		case <-tick.C:
			if err := store.write(term, c.name); err != nil {
				log.Printf("%s: job #%d refused: %v", c.name, n, err)
				continue
			}
			log.Printf("%s: job #%d done in term %d", c.name, n, term)
		}
	}
}

// fencedStore accepts a write only with a term at least the highest seen.
type fencedStore struct {
	mu       sync.Mutex
	highest  uint64
	accepted atomic.Int64
	refused  atomic.Int64
}

func (s *fencedStore) write(term uint64, _ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if term < s.highest {
		s.refused.Add(1)
		return fmt.Errorf("refused: term %d is older than %d", term, s.highest)
	}
	s.highest = term
	s.accepted.Add(1)
	return nil
}

// process is one candidate's view of the Locker. After a crash its leases
// are neither refreshed nor released, and it campaigns no more.
type process struct {
	lock.Locker
	crashed atomic.Bool
}

var errCrashed = errors.New("process crashed")

func (p *process) Lock(ctx context.Context, key string, ttl time.Duration, opts ...lock.Option) (*lock.Lease, error) {
	if p.crashed.Load() {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	cfg := lock.NewConfig(opts)
	le, err := p.Locker.Lock(ctx, key, ttl, lock.WithOwner(cfg.Owner))
	if err != nil {
		return nil, err
	}
	return lock.NewLease(ctx, crashGrant{le, p}, key, le.Token(), ttl, le.Expiry().Add(lock.Margin(ttl)-ttl), cfg), nil
}

func (p *process) Inspect(ctx context.Context, key string) (lock.Holder, bool, error) {
	return p.Locker.(lock.Inspector).Inspect(ctx, key)
}

type crashGrant struct {
	le *lock.Lease
	p  *process
}

func (g crashGrant) Refresh(ctx context.Context, _ time.Duration) error {
	if g.p.crashed.Load() {
		return errCrashed
	}
	return g.le.Refresh(ctx)
}

func (g crashGrant) Release(ctx context.Context) error {
	if g.p.crashed.Load() {
		return errCrashed
	}
	return g.le.Release(ctx)
}
