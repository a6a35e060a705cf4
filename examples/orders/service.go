package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/distkit/distkit/backoff"
	"github.com/distkit/distkit/circuitbreaker"
	"github.com/distkit/distkit/hashring"
	"github.com/distkit/distkit/idempotency"
	"github.com/distkit/distkit/idgen"
	"github.com/distkit/distkit/lock"
	"github.com/distkit/distkit/queue"
	"github.com/distkit/distkit/ratelimit"
)

// clientHeader names the client a request comes from. A real service would
// take it from the authenticated session; the rate limits and idempotency
// keys are per client.
const clientHeader = "X-Client"

// orderRequest is the body of POST /orders.
type orderRequest struct {
	Item   string `json:"item"`
	Qty    int    `json:"qty"`
	Amount int    `json:"amount"` // in cents
	Email  string `json:"email"`
	Coupon string `json:"coupon,omitempty"`
}

// order is a created order, as POST /orders and GET /orders/{id} return it.
type order struct {
	ID     idgen.ID `json:"id"`
	Client string   `json:"client"`
	Item   string   `json:"item"`
	Qty    int      `json:"qty"`
	Amount int      `json:"amount"`
	Email  string   `json:"email"`
	Coupon string   `json:"coupon,omitempty"`
	Shard  string   `json:"shard"`
	Charge string   `json:"charge"`
}

// counters are what the service counts itself, for the primitives that have
// no Stats snapshot of their own.
type counters struct {
	ordersCreated, paymentFailed            atomic.Int64
	couponsRejected                         atomic.Int64
	idsIssued                               atomic.Int64
	payAttempts, payRetries, budgetRefusals atomic.Int64
	breakerRejected                         atomic.Int64
	emailsEnqueued                          atomic.Int64
}

// service is the order service. Its stateful parts live in its backends;
// the breaker, the retry budget and the ring are per process, as they
// describe what this process sees of its dependencies.
type service struct {
	log     *slog.Logger
	b       *backends
	up      *upstream
	mail    *mailer
	breaker *circuitbreaker.Breaker
	budget  *backoff.Budget
	retry   backoff.Policy
	ring    *hashring.Ring
	inv     *inventory
	payCfg  config
	c       counters

	// rlCounters and idemCounters count what the middlewares did.
	rlCounters   ratelimit.MiddlewareCounters
	idemCounters idempotency.Counters

	mu          sync.Mutex
	orders      map[idgen.ID]order
	transitions []string // breaker state changes, in order
	workers     []namedWorker
	electors    []namedElector

	jobsMu sync.Mutex
	jobs   []jobRun // runs of the nightly job
}

// jobRun records one run of the nightly job.
type jobRun struct {
	Node   string
	Term   uint64
	Orders int
}

// config tunes the service; the demo shortens every period.
type config struct {
	breakerFailures int           // consecutive failures that open the breaker
	breakerOpen     time.Duration // how long it stays open
	payAttempts     int           // attempts per payment
	payBase         time.Duration // first retry delay of a payment
	payTimeout      time.Duration // per attempt
}

func defaultConfig() config {
	return config{
		breakerFailures: 5,
		breakerOpen:     5 * time.Second,
		payAttempts:     4,
		payBase:         50 * time.Millisecond,
		payTimeout:      2 * time.Second,
	}
}

func newService(log *slog.Logger, b *backends, up *upstream, mail *mailer, cfg config) *service {
	s := &service{
		log:    log,
		b:      b,
		up:     up,
		mail:   mail,
		orders: map[idgen.ID]order{},
		inv:    newInventory(),
		// One retry per ten successful payments, and at least two per second.
		budget: backoff.NewBudget(0.1, 2),
		retry:  backoff.NewFullJitter(backoff.NewExponential(cfg.payBase, 2, 20*cfg.payBase), backoff.NewSplitMix(uint64(time.Now().UnixNano()))),
		ring:   hashring.New(),
	}
	if err := s.ring.Add(inventoryShards...); err != nil {
		panic(err) // the shard names are constants
	}
	s.breaker = circuitbreaker.New(
		circuitbreaker.WithName("payments"),
		circuitbreaker.WithConsecutiveFailures(cfg.breakerFailures),
		circuitbreaker.WithOpenDuration(cfg.breakerOpen),
		circuitbreaker.WithOnStateChange(func(c circuitbreaker.StateChange) {
			s.mu.Lock()
			s.transitions = append(s.transitions, c.From.String()+"->"+c.To.String())
			s.mu.Unlock()
			s.log.Warn("breaker", "name", c.Name, "from", c.From.String(), "to", c.To.String())
		}),
	)
	s.payCfg = cfg
	return s
}

