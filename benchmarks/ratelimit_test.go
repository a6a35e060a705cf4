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
	rlHugeRate  = 1_000_000_000 // events per second
	rlHugeBurst = 1 << 20
)

// rlBucketImpls are the single-bucket limiters: each returns one decision.
func rlBucketImpls() []struct {
	name  string
	allow func() func() bool
} {
	return []struct {
		name  string
		allow func() func() bool
	}{
		{"distkit", func() func() bool { return ratelimit.NewTokenBucket(rlHugeRate, rlHugeBurst).Allow }},
		{"xrate", func() func() bool { return rate.NewLimiter(rlHugeRate, rlHugeBurst).Allow }},
		{"uber", func() func() bool {
			l := uber.New(rlHugeRate) // 1 ns per Take: it never sleeps
			return func() bool { l.Take(); return true }
		}},
		{"failsafe", func() func() bool {
			return fsratelimiter.NewSmooth[any](rlHugeRate, time.Second).TryAcquirePermit
		}},
	}
}

// rlCPU runs a benchmark's loop and reports the CPU time the process spent
// per operation, cpu-ns/op: on a machine shared with other work, wall time
// per operation swings with the load, CPU time much less. It also reports
// cpus, the CPU time over the wall time: with -cpu 2 a figure near 2 means
// the loop really ran on two cores at once, and one near 1 that it took
// turns on one, where state shared between cores costs nothing extra.
func rlCPU(b *testing.B, loop func()) {
	start, wall := processCPU(), time.Now()
	loop()
	cpu := float64(processCPU() - start)
	b.ReportMetric(cpu/float64(b.N), "cpu-ns/op")
	b.ReportMetric(cpu/float64(time.Since(wall).Nanoseconds()), "cpus")
}

func BenchmarkTokenBucketAllow(b *testing.B) {
	for _, impl := range rlBucketImpls() {
		b.Run("impl="+impl.name, func(b *testing.B) {
			allow := impl.allow()
			b.ReportAllocs()
			rlCPU(b, func() {
				for b.Loop() {
					allow()
				}
			})
		})
	}
}

// rlClockSink keeps BenchmarkClockMonotonic's reads alive.
var rlClockSink time.Duration

// BenchmarkClockMonotonic is one read of the monotonic clock, time.Since on
// an instant that carries it: the floor under every decision here that reads
// the clock, as TokenBucket.Allow and Local.Allow do once each.
func BenchmarkClockMonotonic(b *testing.B) {
	b.Run("impl=time.Since", func(b *testing.B) {
		base := time.Now()
		var d time.Duration
		b.ReportAllocs()
		rlCPU(b, func() {
			for b.Loop() {
				d = time.Since(base)
			}
		})
		rlClockSink = d
	})
}

func BenchmarkTokenBucketAllowParallel(b *testing.B) {
	for _, impl := range rlBucketImpls() {
		b.Run("impl="+impl.name, func(b *testing.B) {
			allow := impl.allow()
			b.ReportAllocs()
			rlCPU(b, func() {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						allow()
					}
				})
			})
		})
	}
}

func BenchmarkTokenBucketReserve(b *testing.B) {
	b.Run("impl=distkit", func(b *testing.B) {
		tb := ratelimit.NewTokenBucket(rlHugeRate, rlHugeBurst)
		b.ReportAllocs()
		for b.Loop() {
			tb.Reserve()
		}
	})
	b.Run("impl=xrate", func(b *testing.B) {
		l := rate.NewLimiter(rlHugeRate, rlHugeBurst)
		b.ReportAllocs()
		for b.Loop() {
			l.Reserve()
		}
	})
}

const rlNumKeys = 10000

// rlKeyedBurst is the burst of every key in the keyed workloads, which refill
// at one event per second: no key is ever denied, and no key's bucket is
// ever full again (a full bucket is state that some limiters drop).
const rlKeyedBurst = 1 << 30

var rlKeys = func() []string {
	k := make([]string, rlNumKeys)
	for i := range k {
		k[i] = "client-" + strconv.Itoa(i)
	}
	return k
}()

