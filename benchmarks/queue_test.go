package benchmarks

import (
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/distkit/distkit/internal/redistest"
	"github.com/distkit/distkit/queue"
	"github.com/distkit/distkit/queue/redisqueue"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// queueQuietLogger drops go-redis's log lines, which would otherwise land in
// the middle of benchmark results when a worker's blocked command is
// cancelled at the end of a run.
type queueQuietLogger struct{}

func (queueQuietLogger) Printf(context.Context, string, ...any) {}

func init() { redis.SetLogger(queueQuietLogger{}) }

// BenchmarkQueueLocalHandoff moves b.N messages from 4 producers to 4
// consumers: through a queue.Local (enqueue, receive, ack), and through a
// buffered channel of the same capacity, our floor.
func BenchmarkQueueLocalHandoff(b *testing.B) {
	const producers, consumers, capacity = 4, 4, 1024
	b.Run("impl=distkit", func(b *testing.B) {
		q := queue.NewLocal(queue.WithCapacity(capacity))
		ctx := context.Background()
		b.ReportAllocs()
		queueHandoff(b, producers, consumers,
			func() { _ = q.Enqueue(ctx, queue.Message{}) },
			func() int {
				ds, err := q.Receive(ctx, 1, time.Minute)
				if err != nil {
					b.Error(err)
					return 0
				}
				_ = q.Ack(ctx, ds[0].Receipt)
				return 1
			})
	})
	b.Run("impl=chan", func(b *testing.B) {
		ch := make(chan queue.Message, capacity)
		b.ReportAllocs()
		queueHandoff(b, producers, consumers,
			func() { ch <- queue.Message{} },
			func() int { <-ch; return 1 })
	})
}

// queueHandoff runs b.N sends over producers goroutines and as many receives
// over consumers goroutines.
func queueHandoff(b *testing.B, producers, consumers int, send func(), recv func() int) {
	var wg sync.WaitGroup
	var left atomic.Int64
	left.Store(int64(b.N))
	b.ResetTimer()
	for p := range producers {
		n := b.N / producers
		if p == 0 {
			n += b.N % producers
		}
		wg.Go(func() {
			for range n {
				send()
			}
		})
	}
	for range consumers {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				recv()
			}
		})
	}
	wg.Wait()
}

// queueTripCounter counts the round trips a go-redis client makes: one per command,
// one per pipeline.
type queueTripCounter struct{ n atomic.Int64 }

func (c *queueTripCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *queueTripCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { c.n.Add(1); return next(ctx, cmd) }
}
func (c *queueTripCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { c.n.Add(1); return next(ctx, cmds) }
}

// queueServerCommands returns the number of commands the server has executed,
// those run by scripts included, from INFO commandstats.
func queueServerCommands(b *testing.B, rdb *redis.Client) int64 {
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total int64
	for _, line := range strings.Split(info, "\n") {
		_, rest, ok := strings.Cut(line, ":calls=")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(rest[:strings.IndexByte(rest, ',')], 10, 64)
		total += n
	}
	return total - 1 // this INFO
}

