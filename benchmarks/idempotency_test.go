package benchmarks

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/distkit/distkit/idempotency"
	"github.com/distkit/distkit/idempotency/redisidempotency"
	"github.com/distkit/distkit/internal/redistest"
)

// No Go library offers Idempotency-Key middleware for net/http that could
// stand beside ours, so the floor is the bare handler: impl=bare serves the
// same request without any idempotency, and the difference is the cost of
// the middleware.

var idemChargeBody = []byte(`{"amount":1000,"currency":"eur","source":"tok_visa","description":"order 1234"}`)

var idemChargeHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	w.Write([]byte(`{"id":"ch_3MmlLrLkdIwHu7ix0snN0B15","amount":1000,"currency":"eur","status":"succeeded"}`))
})

type idemWriter struct{ h http.Header }

func (w *idemWriter) Header() http.Header         { return w.h }
func (w *idemWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *idemWriter) WriteHeader(int)             {}

// idemRequest serves one POST /v1/charges, reusing its request and writer.
type idemRequest struct {
	r    *http.Request
	w    *idemWriter
	body bytes.Reader
	rc   io.ReadCloser
}

func newIdemRequest() *idemRequest {
	q := &idemRequest{w: &idemWriter{h: http.Header{}}}
	q.r, _ = http.NewRequest("POST", "http://example.com/v1/charges", nil)
	q.r.Header.Set(idempotency.KeyHeader, "")
	q.rc = io.NopCloser(&q.body)
	return q
}

func (q *idemRequest) serve(h http.Handler, key string) {
	q.body.Reset(idemChargeBody)
	q.r.Body = q.rc
	q.r.Header[idempotency.KeyHeader][0] = key
	clear(q.w.h)
	h.ServeHTTP(q.w, q.r)
}

var idemRuns atomic.Int64

type idemImpl struct {
	name string
	wrap func(h http.Handler) http.Handler
}

// idemImpls returns the implementations for the top-level benchmark b. The
// Redis server is started at most once per b, when a sub-benchmark needs it,
// and stopped when b ends.
func idemImpls(b *testing.B) []idemImpl {
	var store *redisidempotency.Store
	return []idemImpl{
		{"bare", func(h http.Handler) http.Handler { return h }},
		{"distkit", func(h http.Handler) http.Handler {
			return idempotency.Middleware(idempotency.NewLocal())(h)
		}},
		{"distkit-redis", func(h http.Handler) http.Handler {
			if store == nil {
				store = redisidempotency.New(redistest.Start(b))
			}
			return idempotency.Middleware(store)(h)
		}},
	}
}

// BenchmarkIdempotencyFirstRequest serves requests that each carry a new
// Idempotency-Key: the handler runs and its response is stored.
func BenchmarkIdempotencyFirstRequest(b *testing.B) {
	for _, impl := range idemImpls(b) {
		b.Run("impl="+impl.name, func(b *testing.B) {
			h := impl.wrap(idemChargeHandler)
			q := newIdemRequest()
			// Keys stay new across the runs of b.N that share a server.
			buf := strconv.AppendInt([]byte(impl.name+"-"), idemRuns.Add(1), 10)
			buf = append(buf, '-')
			n := len(buf)
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				i++
				buf = strconv.AppendInt(buf[:n], int64(i), 10)
				q.serve(h, string(buf))
			}
		})
	}
}

// BenchmarkIdempotencyReplay serves requests that all carry the same
// Idempotency-Key: after the first, the stored response is replayed (bare
// runs the handler every time).
func BenchmarkIdempotencyReplay(b *testing.B) {
	for _, impl := range idemImpls(b) {
		b.Run("impl="+impl.name, func(b *testing.B) {
			h := impl.wrap(idemChargeHandler)
			q := newIdemRequest()
			q.serve(h, "8e03978e-40d5-43e8-bc93-6894a57f9324")
			b.ReportAllocs()
			for b.Loop() {
				q.serve(h, "8e03978e-40d5-43e8-bc93-6894a57f9324")
			}
		})
	}
}

// BenchmarkIdempotencyReplayParallel is BenchmarkIdempotencyReplay from
// GOMAXPROCS goroutines.
func BenchmarkIdempotencyReplayParallel(b *testing.B) {
	for _, impl := range idemImpls(b) {
		b.Run("impl="+impl.name, func(b *testing.B) {
			h := impl.wrap(idemChargeHandler)
			newIdemRequest().serve(h, "k")
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				q := newIdemRequest()
				for pb.Next() {
					q.serve(h, "k")
				}
			})
		})
	}
}
