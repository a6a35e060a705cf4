// Command payments runs a small payment API behind idempotency.Middleware and
// drives it with clients that retry through injected failures: connections
// refused before the request is sent, responses lost after the server charged
// the card, and transient server errors. It prints how many charges were made:
// one per payment, however many attempts it took.
//
// By default the idempotency keys live in memory; with -redis ADDR they live
// in a Redis server, so that several instances of the API could share them.
//
//	go run ./examples/payments
//	go run ./examples/payments -redis localhost:6379 -payments 100
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/distkit/distkit/examples/internal/redisaddr"
	"github.com/distkit/distkit/idempotency"
	"github.com/distkit/distkit/idempotency/redisidempotency"
)

func main() {
	var (
		redisAddr = flag.String("redis", "", "address of a Redis server to keep idempotency keys in (default: in memory)")
		payments  = flag.Int("payments", 25, "number of payments, each with its own idempotency key")
		clients   = flag.Int("clients", 2, "concurrent clients sending each payment")
		loss      = flag.Float64("loss", 0.3, "probability that a response is lost after the server handled the request")
		seed      = flag.Uint64("seed", 1, "seed of the injected failures")
	)
	flag.Parse()
	log.SetFlags(0)

	var store idempotency.Store = idempotency.NewLocal()
	if *redisAddr != "" {
		rdb := redisaddr.Client(*redisAddr)
		defer rdb.Close()
		// A prefix per run keeps runs apart.
		prefix := "payments-example:" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
		store = redisidempotency.New(rdb, redisidempotency.WithPrefix(prefix))
	}

	faults := &faults{rnd: rand.New(rand.NewPCG(*seed, *seed))}
	api := &api{charges: map[string]int{}, faults: faults}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: idempotency.Middleware(store, idempotency.WithRequired(true))(api)}
	go srv.Serve(ln)
	defer srv.Close()

	client := &http.Client{Transport: &flaky{next: http.DefaultTransport, faults: faults, loss: *loss}, Timeout: 10 * time.Second}
	var (
		attempts, replays atomic.Int64
		wg                sync.WaitGroup
		failed            atomic.Bool
	)
	start := time.Now()
	for p := range *payments {
		for range *clients {
			wg.Go(func() {
				key := fmt.Sprintf("order-%04d", p)
				body := fmt.Sprintf(`{"amount":%d,"currency":"eur"}`, 100+p)
				n, replayed, err := pay(client, "http://"+ln.Addr().String()+"/charges", key, body)
				attempts.Add(int64(n))
				if replayed {
					replays.Add(1)
				}
				if err != nil {
					log.Printf("%s: %v", key, err)
					failed.Store(true)
				}
			})
		}
	}
	wg.Wait()

	api.mu.Lock()
	defer api.mu.Unlock()
	charges, double := 0, 0
	for _, n := range api.charges {
		charges += n
		if n > 1 {
			double++
		}
	}
	where := "in memory"
	if *redisAddr != "" {
		where = "in Redis at " + *redisAddr
	}
	fmt.Printf("idempotency keys kept %s\n", where)
	fmt.Printf("%d payments sent by %d clients each in %v\n", *payments, *clients, time.Since(start).Round(time.Millisecond))
	fmt.Printf("%d attempts: %d refused before sending, %d responses lost, %d server errors, %d replayed responses\n",
		attempts.Load(), faults.refused.Load(), faults.lost.Load(), faults.serverErrors.Load(), replays.Load())
	fmt.Printf("%d charges for %d payments (%d charged more than once)\n", charges, *payments, double)
	if failed.Load() || charges != *payments || double > 0 {
		os.Exit(1)
	}
}

// api is the payment endpoint: it charges once per request it handles.
type api struct {
	faults *faults

	mu      sync.Mutex
	charges map[string]int // charges per idempotency key; guarded by mu
}

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if a.faults.chance(0.1) {
		// The card network failed before charging: a 5xx releases the key.
		a.faults.serverErrors.Add(1)
		http.Error(w, "card network unavailable", http.StatusServiceUnavailable)
		return
	}
	body, _ := io.ReadAll(r.Body)
	key := r.Header.Get(idempotency.KeyHeader)
	a.mu.Lock()
	a.charges[key]++
	id := len(a.charges)
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"id":"ch_%d","request":%s}`+"\n", id, body)
}

// pay sends a payment until it gets a 201, retrying with backoff after
// transport errors, 409 (another attempt still in progress) and 5xx. It
// returns the number of attempts and whether the final response was a
// replay.
func pay(client *http.Client, url, key, body string) (attempts int, replayed bool, err error) {
	pause := 5 * time.Millisecond
	for attempts = 1; attempts <= 50; attempts++ {
		req, _ := http.NewRequestWithContext(context.Background(), "POST", url, strings.NewReader(body))
		req.Header.Set(idempotency.KeyHeader, strconv.Quote(key))
		resp, err := client.Do(req)
		if err == nil {
			b, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case rerr != nil:
			case resp.StatusCode == http.StatusCreated:
				return attempts, resp.Header.Get(idempotency.ReplayedHeader) == "true", nil
			case resp.StatusCode == http.StatusConflict || resp.StatusCode >= 500:
			default:
				return attempts, false, fmt.Errorf("%s: %s", resp.Status, b)
			}
		}
		time.Sleep(pause) // client backoff between retries
		pause = min(2*pause, 100*time.Millisecond)
	}
	return attempts, false, errors.New("gave up after 50 attempts")
}

// faults decides, reproducibly for a seed, which failures to inject.
type faults struct {
	mu  sync.Mutex
	rnd *rand.Rand // guarded by mu

	refused, lost, serverErrors atomic.Int64
}

func (f *faults) chance(p float64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rnd.Float64() < p
}

// flaky is a RoundTripper that refuses some requests before sending them
// and loses some responses after the server handled the request.
type flaky struct {
	next   http.RoundTripper
	faults *faults
	loss   float64
}

func (t *flaky) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.faults.chance(0.1) {
		t.faults.refused.Add(1)
		return nil, errors.New("connection refused (injected)")
	}
	resp, err := t.next.RoundTrip(r)
	if err != nil || !t.faults.chance(t.loss) {
		return resp, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	t.faults.lost.Add(1)
	return nil, errors.New("response lost (injected)")
}
