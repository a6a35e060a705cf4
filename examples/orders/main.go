// Command orders is a small order service built from every distkit primitive,
// the way a real service would use them:
//
//   - order IDs from idgen (with -redis, each process leases its worker ID);
//   - a per-client rate limit (ratelimit.Middleware) on every route;
//   - idempotency.Middleware on order creation, so a retried POST with the
//     same Idempotency-Key creates one order and charges once;
//   - the payment call to a flaky upstream through backoff.Retry, under a
//     backoff.Budget, each attempt through a circuitbreaker.Breaker;
//   - confirmation emails through a queue, sent by a queue.Worker, with dead
//     letters for addresses that never accept mail;
//   - a nightly job that only the leader runs (lock.Elector);
//   - a bloom filter of redeemed coupon codes;
//   - a hashring.Ring picking the inventory shard of each item.
//
// It serves /debug/vars (expvar) with what each primitive did, under
// "distkit": every primitive's own Stats snapshot (the middlewares' counters,
// the limiter, store, generator, locker and queue backends, the breaker, the
// retry budget, the email workers and electors, the coupon filter), next to
// the few counters the service keeps around them. To bridge them to
// Prometheus, read a snapshot in a CounterFunc or GaugeFunc (or register
// collectors.NewExpvarCollector); for OpenTelemetry, read it in an
// observable instrument's callback (metric.WithInt64Callback). The root
// README shows both.
//
// The orders themselves stay in the memory of the process that created them:
// a real service keeps them in its database.
//
// By default everything lives in memory; with -redis ADDR the rate limits,
// idempotency keys, email queue, election, coupons and ID leases live in Redis,
// so several processes share them:
//
//	go run ./examples/orders -demo               # scripted client, report, exit
//	go run ./examples/orders -addr :8080         # serve until interrupted
//	go run ./examples/orders -addr :8081 -redis localhost:6379 -node b
//
// -demo starts the service, drives it through bursts, lost responses retried
// with the same Idempotency-Key, upstream failures and an outage, a stopped
// email worker and a leader that steps down, then prints a report and exits.
package main

import (
	"context"
	"errors"
	"expvar"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/distkit/distkit/backoff"
	"github.com/distkit/distkit/queue"
)

func main() {
	var (
		demo      = flag.Bool("demo", false, "drive the service with a scripted client, print a report and exit")
		addr      = flag.String("addr", "localhost:8080", "address to serve on")
		redisAddr = flag.String("redis", "", "address of a Redis server shared by several processes (default: in memory)")
		prefix    = flag.String("prefix", "orders:", "prefix of the Redis keys; processes with the same prefix share state")
		node      = flag.String("node", "", "name of this process in the leader election (default: host:pid)")
		verbose   = flag.Bool("v", false, "log at debug level")
	)
	flag.Parse()
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log, *demo, *addr, *redisAddr, *prefix, *node); err != nil {
		log.Error("orders", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, demo bool, addr, redisAddr, prefix, node string) error {
	var (
		b   *backends
		err error
	)
	if redisAddr == "" {
		b, err = memoryBackends()
	} else {
		statePrefix := prefix
		if demo {
			statePrefix = runPrefix(prefix) // a demo run starts from empty state
		}
		b, err = redisBackends(ctx, log, redis.NewClient(&redis.Options{Addr: redisAddr}), prefix, statePrefix)
	}
	if err != nil {
		return err
	}
	defer b.close()

	if demo {
		// The demo logs only warnings: the report says what happened.
		quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
		rep, err := runDemo(ctx, b, quiet)
		if err != nil {
			return err
		}
		rep.print(os.Stdout)
		return nil
	}
	return serve(ctx, log, b, addr, node)
}

// serve runs the service until ctx ends.
func serve(ctx context.Context, log *slog.Logger, b *backends, addr, node string) error {
	if node == "" {
		host, _ := os.Hostname()
		node = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	// A flaky upstream: one call in ten fails.
	up := newUpstream(20 * time.Millisecond)
	up.set(10, false)
	svc := newService(log, b, up, newMailer(50*time.Millisecond), defaultConfig())
	publishStats(svc)

	w := queue.NewWorker(b.emails, svc.sendEmail,
		queue.WithRetryPolicy(backoff.NewExponential(time.Second, 2, time.Minute)),
		queue.WithErrorHandler(func(d queue.Delivery, err error) {
			log.Warn("email failed", "attempt", d.Attempt, "of", d.MaxAttempts, "err", err)
		}))
	svc.addWorker("worker", w)
	done := make(chan struct{}, 2)
	go func() { w.Run(ctx); done <- struct{}{} }()
	// A real nightly job runs every 24h; every minute shows it working.
	e := svc.elector(node, 10*time.Second)
	go func() { e.Run(ctx, svc.lead(node, time.Minute)); done <- struct{}{} }()

	mux := http.NewServeMux()
	mux.Handle("/debug/vars", expvar.Handler())
	mux.Handle("/", svc.handler())
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("serving", "addr", addr, "backend", b.kind, "node", node, "idgen_worker", b.worker)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	<-done
	<-done
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