// queueServerCPU returns the CPU time the server has used, from INFO cpu.
func queueServerCPU(b *testing.B, rdb *redis.Client) time.Duration {
	info, err := rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(info, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		if k == "used_cpu_sys" || k == "used_cpu_user" {
			f, _ := strconv.ParseFloat(v, 64)
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}

// queueRedisEnv is one redis-server with a client whose round trips are counted
// and a client for INFO.
type queueRedisEnv struct {
	srv   *redistest.Server
	rdb   *redis.Client
	trips *queueTripCounter
	admin *redis.Client
}

func newQueueRedisEnv(b *testing.B) *queueRedisEnv {
	srv := redistest.StartServer(b)
	opts := srv.Options()
	opts.PoolSize = 64
	rdb := redis.NewClient(opts)
	b.Cleanup(func() { rdb.Close() })
	c := &queueTripCounter{}
	rdb.AddHook(c)
	return &queueRedisEnv{srv: srv, rdb: rdb, trips: c, admin: srv.Client()}
}

// measure runs one iteration per b.N of run, which must process tasks tasks,
// and reports tasks/s, round trips and server commands per task.
func (e *queueRedisEnv) measure(b *testing.B, tasks int, run func(iter int)) {
	trips0, cmds0, cpu0, own0 := e.trips.n.Load(), queueServerCommands(b, e.admin), queueServerCPU(b, e.admin), processCPU()
	start := time.Now()
	b.ResetTimer()
	for i := range b.N {
		run(i)
	}
	b.StopTimer()
	el := time.Since(start)
	n := float64(tasks * b.N)
	b.ReportMetric(n/el.Seconds(), "tasks/s")
	b.ReportMetric(float64(e.trips.n.Load()-trips0)/n, "roundtrips/task")
	b.ReportMetric(float64(queueServerCommands(b, e.admin)-cmds0)/n, "cmds/task")
	b.ReportMetric(float64(queueServerCPU(b, e.admin)-cpu0)/float64(time.Microsecond)/n, "server-µs/task")
	b.ReportMetric(float64(processCPU()-own0)/float64(time.Microsecond)/n, "client-µs/task")
}

const (
	queueRedisTasks   = 20000
	queueRedisClients = 10
)

// BenchmarkQueueRedis20k runs 20,000 no-op tasks end to end on one Redis
// server: 10 producers enqueue them while 10 workers process them. One op is
// all 20,000 tasks, from the first enqueue to the last task handled; the
// workers run from before the first op to after the last, so their start and
// shutdown are not measured, for any impl. distkit enqueues one message per
// call and runs a queue.Worker with 10 handler slots and its defaults (it
// receives up to as many messages as it has idle slots, and acks finished
// messages in the same round trip); distkit-batch enqueues 100 messages per
// call and its 10 workers each ack a batch and receive the next, up to 100,
// in one round trip (AckReceive, then a blocking Receive when nothing is
// ready); asynq uses its client and a server with Concurrency 10.
func BenchmarkQueueRedis20k(b *testing.B) {
	b.Run("impl=distkit", func(b *testing.B) {
		e := newQueueRedisEnv(b)
		q := redisqueue.New(e.rdb, "bench")
		var done, target atomic.Int64
		finished := make(chan struct{}, 1)
		ctx, stop := context.WithCancel(context.Background())
		w := queue.NewWorker(q, func(context.Context, queue.Delivery) error {
			if done.Add(1) == target.Load() {
				finished <- struct{}{}
			}
			return nil
		}, queue.WithConcurrency(queueRedisClients), queue.WithGracePeriod(0))
		stopped := make(chan struct{})
		go func() { _ = w.Run(ctx); close(stopped) }()
		defer func() { stop(); <-stopped }()
		e.measure(b, queueRedisTasks, func(iter int) {
			target.Add(queueRedisTasks)
			queueProduce(queueRedisTasks, queueRedisClients, func(i int) {
				if err := q.Enqueue(ctx, queue.Message{Body: []byte(strconv.Itoa(i))}); err != nil {
					b.Error(err)
				}
			})
			<-finished
		})
	})
	b.Run("impl=distkit-batch", func(b *testing.B) {
		const batch = 100
		e := newQueueRedisEnv(b)
		q := redisqueue.New(e.rdb, "bench")
		var done, target atomic.Int64
		finished := make(chan struct{}, 1)
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		defer func() { stop(); wg.Wait() }()
		for range queueRedisClients {
			wg.Go(func() {
				var rs []queue.Receipt
				for {
					ds, _, err := q.AckReceive(context.Background(), rs, batch, 30*time.Second)
					if err == nil && len(ds) == 0 {
						ds, err = q.Receive(ctx, batch, 30*time.Second)
					}
					if err != nil {
						if ctx.Err() == nil {
							b.Error(err)
						}
						return
					}
					rs = rs[:0]
					for _, d := range ds {
						rs = append(rs, d.Receipt)
					}
					if done.Add(int64(len(ds))) == target.Load() {
						finished <- struct{}{}
					}
				}
			})
		}
		e.measure(b, queueRedisTasks, func(iter int) {
			target.Add(queueRedisTasks)
			queueProduce(queueRedisTasks/batch, queueRedisClients, func(i int) {
				msgs := make([]queue.Message, batch)
				for j := range msgs {
					msgs[j].Body = []byte(strconv.Itoa(i*batch + j))
				}
				if err := q.Enqueue(ctx, msgs...); err != nil {
					b.Error(err)
				}
			})
			<-finished
		})
	})
	b.Run("impl=asynq", func(b *testing.B) {
		e := newQueueRedisEnv(b)
		var done atomic.Int64
		var target atomic.Int64
		finished := make(chan struct{}, 1)
		srv := asynq.NewServerFromRedisClient(e.rdb, asynq.Config{Concurrency: queueRedisClients, LogLevel: asynq.FatalLevel})
		if err := srv.Start(asynq.HandlerFunc(func(context.Context, *asynq.Task) error {
			if done.Add(1) == target.Load() {
				finished <- struct{}{}
			}
			return nil
		})); err != nil {
			b.Fatal(err)
		}
		defer srv.Shutdown()
		client := asynq.NewClientFromRedisClient(e.rdb)
		e.measure(b, queueRedisTasks, func(iter int) {
			target.Add(queueRedisTasks)
			queueProduce(queueRedisTasks, queueRedisClients, func(i int) {
				if _, err := client.Enqueue(asynq.NewTask("noop", []byte(strconv.Itoa(i)))); err != nil {
					b.Error(err)
				}
			})
			<-finished
		})
	})
}

// queueProduce calls enqueue(i) for i in [0, n) from producers goroutines.
func queueProduce(n, producers int, enqueue func(i int)) {
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := p; i < n; i += producers {
				enqueue(i)
			}
		})
	}
	wg.Wait()
}