// rlKeyedImpls are the in-memory keyed limiters: each returns a decision for
// a key, and a func that releases what the limiter holds.
func rlKeyedImpls(b *testing.B) []struct {
	name string
	make func() (allow func(ctx context.Context, key string) bool, stop func())
} {
	return []struct {
		name string
		make func() (func(context.Context, string) bool, func())
	}{
		{"distkit", func() (func(context.Context, string) bool, func()) {
			l := ratelimit.NewLocal(ratelimit.Limit{Rate: 1, Burst: rlKeyedBurst})
			return func(ctx context.Context, key string) bool {
				d, _ := l.Allow(ctx, key)
				return d.Allowed
			}, func() {}
		}},
		{"sethvargo", func() (func(context.Context, string) bool, func()) {
			s, err := memorystore.New(&memorystore.Config{Tokens: rlKeyedBurst, Interval: rlKeyedBurst * time.Second})
			if err != nil {
				b.Fatal(err)
			}
			return func(ctx context.Context, key string) bool {
				_, _, _, ok, _ := s.Take(ctx, key)
				return ok
			}, func() { s.Close(context.Background()) }
		}},
		{"throttled", func() (func(context.Context, string) bool, func()) {
			st, err := memstore.NewCtx(2 * rlNumKeys)
			if err != nil {
				b.Fatal(err)
			}
			l, err := throttled.NewGCRARateLimiterCtx(st, throttled.RateQuota{MaxRate: throttled.PerSec(1), MaxBurst: rlKeyedBurst})
			if err != nil {
				b.Fatal(err)
			}
			return func(ctx context.Context, key string) bool {
				limited, _, _ := l.RateLimitCtx(ctx, key, 1)
				return !limited
			}, func() {}
		}},
		{"ulule", func() (func(context.Context, string) bool, func()) {
			l := ulule.New(ulmemory.NewStore(), ulule.Rate{Period: rlKeyedBurst * time.Second, Limit: rlKeyedBurst})
			return func(ctx context.Context, key string) bool {
				c, _ := l.Get(ctx, key)
				return !c.Reached
			}, func() {}
		}},
	}
}

// BenchmarkRatelimitKeyed is one decision on one of 10,000 known keys.
func BenchmarkRatelimitKeyed(b *testing.B) {
	for _, impl := range rlKeyedImpls(b) {
		b.Run("impl="+impl.name, func(b *testing.B) {
			allow, stop := impl.make()
			defer stop()
			ctx := context.Background()
			for _, k := range rlKeys {
				allow(ctx, k)
			}
			b.ReportAllocs()
			i := 0
			rlCPU(b, func() {
				for b.Loop() {
					allow(ctx, rlKeys[i%rlNumKeys])
					i++
				}
			})
		})
	}
}

// BenchmarkRatelimitKeyedParallel is BenchmarkRatelimitKeyed from every P.
func BenchmarkRatelimitKeyedParallel(b *testing.B) {
	for _, impl := range rlKeyedImpls(b) {
		b.Run("impl="+impl.name, func(b *testing.B) {
			allow, stop := impl.make()
			defer stop()
			ctx := context.Background()
			for _, k := range rlKeys {
				allow(ctx, k)
			}
			var seq atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			rlCPU(b, func() {
				b.RunParallel(func(pb *testing.PB) {
					i := int(seq.Add(7919))
					for pb.Next() {
						allow(ctx, rlKeys[i%rlNumKeys])
						i++
					}
				})
			})
		})
	}
}

