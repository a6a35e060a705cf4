package main

import (
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/distkit/distkit/internal/redistest"
)

// TestDemo runs the demo on the in-memory backends and checks what each
// primitive did.
func TestDemo(t *testing.T) {
	b, err := memoryBackends()
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	checkDemo(t, b)
}

// TestDemoRedis runs the demo on the Redis backends.
func TestDemoRedis(t *testing.T) {
	rdb := redistest.Start(t)
	// A fresh server makes the first idgen lease wait its TTL: keep it short.
	defer func(ttl, lead time.Duration) { idLeaseTTL, idMaxLead = ttl, lead }(idLeaseTTL, idMaxLead)
	idLeaseTTL, idMaxLead = 300*time.Millisecond, 100*time.Millisecond
	b, err := redisBackends(t.Context(), slog.New(slog.DiscardHandler), rdb, "orders-test:", "orders-test:")
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	checkDemo(t, b)
}

func checkDemo(t *testing.T, b *backends) {
	rep, err := runDemo(t.Context(), b, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	rep.print(&out)
	t.Log("\n" + out.String())

	// Orders: alice 8, bob 4 of which one reuses a coupon, carol 3.
	const wantOrders = 14
	if rep.Orders != wantOrders || rep.Keys != wantOrders {
		t.Errorf("orders = %d for %d keys, want %d", rep.Orders, rep.Keys, wantOrders)
	}
	// idempotency: one order per key, each lost response answered by a replay.
	if rep.IDsPerKey != 1 {
		t.Errorf("a key received %d order IDs, want 1", rep.IDsPerKey)
	}
	if rep.LostResponses != 3 || rep.Replays != rep.LostResponses {
		t.Errorf("lost responses %d, replays %d, want 3 each", rep.LostResponses, rep.Replays)
	}
	// Payments: each order charged exactly once.
	if rep.Charges != rep.Orders || rep.ChargedTwice != 0 {
		t.Errorf("charges %d for %d orders, %d charged twice or without order", rep.Charges, rep.Orders, rep.ChargedTwice)
	}
	if rep.IDsIssued < int64(rep.Orders) {
		t.Errorf("%d IDs issued for %d orders", rep.IDsIssued, rep.Orders)
	}
	// backoff: the flaky upstream was retried.
	if rep.UpstreamFailures == 0 || rep.PayRetries == 0 {
		t.Errorf("upstream failures %d, retries %d, want both > 0", rep.UpstreamFailures, rep.PayRetries)
	}
	// circuitbreaker: opened during the outage, rejected calls, closed again.
	if rep.BreakerTrips < 1 || rep.BreakerRejected == 0 {
		t.Errorf("breaker trips %d, rejected %d, want both > 0", rep.BreakerTrips, rep.BreakerRejected)
	}
	if len(rep.Transitions) == 0 || rep.Transitions[0] != "closed->open" ||
		rep.Transitions[len(rep.Transitions)-1] != "half-open->closed" || rep.FinalState != "closed" {
		t.Errorf("breaker transitions %v, state %s; want closed->open ... half-open->closed", rep.Transitions, rep.FinalState)
	}
	// ratelimit: the burst got 429s beyond its budget of 10 (and what refilled
	// while it ran); the neighbour
	// was served.
	if rep.Burst429 < rep.Burst-clientLimit.Burst-15 || rep.Burst429 >= rep.Burst {
		t.Errorf("burst of %d got %d x 429", rep.Burst, rep.Burst429)
	}
	if !rep.NeighbourOK {
		t.Error("the neighbour of the greedy client was refused")
	}
	// bloom: the reused coupon was rejected.
	if rep.CouponRejected != 1 {
		t.Errorf("coupons rejected = %d, want 1", rep.CouponRejected)
	}
	// queue: every order confirmed once or dead-lettered; the two bouncing
	// addresses are the dead letters; both workers did some of the work.
	if rep.EmailsSent+rep.DeadLetters != rep.Orders || rep.EmailDuplicates != 0 {
		t.Errorf("emails sent %d + dead %d != orders %d, duplicates %d", rep.EmailsSent, rep.DeadLetters, rep.Orders, rep.EmailDuplicates)
	}
	if rep.DeadLetters != 2 || !sameIDs(rep.DeadOrders, rep.BounceOrders) {
		t.Errorf("dead letters %v, want the bouncing orders %v", rep.DeadOrders, rep.BounceOrders)
	}
	if len(rep.Workers) != 2 || rep.Workers[0].Processed < 3 || rep.Workers[1].Processed == 0 {
		t.Errorf("workers %+v, want the first stopped after 3 and the second to finish", rep.Workers)
	}
	if dead := rep.Workers[0].Dead + rep.Workers[1].Dead; dead != 2 {
		t.Errorf("workers dead-lettered %d, want 2", dead)
	}
	// lock: one node per term, terms increase, and leadership moved.
	nodeOf := map[uint64]string{}
	var last uint64
	for _, j := range rep.Jobs {
		if n, ok := nodeOf[j.Term]; ok && n != j.Node {
			t.Errorf("term %d run by %s and %s", j.Term, n, j.Node)
		}
		if j.Term < last {
			t.Errorf("term %d ran after term %d", j.Term, last)
		}
		nodeOf[j.Term], last = j.Node, j.Term
	}
	if nodes := slices.Compact(slices.Sorted(maps.Values(nodeOf))); len(nodes) != 2 {
		t.Errorf("nightly job ran on %v, want both nodes in turn", nodes)
	}
	// hashring: every reserved unit went to a shard; 24 units were ordered.
	total := 0
	for _, n := range rep.Shards {
		total += n
	}
	if total != 24 || len(rep.Shards) < 2 {
		t.Errorf("reserved %v, want 24 units over several shards", rep.Shards)
	}
	if !rep.DebugVars {
		t.Error("/debug/vars did not serve the counters")
	}
	if rep.Elapsed > 10*time.Second {
		t.Errorf("demo took %v", rep.Elapsed)
	}
}

func sameIDs[T ~int64](a, b []T) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}
