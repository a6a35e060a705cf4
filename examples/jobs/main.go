// Command jobs runs a producer and a pool of workers over a queue: jobs that
// fail now and then are retried with a growing delay, jobs that always fail
// end in the dead-letter queue, and the program prints a report and exits
// once every job is settled.
//
//	go run ./examples/jobs                  # in memory
//	go run ./examples/jobs -redis /tmp/redis.sock -workers 3
//
// With -redis (a host:port or a unix socket path) the queue lives in Redis,
// and several copies of the program can share it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"log"
	"os"
	"sync/atomic"
	"time"

	"github.com/distkit/distkit/backoff"
	"github.com/distkit/distkit/examples/internal/redisaddr"
	"github.com/distkit/distkit/queue"
	"github.com/distkit/distkit/queue/redisqueue"
)

func main() {
	addr := flag.String("redis", "", "Redis address (host:port or unix socket path); empty: in memory")
	jobs := flag.Int("jobs", 500, "jobs to enqueue")
	workers := flag.Int("workers", 2, "worker pools")
	flag.Parse()

	const maxAttempts = 3
	var (
		q      queue.Queue
		dl     queue.DeadLetters
		counts func(context.Context) (queue.Counts, error)
	)
	if *addr == "" {
		l := queue.NewLocal(queue.WithCapacity(100), queue.WithMaxAttempts(maxAttempts))
		q, dl = l, l
		counts = l.Len
	} else {
		rdb := redisaddr.Client(*addr)
		defer rdb.Close()
		r := redisqueue.New(rdb, fmt.Sprintf("jobs-%d", os.Getpid()), redisqueue.WithMaxAttempts(maxAttempts))
		q, dl, counts = r, r, r.Len
	}
	ctx := context.Background()

	// A job fails on its first attempt one time in five (a flaky
	// dependency), and always if it is one of every 50 (a poison message).
	var handled atomic.Int64
	handle := func(ctx context.Context, d queue.Delivery) error {
		handled.Add(1)
		h := fnv.New32a()
		h.Write(d.Body)
		switch n := h.Sum32(); {
		case n%50 == 0:
			return errors.New("malformed job")
		case n%5 == 0 && d.Attempt == 1:
			return errors.New("dependency timed out")
		}
		time.Sleep(time.Millisecond) // the work
		return nil
	}
	// Retries wait 20ms, 40ms, 60ms, ... up to a second.
	retry := backoff.NewLinear(20*time.Millisecond, 20*time.Millisecond, time.Second)

	runCtx, stop := context.WithCancel(ctx)
	pools := make([]*queue.Worker, *workers)
	done := make(chan struct{}, *workers)
	for i := range pools {
		pools[i] = queue.NewWorker(q, handle, queue.WithConcurrency(8), queue.WithReceiveBatch(4),
			queue.WithVisibility(5*time.Second), queue.WithRetryPolicy(retry), queue.WithGracePeriod(time.Second))
		go func() { _ = pools[i].Run(runCtx); done <- struct{}{} }()
	}

	// The producer enqueues in batches; on a full in-memory queue Enqueue
	// waits, which paces the producer to the workers.
	start := time.Now()
	for i := 0; i < *jobs; i += 10 {
		var batch []queue.Message
		for j := i; j < min(i+10, *jobs); j++ {
			batch = append(batch, queue.Message{Body: fmt.Appendf(nil, "job-%04d", j), DedupID: fmt.Sprint(j)})
		}
		if err := q.Enqueue(ctx, batch...); err != nil {
			log.Fatalf("enqueue: %v", err)
		}
	}
	for {
		c, err := counts(ctx)
		if err != nil {
			log.Fatalf("len: %v", err)
		}
		if c.Ready+c.Delayed+c.InFlight == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	var total queue.WorkerStats
	for i := range pools {
		<-done
		s := pools[i].Stats()
		total.Processed += s.Processed
		total.Failed += s.Failed
		total.Retried += s.Retried
		total.Dead += s.Dead
		total.Lost += s.Lost
	}

	fmt.Printf("%d jobs in %v by %d worker pools: %d handler runs\n", *jobs, time.Since(start).Round(time.Millisecond), *workers, handled.Load())
	fmt.Printf("processed %d, failed %d, retried %d, dead %d, lost %d\n", total.Processed, total.Failed, total.Retried, total.Dead, total.Lost)
	dead, err := dl.Dead(ctx, 100)
	if err != nil {
		log.Fatalf("dead letters: %v", err)
	}
	fmt.Printf("dead-letter queue: %d jobs\n", len(dead))
	for _, d := range dead {
		fmt.Printf("  %s: %d attempts, enqueued %s ago\n", d.Body, d.Attempt, time.Since(d.EnqueuedAt).Round(time.Millisecond))
	}
}