// rlRedisImpls are the decisions on Redis, and a PING as the floor. All run
// on one server, whose client rlRedisImpls returns too.
func rlRedisImpls(b *testing.B) (*redis.Client, []struct {
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

// rlServerMicros returns the microseconds the server has spent in commands
// since its statistics were last reset, from INFO commandstats.
func rlServerMicros(b *testing.B, rdb *redis.Client) float64 {
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

// rlReportServerTime reports the server's own time per call, server-µs/op:
// the part of the latency that does not depend on the client machine's load.
func rlReportServerTime(b *testing.B, rdb *redis.Client, run func()) {
	if err := rdb.ConfigResetStat(context.Background()).Err(); err != nil {
		b.Fatal(err)
	}
	rlCPU(b, run)
	b.StopTimer()
	// The INFO and CONFIG RESETSTAT calls themselves count a few µs, once.
	b.ReportMetric(rlServerMicros(b, rdb)/float64(b.N), "server-µs/op")
}

// BenchmarkRatelimitRedis is one decision on Redis, one client after another.
func BenchmarkRatelimitRedis(b *testing.B) {
	rdb, impls := rlRedisImpls(b)
	for _, impl := range impls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			ctx := context.Background()
			impl.call(ctx, "k") // loads scripts
			b.ReportAllocs()
			rlReportServerTime(b, rdb, func() {
				for b.Loop() {
					if err := impl.call(ctx, "k"); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkRatelimitRedisParallel is decisions on Redis from every P, each on
// its own key.
func BenchmarkRatelimitRedisParallel(b *testing.B) {
	rdb, impls := rlRedisImpls(b)
	for _, impl := range impls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			ctx := context.Background()
			impl.call(ctx, "k")
			var seq atomic.Int64
			b.ReportAllocs()
			rlReportServerTime(b, rdb, func() {
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

// BenchmarkTokenBucketAllowInterleaved is BenchmarkTokenBucketAllow with the
// implementations interleaved in blocks of 1,000 calls.
func BenchmarkTokenBucketAllowInterleaved(b *testing.B) {
	impls := rlBucketImpls()
	names := make([]string, len(impls))
	allows := make([]func() bool, len(impls))
	for i, impl := range impls {
		names[i], allows[i] = impl.name, impl.allow()
	}
	interleaved(b, 1000, names, func(i int) { allows[i]() })
}

// BenchmarkRatelimitKeyedInterleaved is BenchmarkRatelimitKeyed with the
// implementations interleaved in blocks of 1,000 calls.
func BenchmarkRatelimitKeyedInterleaved(b *testing.B) {
	impls := rlKeyedImpls(b)
	names := make([]string, len(impls))
	allows := make([]func(context.Context, string) bool, len(impls))
	ctx := context.Background()
	for i, impl := range impls {
		allow, stop := impl.make()
		defer stop()
		for _, k := range rlKeys {
			allow(ctx, k)
		}
		names[i], allows[i] = impl.name, allow
	}
	next := make([]int, len(impls))
	interleaved(b, 1000, names, func(i int) {
		allows[i](ctx, rlKeys[next[i]%rlNumKeys])
		next[i]++
	})
}

// BenchmarkRatelimitRedisInterleaved is BenchmarkRatelimitRedis with the
// implementations interleaved call by call, beside a second floor, "script":
// a Lua script that only reads the server's clock, GETs the key and SETs it
// with PX, the least a GCRA decision shared through Redis does in one round
// trip (PING is the floor of any round trip).
func BenchmarkRatelimitRedisInterleaved(b *testing.B) {
	rdb, impls := rlRedisImpls(b)
	floor := redis.NewScript(`redis.call('TIME') redis.call('GET', KEYS[1]) redis.call('SET', KEYS[1], ARGV[1], 'PX', 1000) return 1`)
	impls = append(impls, struct {
		name string
		call func(context.Context, string) error
	}{"script", func(ctx context.Context, key string) error {
		return floor.Run(ctx, rdb, []string{"floor:" + key}, "1764300000000000").Err()
	}})
	names := make([]string, len(impls))
	ctx := context.Background()
	for i, impl := range impls {
		names[i] = impl.name
		impl.call(ctx, "k")
	}
	interleaved(b, 1, names, func(i int) {
		if err := impls[i].call(ctx, "k"); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkSometimes is a call to Do that does not run the action (the
// common one) from every goroutine at once: with an Interval, which reads
// the clock, and with Every, which only counts.
func BenchmarkSometimes(b *testing.B) {
	noop := func() {}
	for _, every := range []bool{false, true} {
		name := "interval"
		ours, theirs := &ratelimit.Sometimes{Interval: time.Hour}, &rate.Sometimes{Interval: time.Hour}
		if every {
			name = "every"
			ours, theirs = &ratelimit.Sometimes{Every: 1 << 30}, &rate.Sometimes{Every: 1 << 30}
		}
		b.Run(name+"/impl=distkit", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					ours.Do(noop)
				}
			})
		})
		b.Run(name+"/impl=xrate", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					theirs.Do(noop)
				}
			})
		})
	}
}