// handler returns the HTTP API: every route behind the per-client rate
// limit, and order creation behind the idempotency middleware too.
func (s *service) handler() http.Handler {
	create := idempotency.Middleware(s.b.idem,
		idempotency.WithRequired(true),
		idempotency.WithScope(func(r *http.Request) string { return r.Header.Get(clientHeader) }),
		idempotency.WithErrorHandler(func(r *http.Request, err error) {
			s.log.Error("idempotency store", "err", err)
		}),
		idempotency.WithCounters(&s.idemCounters),
	)(http.HandlerFunc(s.createOrder))

	mux := http.NewServeMux()
	mux.Handle("POST /orders", create)
	mux.HandleFunc("GET /orders/{id}", s.getOrder)

	return ratelimit.Middleware(s.b.limiter, clientKey,
		ratelimit.WithPolicyName("client"), ratelimit.WithCounters(&s.rlCounters))(mux)
}

// clientKey is the rate limit key: the client, or its address if anonymous.
func clientKey(r *http.Request) string {
	if c := r.Header.Get(clientHeader); c != "" {
		return "client:" + c
	}
	return "ip:" + ratelimit.RemoteIP(r)
}

func (s *service) createOrder(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var req orderRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Item == "" || req.Qty <= 0 || req.Amount <= 0 || req.Email == "" {
		httpError(w, http.StatusBadRequest, "invalid order")
		return
	}
	if req.Coupon != "" {
		// A coupon code is redeemed once. The filter may call a fresh code
		// seen (with probability couponFPRate) but never lets a redeemed one
		// through.
		seen, err := s.b.coupons.Seen(ctx, req.Coupon)
		if err != nil {
			httpError(w, http.StatusServiceUnavailable, "coupon store unavailable")
			return
		}
		if seen {
			s.c.couponsRejected.Add(1)
			httpError(w, http.StatusConflict, "coupon already redeemed")
			return
		}
	}
	id, err := s.b.ids.Next()
	if err != nil {
		httpError(w, http.StatusServiceUnavailable, "no order ID: "+err.Error())
		return
	}
	s.c.idsIssued.Add(1)
	shard, _ := s.ring.Lookup(req.Item)

	charge, err := s.pay(ctx, id, req.Amount)
	if err != nil {
		s.c.paymentFailed.Add(1)
		s.log.Warn("payment failed", "order", id, "err", err)
		// A 5xx releases the idempotency key, so the client may retry with it.
		w.Header().Set("Retry-After", "1")
		httpError(w, http.StatusServiceUnavailable, "payment unavailable")
		return
	}
	if req.Coupon != "" {
		// Marked only once the order is paid: a failed attempt released the
		// idempotency key, and its retry must still find the coupon fresh.
		if err := s.b.coupons.Add(ctx, req.Coupon); err != nil {
			s.log.Error("coupon add", "err", err)
		}
	}
	s.inv.reserve(shard, req.Item, req.Qty)
	o := order{ID: id, Client: r.Header.Get(clientHeader), Item: req.Item, Qty: req.Qty, Amount: req.Amount,
		Email: req.Email, Coupon: req.Coupon, Shard: shard, Charge: charge}
	s.mu.Lock()
	s.orders[id] = o
	s.mu.Unlock()
	s.c.ordersCreated.Add(1)

	// The confirmation email goes through the queue; the order ID as DedupID
	// keeps a second enqueue of this order from sending a second email.
	body, _ := json.Marshal(emailJob{Order: id, To: req.Email})
	if err := s.b.emails.Enqueue(ctx, queue.Message{Body: body, DedupID: "order-" + id.String()}); err != nil {
		s.log.Error("enqueue email", "order", id, "err", err)
	} else {
		s.c.emailsEnqueued.Add(1)
	}
	s.log.Info("order created", "order", id, "client", o.Client, "shard", shard)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Location", "/orders/"+id.String())
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(o)
}

