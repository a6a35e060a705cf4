package main

import (
	"context"
	"expvar"
	"sync"
	"sync/atomic"
	"time"

	"github.com/distkit/distkit/idempotency"
	"github.com/distkit/distkit/idempotency/redisidempotency"
	"github.com/distkit/distkit/idgen"
	"github.com/distkit/distkit/idgen/redisidgen"
	"github.com/distkit/distkit/lock"
	"github.com/distkit/distkit/lock/redislock"
	"github.com/distkit/distkit/queue"
	"github.com/distkit/distkit/ratelimit"
	"github.com/distkit/distkit/ratelimit/redisratelimit"
)

// current is the service whose counters /debug/vars shows.
var (
	current     atomic.Pointer[service]
	publishOnce sync.Once
)

// publishStats makes /debug/vars show s's counters under "distkit". expvar
// names are global, so it publishes once and later calls only switch the
// service shown.
func publishStats(s *service) {
	current.Store(s)
	publishOnce.Do(func() {
		expvar.Publish("distkit", expvar.Func(func() any {
			if s := current.Load(); s != nil {
				return s.stats()
			}
			return nil
		}))
	})
}

// namedWorker is one email worker and its name, for the stats.
type namedWorker struct {
	name string
	w    *queue.Worker
}

// namedElector is one node's candidate in the election, for the stats.
type namedElector struct {
	node string
	e    *lock.Elector
}

// addWorker registers an email worker whose Stats the service reports.
func (s *service) addWorker(name string, w *queue.Worker) {
	s.mu.Lock()
	s.workers = append(s.workers, namedWorker{name, w})
	s.mu.Unlock()
}

// backendStats returns the Stats snapshot of a backend, whichever
// implementation it is, or nil for one without Stats.
func backendStats(v any) any {
	switch v := v.(type) {
	case *ratelimit.Local:
		return v.Stats()
	case *redisratelimit.Limiter:
		return v.Stats()
	case *idempotency.Local:
		return v.Stats()
	case *redisidempotency.Store:
		return v.Stats()
	case *idgen.Snowflake:
		return v.Stats()
	case *redisidgen.Lease:
		return v.Stats()
	case *queue.Local:
		return v.Stats()
	case *lock.Local:
		return v.Stats()
	case *redislock.Locker:
		return v.Stats()
	case memCoupons: // the in-memory filter keeps no counters, only its fill
		return map[string]any{"estimatedCount": v.f.EstimatedCount(), "fillRatio": v.f.FillRatio(), "cap": v.f.Cap()}
	case redisCoupons:
		return v.f.Stats()
	}
	return nil
}

// stats returns a snapshot of what each primitive did: its own Stats, and
// what the service counted around it.
func (s *service) stats() map[string]any {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	s.mu.Lock()
	transitions := append([]string(nil), s.transitions...)
	workers := append([]namedWorker(nil), s.workers...)
	electors := append([]namedElector(nil), s.electors...)
	s.mu.Unlock()

	out := map[string]any{"backend": s.b.kind}
	out["ratelimit"] = map[string]any{"middleware": s.rlCounters.Stats(), "limiter": backendStats(s.b.limiter)}
	out["idempotency"] = map[string]any{"middleware": s.idemCounters.Stats(), "store": backendStats(s.b.idem)}
	out["idgen"] = map[string]any{"worker": s.b.worker, "issued": s.c.idsIssued.Load(), "generator": backendStats(s.b.ids)}
	out["circuitbreaker"] = map[string]any{"breaker": s.breaker.Stats(), "rejected": s.c.breakerRejected.Load(), "transitions": transitions}
	out["backoff"] = map[string]any{
		"attempts": s.c.payAttempts.Load(), "retries": s.c.payRetries.Load(),
		"budgetRefusals": s.c.budgetRefusals.Load(), "budget": s.budget.Stats(),
	}

	q := map[string]any{"enqueued": s.c.emailsEnqueued.Load(), "queue": backendStats(s.b.emails)}
	if c, err := s.b.emails.Len(ctx); err == nil {
		q["counts"] = c
	}
	ws := map[string]queue.WorkerStats{}
	for _, w := range workers {
		ws[w.name] = w.w.Stats()
	}
	q["workers"] = ws
	out["queue"] = q

	s.jobsMu.Lock()
	runs := len(s.jobs)
	s.jobsMu.Unlock()
	es := map[string]lock.ElectorStats{}
	for _, e := range electors {
		es[e.node] = e.e.Stats()
	}
	out["lock"] = map[string]any{"locker": backendStats(s.b.locker), "electors": es, "nightlyRuns": runs}

	out["bloom"] = map[string]any{"rejected": s.c.couponsRejected.Load(), "filter": backendStats(s.b.coupons)}
	out["hashring"] = map[string]any{"ring": s.ring.Stats(), "nodes": s.ring.Nodes(), "reserved": s.inv.snapshot()}
	out["orders"] = map[string]any{"created": s.c.ordersCreated.Load(), "paymentFailed": s.c.paymentFailed.Load()}
	return out
}
