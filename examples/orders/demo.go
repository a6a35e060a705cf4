package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"expvar"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/distkit/distkit/backoff"
	"github.com/distkit/distkit/idgen"
	"github.com/distkit/distkit/queue"
)

// report is what the demo observed, from the clients' side and from the
// service's counters.
type report struct {
	Backend string

	// Orders and payments.
	Keys          int // idempotency keys that ended in 201 Created
	Orders        int // orders the service created
	IDsIssued     int64
	Charges       int // orders the upstream charged
	ChargedTwice  int // orders the upstream charged more than once
	IDsPerKey     int // most distinct order IDs one key received (1: idempotent)
	Replays       int // 201s the client got as replays (Idempotent-Replayed)
	LostResponses int // responses the client dropped on purpose

	// Rate limits.
	Burst          int // requests of the greedy client
	Burst429       int // of which refused with 429
	Others429      int // 429s the well-behaved clients got
	NeighbourOK    bool
	CouponRejected int

	// Payments.
	UpstreamFailures int
	PayAttempts      int64
	PayRetries       int64
	BudgetRefusals   int64
	BreakerRejected  int64
	BreakerTrips     uint64
	Transitions      []string
	FinalState       string

	// Emails.
	EmailsSent      int // distinct orders confirmed by email
	EmailDuplicates int
	Bounced         int // failed sends to bouncing addresses
	DeadLetters     int
	DeadOrders      []idgen.ID
	BounceOrders    []idgen.ID
	Workers         []queue.WorkerStats // the killed worker, then its replacement
	Canceled        int                 // sends cut short by the kill

	// Leader election.
	Jobs []jobRun

	// Hash ring.
	Shards map[string]int

	// /debug/vars had the service's counters.
	DebugVars bool

	Elapsed time.Duration
}

// demoConfig shortens every period of the service so the demo takes seconds.
func demoConfig() config {
	return config{
		breakerFailures: 3,
		breakerOpen:     200 * time.Millisecond,
		payAttempts:     3,
		payBase:         5 * time.Millisecond,
		payTimeout:      500 * time.Millisecond,
	}
}

