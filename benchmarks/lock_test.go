package benchmarks

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bsm "github.com/bsm/redislock"
	"github.com/distkit/distkit/internal/redistest"
	"github.com/distkit/distkit/lock"
	"github.com/distkit/distkit/lock/redislock"
	"github.com/go-redsync/redsync/v4"
	"github.com/go-redsync/redsync/v4/redis/goredis/v9"
	"github.com/redis/go-redis/v9"
)

// A lockImpl is one library's way to take and give back a lock, for one
// client: lock waits until obtained (or ctx ends), tryLock does not wait.
type lockImpl struct {
	name    string
	newUser func(rdb *redis.Client) lockUser
}

type lockUser struct {
	tryLock func(ctx context.Context) (unlock func() error, err error)
	lock    func(ctx context.Context) (unlock func() error, err error)
}

const benchTTL = 10 * time.Second

var lockImpls = []lockImpl{
	{"distkit", func(rdb *redis.Client) lockUser {
		l := redislock.New(rdb)
		wrap := func(le *lock.Lease, err error) (func() error, error) {
			if err != nil {
				return nil, err
			}
			return func() error { return le.Release(context.Background()) }, nil
		}
		return lockUser{
			tryLock: func(ctx context.Context) (func() error, error) { return wrap(l.TryLock(ctx, "bench", benchTTL)) },
			lock:    func(ctx context.Context) (func() error, error) { return wrap(l.Lock(ctx, "bench", benchTTL)) },
		}
	}},
	{"bsm", func(rdb *redis.Client) lockUser {
		c := bsm.New(rdb)
		obtain := func(ctx context.Context, opt *bsm.Options) (func() error, error) {
			lk, err := c.Obtain(ctx, "bench", benchTTL, opt)
			if err != nil {
				return nil, err
			}
			return func() error { return lk.Release(context.Background()) }, nil
		}
		// The retry interval of bsm/redislock's own example.
		retry := &bsm.Options{RetryStrategy: bsm.LinearBackoff(100 * time.Millisecond)}
		return lockUser{
			tryLock: func(ctx context.Context) (func() error, error) { return obtain(ctx, nil) },
			lock:    func(ctx context.Context) (func() error, error) { return obtain(ctx, retry) },
		}
	}},
	{"redsync", func(rdb *redis.Client) lockUser {
		rs := redsync.New(goredis.NewPool(rdb))
		try := rs.NewMutex("bench", redsync.WithExpiry(benchTTL), redsync.WithTries(1))
		wait := rs.NewMutex("bench", redsync.WithExpiry(benchTTL), redsync.WithTries(1<<20)) // default retry delays
		use := func(m *redsync.Mutex) func(ctx context.Context) (func() error, error) {
			return func(ctx context.Context) (func() error, error) {
				if err := m.LockContext(ctx); err != nil {
					return nil, err
				}
				return func() error {
					_, err := m.UnlockContext(context.Background())
					return err
				}, nil
			}
		}
		return lockUser{tryLock: use(try), lock: use(wait)}
	}},
}

// countRoundTrips counts the commands a client sends (a pipeline counts once).
type countRoundTrips struct{ n atomic.Int64 }

func (*countRoundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *countRoundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { c.n.Add(1); return next(ctx, cmd) }
}
func (c *countRoundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { c.n.Add(1); return next(ctx, cmds) }
}

// BenchmarkLockUncontended takes and releases a free lock: the cost of a
// lock that is almost never contended, in time, allocations and round trips.
func BenchmarkLockUncontended(b *testing.B) {
	srv := redistest.StartServer(b)
	for _, impl := range lockImpls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			rdb := srv.Client()
			var rt countRoundTrips
			rdb.AddHook(&rt)
			u := impl.newUser(rdb)
			ctx := context.Background()
			cycle := func() {
				unlock, err := u.tryLock(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if err := unlock(); err != nil {
					b.Fatal(err)
				}
			}
			cycle() // load the scripts
			rt.n.Store(0)
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				cycle()
				n++
			}
			b.ReportMetric(float64(rt.n.Load())/float64(n), "roundtrips/op")
		})
	}
}