// queueLatencies reports the 50th and 99th percentiles of samples.
func queueLatencies(b *testing.B, samples []time.Duration, unit string) {
	slices.Sort(samples)
	p := func(q float64) float64 {
		return float64(samples[int(q*float64(len(samples)-1)+0.5)]) / float64(time.Millisecond)
	}
	b.ReportMetric(p(0.5), "p50-"+unit)
	b.ReportMetric(p(0.99), "p99-"+unit)
}

// BenchmarkQueueRedisPickup measures how long an idle worker takes to start
// on a new message: 20 messages, one at a time, each enqueued after the
// worker went idle (a pause of 20-60ms). One op is all 20 messages.
func BenchmarkQueueRedisPickup(b *testing.B) {
	const samples = 20
	run := func(b *testing.B, enqueue func(sent time.Time), got <-chan time.Duration) {
		var all []time.Duration
		for range b.N {
			for i := range samples {
				time.Sleep(time.Duration(20+2*i) * time.Millisecond) // idle
				enqueue(time.Now())
				all = append(all, <-got)
			}
		}
		queueLatencies(b, all, "ms")
	}
	b.Run("impl=distkit", func(b *testing.B) {
		e := newQueueRedisEnv(b)
		q := redisqueue.New(e.rdb, "pickup")
		got := make(chan time.Duration, 1)
		ctx, stop := context.WithCancel(context.Background())
		defer stop()
		w := queue.NewWorker(q, func(_ context.Context, d queue.Delivery) error {
			sent, _ := time.Parse(time.RFC3339Nano, string(d.Body))
			got <- time.Since(sent)
			return nil
		}, queue.WithConcurrency(queueRedisClients))
		go w.Run(ctx)
		run(b, func(sent time.Time) {
			if err := q.Enqueue(ctx, queue.Message{Body: []byte(sent.Format(time.RFC3339Nano))}); err != nil {
				b.Error(err)
			}
		}, got)
	})
	b.Run("impl=asynq", func(b *testing.B) {
		e := newQueueRedisEnv(b)
		got := make(chan time.Duration, 1)
		srv := asynq.NewServerFromRedisClient(e.rdb, asynq.Config{Concurrency: queueRedisClients, LogLevel: asynq.FatalLevel})
		if err := srv.Start(asynq.HandlerFunc(func(_ context.Context, t *asynq.Task) error {
			sent, _ := time.Parse(time.RFC3339Nano, string(t.Payload()))
			got <- time.Since(sent)
			return nil
		})); err != nil {
			b.Fatal(err)
		}
		defer srv.Shutdown()
		client := asynq.NewClientFromRedisClient(e.rdb)
		run(b, func(sent time.Time) {
			if _, err := client.Enqueue(asynq.NewTask("pickup", []byte(sent.Format(time.RFC3339Nano)))); err != nil {
				b.Error(err)
			}
		}, got)
	})
}