// runDemo starts the service on a loopback port with b, drives it with a
// scripted client and returns what happened.
func runDemo(ctx context.Context, b *backends, log *slog.Logger) (*report, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	up := newUpstream(2 * time.Millisecond)
	mail := newMailer(15 * time.Millisecond)
	svc := newService(log, b, up, mail, demoConfig())
	publishStats(svc)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/debug/vars", expvar.Handler())
	mux.Handle("/", svc.handler())
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()

	var bg sync.WaitGroup
	defer bg.Wait()
	bgCtx, stopBg := context.WithCancel(ctx)
	defer stopBg()

	// Two candidates for the nightly job; only the leader runs it.
	nodeCtx := map[string]context.CancelFunc{}
	electors := map[string]interface{ Term() (uint64, bool) }{}
	for _, node := range []string{"node-1", "node-2"} {
		e := svc.elector(node, time.Second)
		nctx, stop := context.WithCancel(bgCtx)
		nodeCtx[node], electors[node] = stop, e
		bg.Go(func() { e.Run(nctx, svc.lead(node, 100*time.Millisecond)) })
	}

	// The first email worker; it is stopped mid-way and replaced.
	newWorker := func() *queue.Worker {
		return queue.NewWorker(b.emails, svc.sendEmail,
			queue.WithConcurrency(2),
			queue.WithVisibility(2*time.Second),
			queue.WithGracePeriod(time.Millisecond),
			queue.WithRetryPolicy(backoff.Constant(10*time.Millisecond)),
			queue.WithErrorHandler(func(d queue.Delivery, err error) {
				log.Debug("email failed", "attempt", d.Attempt, "err", err)
			}))
	}
	w1 := newWorker()
	svc.addWorker("worker-1", w1)
	w1Ctx, killW1 := context.WithCancel(bgCtx)
	w1Done := make(chan struct{})
	go func() { defer close(w1Done); w1.Run(w1Ctx) }()

	cl := &client{http: &http.Client{Timeout: 5 * time.Second}, base: base, ids: map[string][]idgen.ID{}}
	rep := &report{Backend: b.kind}

	// 1. Steady traffic from two clients while the upstream fails one call
	// in four; some responses are lost and retried with the same key. One
	// coupon is redeemed twice, and one address bounces.
	up.set(4, false)
	var wg sync.WaitGroup
	welcomed := make(chan struct{}) // closed once alice redeemed WELCOME10
	wg.Go(func() {
		for i := range 8 {
			req := orderRequest{Item: fmt.Sprintf("sku-%d", i%5), Qty: 1 + i%3, Amount: 1000 + 100*i, Email: "alice@example.com"}
			if i == 0 {
				req.Coupon = "WELCOME10"
			}
			if i == 5 {
				req.Email = "alice@bounce.example"
			}
			cl.order(ctx, "alice", fmt.Sprintf("alice-%d", i), req, i%3 == 1)
			if i == 0 {
				close(welcomed)
			}
		}
	})
	wg.Go(func() {
		for i := range 4 {
			req := orderRequest{Item: fmt.Sprintf("sku-%d", 10+i), Qty: 2, Amount: 2500, Email: "bob@example.com"}
			switch i {
			case 1:
				<-welcomed
				req.Coupon = "WELCOME10" // already redeemed by alice: 409
			case 2:
				req.Coupon = "SPRING-7"
			case 3:
				req.Email = "bob@bounce.example"
			}
			cl.order(ctx, "bob", fmt.Sprintf("bob-%d", i), req, false)
		}
	})

	// Kill the first email worker once it sent three emails; a replacement
	// takes over what it held.
	var w2 *queue.Worker
	wg.Go(func() {
		for w1.Stats().Processed < 3 && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		log.Info("demo: stopping worker-1")
		killW1()
		<-w1Done
		w2 = newWorker()
		svc.addWorker("worker-2", w2)
		bg.Go(func() { w2.Run(bgCtx) })
	})
	wg.Wait()

	// 2. The upstream goes down: payments fail, the breaker opens and
	// rejects at once; once the upstream is back, a probe closes it. The
	// client retries each order with its key until it is created.
	up.set(0, true)
	restore := time.AfterFunc(400*time.Millisecond, func() { up.set(0, false) })
	defer restore.Stop()
	for i := range 3 {
		wg.Go(func() {
			req := orderRequest{Item: "sku-outage", Qty: 1, Amount: 4200, Email: "carol@example.com"}
			cl.order(ctx, "carol", fmt.Sprintf("carol-%d", i), req, false)
		})
	}
	wg.Wait()

	// 3. A greedy client bursts; its neighbour is not affected.
	var firstID idgen.ID
	for _, ids := range cl.ids {
		firstID = ids[0]
		break
	}
	rep.Burst = 30
	var bmu sync.Mutex
	for range rep.Burst {
		wg.Go(func() {
			if st := cl.get(ctx, "mallory", firstID); st == http.StatusTooManyRequests {
				bmu.Lock()
				rep.Burst429++
				bmu.Unlock()
			}
		})
	}
	wg.Wait()
	rep.NeighbourOK = cl.get(ctx, "alice", firstID) == http.StatusOK

	// 4. Wait for the email queue to drain: every order confirmed or dead.
	for ctx.Err() == nil {
		c, err := b.emails.Len(ctx)
		if err == nil && c.Ready+c.Delayed+c.InFlight == 0 && w2 != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}

	// 5. The leader steps down (its process stops); the other node takes
	// over the nightly job.
	for ctx.Err() == nil {
		for node, e := range electors {
			if _, ok := e.Term(); ok {
				log.Info("demo: stopping the leader", "node", node)
				nodeCtx[node]()
				delete(electors, node)
				goto stopped
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
stopped:
	for ctx.Err() == nil {
		svc.jobsMu.Lock()
		nodes := map[string]bool{}
		for _, j := range svc.jobs {
			nodes[j.Node] = true
		}
		svc.jobsMu.Unlock()
		if len(nodes) == 2 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}

	// /debug/vars serves the counters.
	if resp, err := http.Get(base + "/debug/vars"); err == nil {
		var vars map[string]json.RawMessage
		if json.NewDecoder(resp.Body).Decode(&vars) == nil {
			var d map[string]any
			rep.DebugVars = json.Unmarshal(vars["distkit"], &d) == nil && varsComplete(d)
		}
		resp.Body.Close()
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("demo did not finish: %w", err)
	}
	stopBg()
	bg.Wait()

	// Collect the report.
	cl.mu.Lock()
	rep.Keys = len(cl.ids)
	for _, ids := range cl.ids {
		n := len(slices.Compact(slices.Sorted(slices.Values(ids))))
		rep.IDsPerKey = max(rep.IDsPerKey, n)
	}
	rep.Replays, rep.LostResponses, rep.Others429 = cl.replays, cl.lost, cl.limited
	bounce := cl.bounce
	cl.mu.Unlock()
	rep.BounceOrders = bounce

	svc.mu.Lock()
	rep.Orders = len(svc.orders)
	orders := svc.orders
	rep.Transitions = append([]string(nil), svc.transitions...)
	svc.mu.Unlock()
	calls, failures, charges := up.stats()
	_ = calls
	rep.UpstreamFailures = failures
	rep.Charges = len(charges)
	for id, n := range charges {
		if n > 1 {
			rep.ChargedTwice++
		}
		if _, ok := orders[id]; !ok {
			rep.ChargedTwice++ // charged for no order
		}
	}
	rep.IDsIssued = svc.c.idsIssued.Load()
	rep.CouponRejected = int(svc.c.couponsRejected.Load())
	rep.PayAttempts, rep.PayRetries = svc.c.payAttempts.Load(), svc.c.payRetries.Load()
	rep.BudgetRefusals, rep.BreakerRejected = svc.c.budgetRefusals.Load(), svc.c.breakerRejected.Load()
	bs := svc.breaker.Stats()
	rep.BreakerTrips, rep.FinalState = bs.Trips, bs.State.String()

	sent, bounced, canceled := mail.stats()
	rep.EmailsSent, rep.Bounced, rep.Canceled = len(sent), bounced, canceled
	for _, n := range sent {
		rep.EmailDuplicates += n - 1
	}
	dead, err := b.emails.Dead(ctx, 100)
	if err != nil {
		return nil, err
	}
	rep.DeadLetters = len(dead)
	for _, d := range dead {
		var job emailJob
		if json.Unmarshal(d.Body, &job) == nil {
			rep.DeadOrders = append(rep.DeadOrders, job.Order)
		}
	}
	rep.Workers = []queue.WorkerStats{w1.Stats(), w2.Stats()}
	svc.jobsMu.Lock()
	rep.Jobs = append([]jobRun(nil), svc.jobs...)
	svc.jobsMu.Unlock()
	rep.Shards = svc.inv.snapshot()
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// client is the scripted client. It retries each order with the same
// Idempotency-Key until the order is created or refused for good.
type client struct {
	http *http.Client
	base string

	mu      sync.Mutex
	ids     map[string][]idgen.ID // order IDs received per key
	replays int
	lost    int
	limited int // 429s on orders
	bounce  []idgen.ID
}

var errRetry = errors.New("retry")

// order places req as who with key. With lose, the first 201 response is
// dropped as if the connection broke after the server created the order.
func (c *client) order(ctx context.Context, who, key string, req orderRequest, lose bool) {
	body, _ := json.Marshal(req)
	o, err := backoff.Retry(ctx, func(ctx context.Context) (order, error) {
		r, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/orders", bytes.NewReader(body))
		r.Header.Set(clientHeader, who)
		r.Header.Set("Idempotency-Key", `"`+key+`"`)
		r.Header.Set("Content-Type", "application/json")
		resp, err := c.http.Do(r)
		if err != nil {
			return order{}, err
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if lose && resp.StatusCode == http.StatusCreated {
			lose = false
			c.mu.Lock()
			c.lost++
			c.mu.Unlock()
			return order{}, errRetry
		}
		switch {
		case resp.StatusCode == http.StatusCreated:
			var o order
			if err := json.Unmarshal(data, &o); err != nil {
				return order{}, backoff.Permanent(err)
			}
			c.mu.Lock()
			c.ids[key] = append(c.ids[key], o.ID)
			if resp.Header.Get("Idempotent-Replayed") == "true" {
				c.replays++
			}
			c.mu.Unlock()
			return o, nil
		case resp.StatusCode == http.StatusTooManyRequests:
			c.mu.Lock()
			c.limited++
			c.mu.Unlock()
			return order{}, errRetry
		case resp.StatusCode >= 500, resp.StatusCode == http.StatusConflict && bytes.Contains(data, []byte("progress")):
			// Retry-After is in whole seconds; the demo retries sooner.
			return order{}, errRetry
		default:
			return order{}, backoff.Permanent(fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(data)))
		}
	}, backoff.WithPolicy(backoff.Constant(40*time.Millisecond)), backoff.WithMaxAttempts(50))
	if err == nil && bytes.HasSuffix([]byte(req.Email), []byte("@bounce.example")) {
		c.mu.Lock()
		c.bounce = append(c.bounce, o.ID)
		c.mu.Unlock()
	}
}

// get fetches an order as who and returns the status.
func (c *client) get(ctx context.Context, who string, id idgen.ID) int {
	r, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/orders/"+id.String(), nil)
	r.Header.Set(clientHeader, who)
	resp, err := c.http.Do(r)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// print writes the report for a human.
func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "orders demo (%s backends), %v\n", r.Backend, r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "  idgen:          %d order IDs issued for %d orders (each failed payment attempt burns one)\n", r.IDsIssued, r.Orders)
	fmt.Fprintf(w, "  idempotency:    %d keys created %d orders; %d lost responses retried, %d replays, max %d ID per key\n",
		r.Keys, r.Orders, r.LostResponses, r.Replays, r.IDsPerKey)
	fmt.Fprintf(w, "  payments:       %d orders charged, %d charged twice or without an order\n", r.Charges, r.ChargedTwice)
	fmt.Fprintf(w, "  backoff:        %d attempts, %d retries, %d refused by the budget; upstream failed %d calls\n",
		r.PayAttempts, r.PayRetries, r.BudgetRefusals, r.UpstreamFailures)
	fmt.Fprintf(w, "  circuitbreaker: %d trips, %d calls rejected while open, transitions %v, now %s\n",
		r.BreakerTrips, r.BreakerRejected, r.Transitions, r.FinalState)
	fmt.Fprintf(w, "  ratelimit:      burst of %d got %d x 429; neighbour served: %v; retried order POSTs got %d x 429\n",
		r.Burst, r.Burst429, r.NeighbourOK, r.Others429)
	fmt.Fprintf(w, "  bloom:          %d coupon reuse rejected\n", r.CouponRejected)
	fmt.Fprintf(w, "  queue:          %d emails sent (%d duplicates), %d bounces, %d dead letters %v (bouncing orders %v)\n",
		r.EmailsSent, r.EmailDuplicates, r.Bounced, r.DeadLetters, r.DeadOrders, r.BounceOrders)
	for i, s := range r.Workers {
		fmt.Fprintf(w, "                  worker-%d: processed %d, failed %d, retried %d, dead %d, lost %d\n",
			i+1, s.Processed, s.Failed, s.Retried, s.Dead, s.Lost)
	}
	fmt.Fprintf(w, "                  %d sends cut short when worker-1 stopped\n", r.Canceled)
	terms := map[uint64]string{}
	var order []uint64
	runs := map[uint64]int{}
	for _, j := range r.Jobs {
		if _, ok := terms[j.Term]; !ok {
			order = append(order, j.Term)
		}
		terms[j.Term] = j.Node
		runs[j.Term]++
	}
	fmt.Fprintf(w, "  lock:           nightly job ran %d times:", len(r.Jobs))
	for _, t := range order {
		fmt.Fprintf(w, " %s term %d x%d;", terms[t], t, runs[t])
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  hashring:       units reserved per inventory shard %v\n", r.Shards)
	fmt.Fprintf(w, "  /debug/vars:    served the counters: %v\n", r.DebugVars)
}

// varsComplete reports whether the /debug/vars snapshot d has a section for
// every primitive, with the counters the demo must have moved.
func varsComplete(d map[string]any) bool {
	for _, section := range []string{"ratelimit", "idempotency", "idgen", "circuitbreaker", "backoff", "queue", "lock", "bloom", "hashring"} {
		if d[section] == nil {
			return false
		}
	}
	for _, path := range [][]string{
		{"ratelimit", "middleware", "Limited"},
		{"idempotency", "middleware", "Replayed"},
		{"circuitbreaker", "breaker", "Trips"},
		{"backoff", "budget", "Allowed"},
		{"lock", "locker", "Acquired"},
		{"hashring", "ring", "Nodes"},
	} {
		var v any = d
		for _, k := range path {
			m, _ := v.(map[string]any)
			v = m[k]
		}
		if n, _ := v.(float64); n < 1 {
			return false
		}
	}
	return true
}