func (s *service) getOrder(w http.ResponseWriter, r *http.Request) {
	id, err := idgen.ParseID(r.PathValue("id"))
	if err != nil {
		httpError(w, http.StatusBadRequest, "invalid order ID")
		return
	}
	s.mu.Lock()
	o, ok := s.orders[id]
	s.mu.Unlock()
	if !ok {
		httpError(w, http.StatusNotFound, "no such order")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(o)
}

// pay charges amount for order id: retries with jittered exponential backoff
// under the retry budget, each attempt through the circuit breaker. An open
// breaker ends the retries at once.
func (s *service) pay(ctx context.Context, id idgen.ID, amount int) (string, error) {
	charge, err := backoff.Retry(ctx, func(ctx context.Context) (string, error) {
		s.c.payAttempts.Add(1)
		return circuitbreaker.Execute(ctx, s.breaker, func(ctx context.Context) (string, error) {
			return s.up.charge(ctx, id, amount)
		})
	},
		backoff.WithPolicy(s.retry),
		backoff.WithMaxAttempts(s.payCfg.payAttempts),
		backoff.WithAttemptTimeout(s.payCfg.payTimeout),
		backoff.WithBudget(s.budget),
		backoff.WithRetryIf(func(err error) bool {
			if errors.Is(err, circuitbreaker.ErrOpen) || errors.Is(err, circuitbreaker.ErrTooManyRequests) {
				s.c.breakerRejected.Add(1)
				return false
			}
			return true
		}),
		backoff.WithOnRetry(func(int, error, time.Duration) { s.c.payRetries.Add(1) }),
	)
	if errors.Is(err, backoff.ErrBudgetExhausted) {
		s.c.budgetRefusals.Add(1)
	}
	return charge, err
}

// emailJob is the body of a message on the email queue.
type emailJob struct {
	Order idgen.ID `json:"order"`
	To    string   `json:"to"`
}

// sendEmail is the queue.Handler of the email workers.
func (s *service) sendEmail(ctx context.Context, d queue.Delivery) error {
	var job emailJob
	if err := json.Unmarshal(d.Body, &job); err != nil {
		return err // dead after MaxAttempts; a real service would dead-letter at once
	}
	// The queue delivers at least once: a worker stopped while sending may
	// have sent the email before its message was given back. idempotency.Do
	// on the order ID makes the send happen once, however many deliveries.
	_, err := idempotency.Do(ctx, s.b.idem, "email:"+job.Order.String(), func(ctx context.Context) (bool, error) {
		return true, s.mail.send(ctx, job)
	})
	return err
}

// nightly is the job only the leader runs: here it counts the orders and
// logs the inventory reservations per shard.
func (s *service) nightly(node string, term uint64) {
	s.mu.Lock()
	n := len(s.orders)
	s.mu.Unlock()
	s.jobsMu.Lock()
	s.jobs = append(s.jobs, jobRun{Node: node, Term: term, Orders: n})
	s.jobsMu.Unlock()
	s.log.Info("nightly job", "node", node, "term", term, "orders", n, "reserved", s.inv.snapshot())
}

// lead runs the nightly job every period while this node leads.
func (s *service) lead(node string, period time.Duration) func(ctx context.Context, term uint64) {
	return func(ctx context.Context, term uint64) {
		s.log.Info("elected leader", "node", node, "term", term)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			s.nightly(node, term)
			select {
			case <-ctx.Done():
				s.log.Info("leadership ended", "node", node, "term", term, "why", context.Cause(ctx))
				return
			case <-t.C:
			}
		}
	}
}

// elector returns the candidate of this node in the nightly job's election,
// and registers it for the stats.
func (s *service) elector(node string, ttl time.Duration) *lock.Elector {
	e := lock.NewElector(s.b.locker, "nightly", node, ttl)
	s.mu.Lock()
	s.electors = append(s.electors, namedElector{node, e})
	s.mu.Unlock()
	return e
}

func httpError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"status":%d,"title":%s}`+"\n", status, strconv.Quote(msg))
}
