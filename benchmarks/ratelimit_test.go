package benchmarks

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/distkit/distkit/internal/redistest"
	"github.com/distkit/distkit/ratelimit"
	"github.com/distkit/distkit/ratelimit/redisratelimit"
	fsratelimiter "github.com/failsafe-go/failsafe-go/ratelimiter"
	redisrate "github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"github.com/sethvargo/go-limiter/memorystore"
	"github.com/throttled/throttled/v2"
	"github.com/throttled/throttled/v2/store/memstore"
	ulule "github.com/ulule/limiter/v3"
	ulmemory "github.com/ulule/limiter/v3/drivers/store/memory"
	uber "go.uber.org/ratelimit"
	"golang.org/x/time/rate"
)

// Every limiter below is configured so that no call is ever denied and no
// call ever sleeps: the workloads measure the cost of a decision.
const (
	hugeRate  = 1_000_000_000 // events per second
	hugeBurst = 1 << 20
)

// bucketImpls are the single-bucket limiters: each returns one decision.
func bucketImpls() []struct {
	name  string
	allow func() func() bool
} {
	return []struct {
		name  string
		allow func() func() bool
	}{
		{"distkit", func() func() bool { return ratelimit.NewTokenBucket(hugeRate, hugeBurst).Allow }},
		{"xrate", func() func() bool { return rate.NewLimiter(hugeRate, hugeBurst).Allow }},
		{"uber", func() func() bool {
			l := uber.New(hugeRate) // 1 ns per Take: it never sleeps
			return func() bool { l.Take(); return true }
		}},
		{"failsafe", func() func() bool {
			return fsratelimiter.NewSmooth[any](hugeRate, time.Second).TryAcquirePermit
		}},
	}
}

func BenchmarkTokenBucketAllow(b *testing.B) {
	for _, impl := range bucketImpls() {
		b.Run("impl="+impl.name, func(b *testing.B) {
			allow := impl.allow()
			b.ReportAllocs()
			for b.Loop() {
				allow()
			}
		})
	}
}

func BenchmarkTokenBucketAllowParallel(b *testing.B) {
	for _, impl := range bucketImpls() {
		b.Run("impl="+impl.name, func(b *testing.B) {
			allow := impl.allow()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					allow()
				}
			})
		})
	}
}

func BenchmarkTokenBucketReserve(b *testing.B) {
	b.Run("impl=distkit", func(b *testing.B) {
		tb := ratelimit.NewTokenBucket(hugeRate, hugeBurst)
		b.ReportAllocs()
		for b.Loop() {
			tb.Reserve()
		}
	})
	b.Run("impl=xrate", func(b *testing.B) {
		l := rate.NewLimiter(hugeRate, hugeBurst)
		b.ReportAllocs()
		for b.Loop() {
			l.Reserve()
		}
	})
}

const numKeys = 10000

// keyedBurst is the burst of every key in the keyed workloads, which refill
// at one event per second: no key is ever denied, and no key's bucket is
// ever full again (a full bucket is state that some limiters drop).
const keyedBurst = 1 << 30

var keys = func() []string {
	k := make([]string, numKeys)
	for i := range k {
		k[i] = "client-" + strconv.Itoa(i)
	}
	return k
}()

// keyedImpls are the in-memory keyed limiters: each returns a decision for
// a key, and a func that releases what the limiter holds.
func keyedImpls(b *testing.B) []struct {
	name string
	make func() (allow func(ctx context.Context, key string) bool, stop func())
} {
	return []struct {
		name string
		make func() (func(context.Context, string) bool, func())
	}{
		{"distkit", func() (func(context.Context, string) bool, func()) {
			l := ratelimit.NewLocal(ratelimit.Limit{Rate: 1, Burst: keyedBurst})
			return func(ctx context.Context, key string) bool {
				d, _ := l.Allow(ctx, key)
				return d.Allowed
			}, func() {}
		}},
		{"sethvargo", func() (func(context.Context, string) bool, func()) {
			s, err := memorystore.New(&memorystore.Config{Tokens: keyedBurst, Interval: keyedBurst * time.Second})
			if err != nil {
				b.Fatal(err)
			}
			return func(ctx context.Context, key string) bool {
				_, _, _, ok, _ := s.Take(ctx, key)
				return ok
			}, func() { s.Close(context.Background()) }
		}},
		{"throttled", func() (func(context.Context, string) bool, func()) {
			st, err := memstore.NewCtx(2 * numKeys)
			if err != nil {
				b.Fatal(err)
			}
			l, err := throttled.NewGCRARateLimiterCtx(st, throttled.RateQuota{MaxRate: throttled.PerSec(1), MaxBurst: keyedBurst})
			if err != nil {
				b.Fatal(err)
			}
			return func(ctx context.Context, key string) bool {
				limited, _, _ := l.RateLimitCtx(ctx, key, 1)
				return !limited
			}, func() {}
		}},
		{"ulule", func() (func(context.Context, string) bool, func()) {
			l := ulule.New(ulmemory.NewStore(), ulule.Rate{Period: keyedBurst * time.Second, Limit: keyedBurst})
			return func(ctx context.Context, key string) bool {
				c, _ := l.Get(ctx, key)
				return !c.Reached
			}, func() {}
		}},
	}
}

