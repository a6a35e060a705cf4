package main

import (
	"context"
	"expvar"
	"sync"
	"sync/atomic"
	"time"

	"github.com/distkit/distkit/queue"
	"github.com/distkit/distkit/ratelimit"
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

// worker is one email worker and its name, for the stats.
type namedWorker struct {
	name string
	w    *queue.Worker
}

// addWorker registers an email worker whose Stats the service reports.
func (s *service) addWorker(name string, w *queue.Worker) {
	s.mu.Lock()
	s.workers = append(s.workers, namedWorker{name, w})
	s.mu.Unlock()
}

// stats returns a snapshot of what each primitive did: its own Stats where it
// has one, and otherwise what the service counted around it.
func (s *service) stats() map[string]any {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	out := map[string]any{"backend": s.b.kind}

	rl := map[string]any{"requests": s.c.requests.Load(), "limited429": s.c.rateLimited.Load()}
	if l, ok := s.b.limiter.(*ratelimit.Local); ok {
		rl["trackedKeys"] = l.Len()
	}
	out["ratelimit"] = rl

	out["idempotency"] = map[string]any{"replayed": s.c.replayed.Load()}
	out["idgen"] = map[string]any{"worker": s.b.worker, "issued": s.c.idsIssued.Load()}

	bs := s.breaker.Stats()
	s.mu.Lock()
	transitions := append([]string(nil), s.transitions...)
	workers := append([]namedWorker(nil), s.workers...)
	s.mu.Unlock()
	out["circuitbreaker"] = map[string]any{
		"state": bs.State.String(), "trips": bs.Trips, "consecutiveFailures": bs.ConsecutiveFailures,
		"rejected": s.c.breakerRejected.Load(), "transitions": transitions,
	}
	out["backoff"] = map[string]any{
		"attempts": s.c.payAttempts.Load(), "retries": s.c.payRetries.Load(),
		"budgetRefusals": s.c.budgetRefusals.Load(), "budgetBalance": s.budget.Balance(),
	}

	q := map[string]any{"enqueued": s.c.emailsEnqueued.Load()}
	if c, err := queueLen(ctx, s.b.emails); err == nil {
		q["ready"], q["delayed"], q["inFlight"], q["dead"] = c.Ready, c.Delayed, c.InFlight, c.Dead
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
	out["lock"] = map[string]any{"nightlyRuns": runs}

	bl := map[string]any{"rejected": s.c.couponsRejected.Load()}
	if m, ok := s.b.coupons.(memCoupons); ok {
		bl["estimatedCount"], bl["fillRatio"] = m.f.EstimatedCount(), m.f.FillRatio()
	}
	out["bloom"] = bl
	out["hashring"] = map[string]any{"nodes": s.ring.Nodes(), "reserved": s.inv.snapshot()}
	out["orders"] = map[string]any{"created": s.c.ordersCreated.Load(), "paymentFailed": s.c.paymentFailed.Load()}
	return out
}
