package idempotencytest

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/distkit/distkit/idempotency"
)

// testHTTPExactlyOnce drives a payment endpoint behind idempotency.Middleware
// through a real net/http server and client. Several clients per key retry
// through dropped connections, lost responses and transient server errors;
// each key must be charged exactly once, and every client of a key must get
// the same charge.
func testHTTPExactlyOnce(t *testing.T, s idempotency.Store) {
	const (
		keys          = 20
		clientsPerKey = 3
	)
	rnd := &lockedRand{r: rand.New(rand.NewPCG(1, 2))}
	var dropped, lost, replayed atomic.Int32

	var mu sync.Mutex
	charges := map[string]int{} // side effects per key; guarded by mu
	pay := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rnd.chance(0.15) {
			// A transient failure before charging: the key is released.
			http.Error(w, "card network unavailable", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		key := r.Header.Get(idempotency.KeyHeader)
		mu.Lock()
		charges[key]++
		n := len(charges)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"charge":"ch_%d","request":%s}`, n, body)
	})
	srv := httptest.NewServer(dropAfter(rnd, 0.3, &dropped, idempotency.Middleware(s, idempotency.WithRequired(true))(pay)))
	defer srv.Close()
	client := &http.Client{Transport: &lossy{next: srv.Client().Transport, rnd: rnd, p: 0.2, lost: &lost}, Timeout: 10 * time.Second}

	var wg sync.WaitGroup
	got := make([][]string, keys)
	for k := range keys {
		got[k] = make([]string, clientsPerKey)
		for c := range clientsPerKey {
			wg.Go(func() {
				key := fmt.Sprintf("order-%d", k)
				body := fmt.Sprintf(`{"amount":%d}`, 100+k)
				resp, err := retryPost(t, client, srv.URL+"/charges", key, body, &replayed)
				if err != nil {
					t.Errorf("client %d of %s: %v", c, key, err)
					return
				}
				got[k][c] = resp
			})
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if dropped.Load() == 0 || lost.Load() == 0 || replayed.Load() == 0 {
		t.Errorf("%d connections dropped, %d responses lost, %d replays; want some of each", dropped.Load(), lost.Load(), replayed.Load())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(charges) != keys {
		t.Errorf("%d keys charged; want %d", len(charges), keys)
	}
	for key, n := range charges {
		if n != 1 {
			t.Errorf("%s charged %d times; want 1", key, n)
		}
	}
	for k, bodies := range got {
		for c, b := range bodies {
			if b != bodies[0] || !strings.Contains(b, fmt.Sprintf(`"request":{"amount":%d}`, 100+k)) {
				t.Errorf("client %d of order-%d got %q; want %q like every client of its key", c, k, b, bodies[0])
			}
		}
	}
}

// retryPost posts body with key until it gets a 201, retrying after transport
// errors, 409 and 5xx, as a client following the draft does.
func retryPost(t *testing.T, client *http.Client, url, key, body string, replayed *atomic.Int32) (string, error) {
	end := time.Now().Add(deadline)
	pause := time.Millisecond
	for attempt := 1; time.Now().Before(end); attempt++ {
		req, err := http.NewRequestWithContext(t.Context(), "POST", url, strings.NewReader(body))
		if err != nil {
			return "", err
		}
		req.Header.Set(idempotency.KeyHeader, `"`+key+`"`)
		resp, err := client.Do(req)
		if err == nil {
			b, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case rerr != nil:
			case resp.StatusCode == http.StatusCreated:
				if resp.Header.Get(idempotency.ReplayedHeader) == "true" {
					replayed.Add(1)
				}
				return string(b), nil
			case resp.StatusCode == http.StatusConflict || resp.StatusCode >= 500:
			default:
				return "", fmt.Errorf("attempt %d: unexpected %s: %s", attempt, resp.Status, b)
			}
		}
		tm := time.NewTimer(pause)
		<-tm.C
		pause = min(2*pause, 20*time.Millisecond)
	}
	return "", errors.New("no success before the deadline")
}

// dropAfter runs h and then, with probability p, closes the connection
// instead of sending the response, as a network failure after the server did
// its work would.
func dropAfter(rnd *lockedRand, p float64, dropped *atomic.Int32, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rnd.chance(p) {
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
				dropped.Add(1)
				return
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
}

// lossy is a RoundTripper that, with probability p, discards a response the
// server sent and reports an error, as a client timing out would.
type lossy struct {
	next http.RoundTripper
	rnd  *lockedRand
	p    float64
	lost *atomic.Int32
}

func (l *lossy) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(r)
	if err != nil || !l.rnd.chance(l.p) {
		return resp, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	l.lost.Add(1)
	return nil, errors.New("response lost")
}

type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func (l *lockedRand) chance(p float64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Float64() < p
}
