package idempotency_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/distkit/distkit/idempotency"
)

// discardWriter is a ResponseWriter that keeps nothing, reused between
// requests so that benchmarks measure the handler and the middleware only.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

var chargeBody = []byte(`{"amount":1000,"currency":"eur","source":"tok_visa","description":"order 1234"}`)

// chargeHandler stands for the work behind the middleware: it reads the body
// and writes a small JSON response.
var chargeHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	w.Write([]byte(`{"id":"ch_3MmlLrLkdIwHu7ix0snN0B15","amount":1000,"currency":"eur","status":"succeeded"}`))
})

// benchRequest serves h with one request, reusing r and w.
type benchRequest struct {
	r    *http.Request
	w    *discardWriter
	body bytes.Reader
}

func newBenchRequest() *benchRequest {
	b := &benchRequest{w: &discardWriter{h: http.Header{}}}
	b.r, _ = http.NewRequest("POST", "http://example.com/v1/charges", nil)
	b.r.Header.Set(idempotency.KeyHeader, "")
	return b
}

func (b *benchRequest) serve(h http.Handler, key string) {
	b.body.Reset(chargeBody)
	b.r.Body = io.NopCloser(&b.body)
	b.r.Header[idempotency.KeyHeader][0] = key
	clear(b.w.h)
	h.ServeHTTP(b.w, b.r)
}

func BenchmarkMiddleware(b *testing.B) {
	b.Run("request=bare", func(b *testing.B) {
		req := newBenchRequest()
		b.ReportAllocs()
		for b.Loop() {
			req.serve(chargeHandler, "k")
		}
	})
	b.Run("request=first", func(b *testing.B) {
		h := idempotency.Middleware(idempotency.NewLocal())(chargeHandler)
		req := newBenchRequest()
		var buf []byte
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			i++
			buf = strconv.AppendInt(buf[:0], int64(i), 10)
			req.serve(h, string(buf)) // a new key each time
		}
	})
	b.Run("request=replay", func(b *testing.B) {
		h := idempotency.Middleware(idempotency.NewLocal())(chargeHandler)
		req := newBenchRequest()
		req.serve(h, "k")
		b.ReportAllocs()
		for b.Loop() {
			req.serve(h, "k")
		}
	})
}

func BenchmarkMiddlewareReplayParallel(b *testing.B) {
	h := idempotency.Middleware(idempotency.NewLocal())(chargeHandler)
	newBenchRequest().serve(h, "k")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := newBenchRequest()
		for pb.Next() {
			req.serve(h, "k")
		}
	})
}

func BenchmarkMiddlewareFirstParallel(b *testing.B) {
	h := idempotency.Middleware(idempotency.NewLocal())(chargeHandler)
	b.ReportAllocs()
	var goroutines atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		req := newBenchRequest()
		g := goroutines.Add(1)
		var buf []byte
		for i := 0; pb.Next(); i++ {
			buf = strconv.AppendInt(buf[:0], g, 10)
			buf = append(buf, '-')
			buf = strconv.AppendInt(buf, int64(i), 10)
			req.serve(h, string(buf)) // a new key each time
		}
	})
}

// BenchmarkDoReplay measures Do for a key that completed earlier: one
// Begin on a Local and a JSON decode of the stored result.
func BenchmarkDoReplay(b *testing.B) {
	s := idempotency.NewLocal()
	fn := func(context.Context) (charge, error) { return charge{ID: "ch_1", Amount: 100}, nil }
	ctx := b.Context()
	idempotency.Do(ctx, s, "msg-1", fn)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := idempotency.Do(ctx, s, "msg-1", fn); err != nil {
			b.Fatal(err)
		}
	}
}
