package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/distkit/distkit/idgen"
)

// upstream is the payment provider, in process and flaky on demand: it can
// fail every n-th call or be down altogether. A failed call charges nothing,
// and a second charge for an order is counted, so the demo can check that
// every order was charged exactly once.
type upstream struct {
	latency time.Duration

	mu        sync.Mutex
	calls     int
	failEvery int // fail every n-th call; 0: never
	down      bool
	failures  int
	charges   map[idgen.ID]int
}

var errUpstream = errors.New("payment provider: 503 service unavailable")

func newUpstream(latency time.Duration) *upstream {
	return &upstream{latency: latency, charges: map[idgen.ID]int{}}
}

func (u *upstream) charge(ctx context.Context, id idgen.ID, amount int) (string, error) {
	if u.latency > 0 {
		t := time.NewTimer(u.latency)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", ctx.Err()
		case <-t.C:
		}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.calls++
	if u.down || (u.failEvery > 0 && u.calls%u.failEvery == 0) {
		u.failures++
		return "", errUpstream
	}
	u.charges[id]++
	return fmt.Sprintf("ch_%s_%d", id.Base58(), amount), nil
}

// set changes how the upstream fails.
func (u *upstream) set(failEvery int, down bool) {
	u.mu.Lock()
	u.failEvery, u.down = failEvery, down
	u.mu.Unlock()
}

// stats returns the calls, the failures and a copy of the charges per order.
func (u *upstream) stats() (calls, failures int, charges map[idgen.ID]int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.calls, u.failures, maps.Clone(u.charges)
}

// mailer sends confirmation emails. Addresses at bounce.example never accept
// mail, so their messages end as dead letters.
type mailer struct {
	latency time.Duration

	mu       sync.Mutex
	sent     map[idgen.ID]int
	bounced  int
	canceled int
}

func newMailer(latency time.Duration) *mailer {
	return &mailer{latency: latency, sent: map[idgen.ID]int{}}
}

func (m *mailer) send(ctx context.Context, job emailJob) error {
	t := time.NewTimer(m.latency)
	select {
	case <-ctx.Done():
		// The worker is shutting down: nothing was sent; the message is
		// redelivered to another worker.
		t.Stop()
		m.mu.Lock()
		m.canceled++
		m.mu.Unlock()
		return ctx.Err()
	case <-t.C:
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if strings.HasSuffix(job.To, "@bounce.example") {
		m.bounced++
		return fmt.Errorf("smtp: 550 mailbox %s unavailable", job.To)
	}
	m.sent[job.Order]++
	return nil
}

func (m *mailer) stats() (sent map[idgen.ID]int, bounced, canceled int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.sent), m.bounced, m.canceled
}

// inventoryShards are the inventory services; the hash ring maps each item
// to one of them, the same in every process.
var inventoryShards = []string{"inventory-a", "inventory-b", "inventory-c", "inventory-d"}

// inventory stands in for the inventory shards: it counts the units reserved
// on each.
type inventory struct {
	mu       sync.Mutex
	reserved map[string]int
	items    map[string]string // item -> shard, to show the ring is stable
}

func newInventory() *inventory {
	return &inventory{reserved: map[string]int{}, items: map[string]string{}}
}

func (inv *inventory) reserve(shard, item string, qty int) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.reserved[shard] += qty
	inv.items[item] = shard
}

func (inv *inventory) snapshot() map[string]int {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return maps.Clone(inv.reserved)
}