// BenchmarkQueueRedisDelayed measures how late delayed messages start: 20
// messages with delays of 100ms to 2s, enqueued at once. One op is all 20.
func BenchmarkQueueRedisDelayed(b *testing.B) {
	const n = 20
	delay := func(i int) time.Duration { return 100*time.Millisecond + time.Duration(i)*95*time.Millisecond }
	run := func(b *testing.B, enqueue func(i int, at time.Time), got <-chan time.Duration) {
		var all []time.Duration
		for range b.N {
			start := time.Now()
			for i := range n {
				enqueue(i, start.Add(delay(i)))
			}
			for range n {
				all = append(all, <-got)
			}
		}
		queueLatencies(b, all, "ms-late")
	}
	b.Run("impl=distkit", func(b *testing.B) {
		e := newQueueRedisEnv(b)
		q := redisqueue.New(e.rdb, "delayed")
		got := make(chan time.Duration, n)
		ctx, stop := context.WithCancel(context.Background())
		defer stop()
		w := queue.NewWorker(q, func(_ context.Context, d queue.Delivery) error {
			at, _ := time.Parse(time.RFC3339Nano, string(d.Body))
			got <- time.Since(at)
			return nil
		}, queue.WithConcurrency(queueRedisClients))
		go w.Run(ctx)
		run(b, func(i int, at time.Time) {
			if err := q.Enqueue(ctx, queue.Message{Body: []byte(at.Format(time.RFC3339Nano)), RunAt: at}); err != nil {
				b.Error(err)
			}
		}, got)
	})
	b.Run("impl=asynq", func(b *testing.B) {
		e := newQueueRedisEnv(b)
		got := make(chan time.Duration, n)
		srv := asynq.NewServerFromRedisClient(e.rdb, asynq.Config{Concurrency: queueRedisClients, LogLevel: asynq.FatalLevel})
		if err := srv.Start(asynq.HandlerFunc(func(_ context.Context, t *asynq.Task) error {
			at, _ := time.Parse(time.RFC3339Nano, string(t.Payload()))
			got <- time.Since(at)
			return nil
		})); err != nil {
			b.Fatal(err)
		}
		defer srv.Shutdown()
		client := asynq.NewClientFromRedisClient(e.rdb)
		run(b, func(i int, at time.Time) {
			if _, err := client.Enqueue(asynq.NewTask("delayed", []byte(at.Format(time.RFC3339Nano))), asynq.ProcessAt(at)); err != nil {
				b.Error(err)
			}
		}, got)
	})
}

// TestAsynqAcceptsUnixSockets checks the premise of the Redis benchmarks:
// asynq talks to redistest's unix-socket server.
func TestAsynqAcceptsUnixSockets(t *testing.T) {
	srv := redistest.StartServer(t)
	if _, err := net.Dial("unix", srv.Addr()); err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClient(asynq.RedisClientOpt{Network: "unix", Addr: srv.Addr()})
	defer client.Close()
	if _, err := client.Enqueue(asynq.NewTask("t", nil)); err != nil {
		t.Fatalf("asynq Enqueue over a unix socket = %v", err)
	}
}