// BenchmarkLockContended runs 8 clients, each with its own connection pool,
// taking one lock in turn with a 100µs critical section, for b.N
// acquisitions in all (-benchtime 3s runs about 3s). It reports the wait for
// the lock (p99, max), acquisitions per second, hand-offs per second (an
// acquisition by another client than the last holder: a lock that lets its
// last holder barge back in has far fewer than acquisitions, and starves the
// others) and exclusion violations (two holders inside at once), and the p99
// of the critical section itself, which on a loaded machine can stretch past
// 100µs and with it every wait.
func BenchmarkLockContended(b *testing.B) {
	const clients = 8
	const critical = 100 * time.Microsecond
	srv := redistest.StartServer(b)
	for _, impl := range lockImpls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			users := make([]lockUser, clients)
			for i := range users {
				users[i] = impl.newUser(srv.Client())
				unlock, err := users[i].tryLock(context.Background()) // load the scripts
				if err != nil {
					b.Fatal(err)
				}
				unlock()
			}
			var (
				left       atomic.Int64
				inside     atomic.Int32
				violations atomic.Int64
				handoffs   atomic.Int64
				last       atomic.Int32 // the last holder
				mu         sync.Mutex
				waits, css []time.Duration // waits for the lock, critical sections
				wg         sync.WaitGroup
			)
			left.Store(int64(b.N))
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			b.ResetTimer()
			start := time.Now()
			last.Store(-1)
			for i, u := range users {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var mine, cs []time.Duration
					for left.Add(-1) >= 0 {
						t0 := time.Now()
						unlock, err := u.lock(ctx)
						if err != nil {
							if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
								b.Error(err)
							}
							return
						}
						mine = append(mine, time.Since(t0))
						if inside.Add(1) != 1 {
							violations.Add(1)
						}
						if last.Swap(int32(i)) != int32(i) {
							handoffs.Add(1)
						}
						t1 := time.Now()
						for time.Since(t1) < critical {
							// Work, not a sleep: time.Sleep(100µs) sleeps about
							// a millisecond here (the netpoller waits in whole
							// milliseconds), which would stretch every wait.
						}
						cs = append(cs, time.Since(t1))
						inside.Add(-1)
						if err := unlock(); err != nil {
							b.Error(err)
							return
						}
					}
					mu.Lock()
					waits = append(waits, mine...)
					css = append(css, cs...)
					mu.Unlock()
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			slices.Sort(waits)
			slices.Sort(css)
			if len(waits) == 0 {
				return
			}
			// The critical section's own p99 shows how much the machine's
			// load stretches 100µs of work, and with it every wait.
			b.ReportMetric(float64(css[min(len(css)-1, len(css)*99/100)])/1e6, "cs-p99-ms")
			p99 := waits[min(len(waits)-1, len(waits)*99/100)]
			b.ReportMetric(float64(p99)/1e6, "wait-p99-ms")
			b.ReportMetric(float64(waits[len(waits)-1])/1e6, "wait-max-ms")
			b.ReportMetric(float64(len(waits))/elapsed.Seconds(), "acquired/s")
			b.ReportMetric(float64(handoffs.Load())/elapsed.Seconds(), "handoffs/s")
			b.ReportMetric(float64(violations.Load()), "violations")
		})
	}
}

// BenchmarkLockUncontendedInterleaved is BenchmarkLockUncontended with the
// implementations interleaved call by call (see interleaved), beside
// "ping2": two PINGs, the least any lock that takes two round trips can
// cost on this server and client.
func BenchmarkLockUncontendedInterleaved(b *testing.B) {
	srv := redistest.StartServer(b)
	ctx := context.Background()
	var names []string
	var cycles []func()
	for _, impl := range lockImpls {
		u := impl.newUser(srv.Client())
		names = append(names, impl.name)
		cycles = append(cycles, func() {
			unlock, err := u.tryLock(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if err := unlock(); err != nil {
				b.Fatal(err)
			}
		})
	}
	ping := srv.Client()
	names = append(names, "ping2")
	cycles = append(cycles, func() {
		for range 2 {
			if err := ping.Ping(ctx).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, c := range cycles {
		c() // load the scripts
	}
	interleaved(b, 1, names, func(i int) { cycles[i]() })
}