// BenchmarkKeyedAllow is one decision on one of 10,000 known keys.
func BenchmarkKeyedAllow(b *testing.B) {
	for _, impl := range keyedImpls(b) {
		b.Run("impl="+impl.name, func(b *testing.B) {
			allow, stop := impl.make()
			defer stop()
			ctx := context.Background()
			for _, k := range keys {
				allow(ctx, k)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				allow(ctx, keys[i%numKeys])
				i++
			}
		})
	}
}

// BenchmarkKeyedAllowParallel is BenchmarkKeyedAllow from every P.
func BenchmarkKeyedAllowParallel(b *testing.B) {
	for _, impl := range keyedImpls(b) {
		b.Run("impl="+impl.name, func(b *testing.B) {
			allow, stop := impl.make()
			defer stop()
			ctx := context.Background()
			for _, k := range keys {
				allow(ctx, k)
			}
			var seq atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := int(seq.Add(7919))
				for pb.Next() {
					allow(ctx, keys[i%numKeys])
					i++
				}
			})
		})
	}
}

// redisImpls are the decisions on Redis, and a PING as the floor. All run
// on one server, whose client redisImpls returns too.
func redisImpls(b *testing.B) (*redis.Client, []struct {
	name string
	call func(ctx context.Context, key string) error
}) {
	rdb := redistest.Start(b)
	ours := redisratelimit.New(rdb, ratelimit.Limit{Rate: 1e6, Burst: 1e6})
	theirs := redisrate.NewLimiter(rdb)
	return rdb, []struct {
		name string
		call func(context.Context, string) error
	}{
		{"distkit", func(ctx context.Context, key string) error { _, err := ours.Allow(ctx, key); return err }},
		{"redis_rate", func(ctx context.Context, key string) error {
			_, err := theirs.Allow(ctx, key, redisrate.PerSecond(1e6))
			return err
		}},
		{"ping", func(ctx context.Context, _ string) error { return rdb.Ping(ctx).Err() }},
	}
}

// serverMicros returns the microseconds the server has spent in commands
// since its statistics were last reset, from INFO commandstats.
func serverMicros(b *testing.B, rdb *redis.Client) float64 {
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	total := 0.0
	for _, line := range strings.Split(info, "\n") {
		_, rest, ok := strings.Cut(line, "usec=")
		if !ok {
			continue
		}
		v, _, _ := strings.Cut(rest, ",")
		us, _ := strconv.ParseFloat(v, 64)
		total += us
	}
	return total
}

// reportServerTime reports the server's own time per call, server-µs/op:
// the part of the latency that does not depend on the client machine's load.
func reportServerTime(b *testing.B, rdb *redis.Client, run func()) {
	if err := rdb.ConfigResetStat(context.Background()).Err(); err != nil {
		b.Fatal(err)
	}
	run()
	b.StopTimer()
	// The INFO and CONFIG RESETSTAT calls themselves count a few µs, once.
	b.ReportMetric(serverMicros(b, rdb)/float64(b.N), "server-µs/op")
}

// BenchmarkRedisAllow is one decision on Redis, one client after another.
func BenchmarkRedisAllow(b *testing.B) {
	rdb, impls := redisImpls(b)
	for _, impl := range impls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			ctx := context.Background()
			impl.call(ctx, "k") // loads scripts
			b.ReportAllocs()
			reportServerTime(b, rdb, func() {
				for b.Loop() {
					if err := impl.call(ctx, "k"); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkRedisAllowParallel is decisions on Redis from every P, each on
// its own key.
func BenchmarkRedisAllowParallel(b *testing.B) {
	rdb, impls := redisImpls(b)
	for _, impl := range impls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			ctx := context.Background()
			impl.call(ctx, "k")
			var seq atomic.Int64
			b.ReportAllocs()
			reportServerTime(b, rdb, func() {
				b.RunParallel(func(pb *testing.PB) {
					key := "k" + strconv.FormatInt(seq.Add(1), 10)
					for pb.Next() {
						if err := impl.call(ctx, key); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		})
	}
}
