package idempotency_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/distkit/distkit/idempotency"
)

// payments is a handler that charges once per call and counts its calls.
type payments struct {
	mu    sync.Mutex
	calls int
}

func (p *payments) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	p.mu.Lock()
	p.calls++
	n := p.calls
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Location", "/charges/"+string(rune('0'+n)))
	w.Header().Set("X-Not-Replayed", "x")
	w.Header().Add("Cache-Control", "no-store")
	w.Header().Add("Cache-Control", "private")
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, `{"charge":`)
	w.Write(body)
	io.WriteString(w, "}")
}

func do(h http.Handler, method, target, key, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if key != "" {
		r.Header.Set(idempotency.KeyHeader, key)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestMiddlewareReplaysByteForByte(t *testing.T) {
	p := &payments{}
	h := idempotency.Middleware(idempotency.NewLocal())(p)
	first := do(h, "POST", "/charges", `"k1"`, `{"amount":100}`)
	if first.Code != http.StatusCreated || first.Header().Get(idempotency.ReplayedHeader) != "" {
		t.Fatalf("first response = %d %v; want 201 without %s", first.Code, first.Header(), idempotency.ReplayedHeader)
	}
	for i := range 2 {
		again := do(h, "POST", "/charges", "k1", `{"amount":100}`) // bare and quoted keys are the same key
		if again.Code != first.Code || !bytes.Equal(again.Body.Bytes(), first.Body.Bytes()) {
			t.Fatalf("replay #%d = %d %q; want %d %q", i, again.Code, again.Body, first.Code, first.Body)
		}
		if got := again.Header().Get(idempotency.ReplayedHeader); got != "true" {
			t.Errorf("replay %s = %q; want true", idempotency.ReplayedHeader, got)
		}
		for _, name := range []string{"Content-Type", "Location"} {
			if got, want := again.Header().Get(name), first.Header().Get(name); got != want {
				t.Errorf("replay %s = %q; want %q", name, got, want)
			}
		}
		if got := again.Header().Values("Cache-Control"); len(got) != 2 || got[1] != "private" {
			t.Errorf("replay Cache-Control = %q; want both values", got)
		}
		if got := again.Header().Get("X-Not-Replayed"); got != "" {
			t.Errorf("replay X-Not-Replayed = %q; want it not stored", got)
		}
	}
	if p.calls != 1 {
		t.Fatalf("handler ran %d times; want 1", p.calls)
	}
	// Another key runs the handler again.
	if w := do(h, "POST", "/charges", "k2", `{"amount":100}`); w.Code != http.StatusCreated || p.calls != 2 {
		t.Fatalf("other key = %d after %d calls; want 201 after 2", w.Code, p.calls)
	}
}

func problemOf(t *testing.T, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q; want application/problem+json", ct)
	}
	var p map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem body %q: %v", w.Body, err)
	}
	if int(p["status"].(float64)) != w.Code || p["title"] == "" {
		t.Fatalf("problem %v does not match status %d", p, w.Code)
	}
	return p
}

func TestMiddlewareErrors(t *testing.T) {
	store := idempotency.NewLocal()
	p := &payments{}
	h := idempotency.Middleware(store, idempotency.WithRequired(true), idempotency.WithMaxKeyLength(8),
		idempotency.WithMaxBodySize(16))(p)
	do(h, "POST", "/charges", "used", `{"amount":1}`)
	// A request in progress: begun elsewhere, not completed.
	store.Begin(t.Context(), "busy", "anything", time.Minute)
	busyFP := idempotency.Middleware(store, idempotency.WithFingerprintFunc(func(*http.Request, []byte) string { return "anything" }))(p)

	tests := []struct {
		name   string
		h      http.Handler
		key    string
		body   string
		status int
	}{
		{"missing key", h, "", "{}", http.StatusBadRequest},
		{"key too long", h, "123456789", "{}", http.StatusBadRequest},
		{"malformed key", h, `"unterminated`, "{}", http.StatusBadRequest},
		{"empty quoted key", h, `""`, "{}", http.StatusBadRequest},
		{"body too large", h, "big", strings.Repeat("x", 17), http.StatusRequestEntityTooLarge},
		{"different payload", h, "used", `{"amount":2}`, http.StatusUnprocessableEntity},
		{"in progress", busyFP, "busy", "{}", http.StatusConflict},
	}
	for _, tt := range tests {
		w := do(tt.h, "POST", "/charges", tt.key, tt.body)
		if w.Code != tt.status {
			t.Errorf("%s: status %d; want %d", tt.name, w.Code, tt.status)
			continue
		}
		problemOf(t, w)
	}
	// Two Idempotency-Key fields are malformed.
	r := httptest.NewRequest("POST", "/charges", strings.NewReader("{}"))
	r.Header.Add(idempotency.KeyHeader, "a")
	r.Header.Add(idempotency.KeyHeader, "b")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusBadRequest {
		t.Errorf("two keys: status %d; want 400", w.Code)
	}
	if p.calls != 1 {
		t.Errorf("handler ran %d times; want 1 (only the first request)", p.calls)
	}
}

func TestMiddlewareMethodsAndOptionalKey(t *testing.T) {
	p := &payments{}
	h := idempotency.Middleware(idempotency.NewLocal())(p)
	for i, m := range []string{"GET", "PUT", "DELETE", "POST"} {
		key := "k"
		if m == "POST" {
			key = "" // optional by default: no key, no idempotency
		}
		do(h, m, "/x", key, "{}")
		do(h, m, "/x", key, "{}")
		if want := 2 * (i + 1); p.calls != want {
			t.Fatalf("after %s twice: %d calls; want %d (passed through)", m, p.calls, want)
		}
	}
	h = idempotency.Middleware(idempotency.NewLocal(), idempotency.WithMethods("PUT"))(p)
	do(h, "PUT", "/x", "k", "{}")
	do(h, "PUT", "/x", "k", "{}")
	if p.calls != 9 {
		t.Fatalf("PUT with WithMethods(PUT) twice: %d calls; want 9", p.calls)
	}
	// PATCH applies by default.
	h = idempotency.Middleware(idempotency.NewLocal())(p)
	do(h, "PATCH", "/x", "k", "{}")
	if w := do(h, "PATCH", "/x", "k", "{}"); w.Header().Get(idempotency.ReplayedHeader) != "true" || p.calls != 10 {
		t.Fatalf("PATCH twice: %d calls, replayed=%q; want 10, true", p.calls, w.Header().Get(idempotency.ReplayedHeader))
	}
}

func TestMiddlewareFingerprintCoversMethodPathBody(t *testing.T) {
	h := idempotency.Middleware(idempotency.NewLocal())(&payments{})
	do(h, "POST", "/a", "k", "body")
	for _, r := range []struct{ method, path, body string }{
		{"PATCH", "/a", "body"}, {"POST", "/b", "body"}, {"POST", "/a", "other"},
	} {
		if w := do(h, r.method, r.path, "k", r.body); w.Code != http.StatusUnprocessableEntity {
			t.Errorf("%s %s %q with a used key: status %d; want 422", r.method, r.path, r.body, w.Code)
		}
	}
}

func TestMiddlewareRestoresBody(t *testing.T) {
	var got []byte
	h := idempotency.Middleware(idempotency.NewLocal())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
	}))
	do(h, "POST", "/", "k", "hello body")
	if string(got) != "hello body" {
		t.Fatalf("handler read %q; want the whole body", got)
	}
}

func TestMiddlewareServerErrorsRelease(t *testing.T) {
	calls := 0
	status := http.StatusInternalServerError
	flaky := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.WriteHeader(status)
	})
	h := idempotency.Middleware(idempotency.NewLocal())(flaky)
	do(h, "POST", "/", "k", "")
	status = http.StatusBadRequest
	do(h, "POST", "/", "k", "") // the 500 released the key: runs again
	w := do(h, "POST", "/", "k", "")
	if calls != 2 || w.Code != http.StatusBadRequest || w.Header().Get(idempotency.ReplayedHeader) != "true" {
		t.Fatalf("after 500, 400, retry: %d calls, last %d; want 2 calls and the 400 replayed", calls, w.Code)
	}

	// With WithReleaseOnError(false) a 5xx is stored.
	calls, status = 0, http.StatusBadGateway
	h = idempotency.Middleware(idempotency.NewLocal(), idempotency.WithReleaseOnError(false))(flaky)
	do(h, "POST", "/", "k", "")
	if w := do(h, "POST", "/", "k", ""); calls != 1 || w.Code != http.StatusBadGateway {
		t.Fatalf("WithReleaseOnError(false): %d calls, replay %d; want 1 call, 502 replayed", calls, w.Code)
	}
}

func TestMiddlewarePanicReleasesAndRepanics(t *testing.T) {
	calls := 0
	h := idempotency.Middleware(idempotency.NewLocal())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			panic("handler bug")
		}
		io.WriteString(w, "ok")
	}))
	func() {
		defer func() {
			if p := recover(); p != "handler bug" {
				t.Fatalf("recovered %v; want the handler's panic", p)
			}
		}()
		do(h, "POST", "/", "k", "")
	}()
	if w := do(h, "POST", "/", "k", ""); w.Body.String() != "ok" || calls != 2 {
		t.Fatalf("retry after a panic = %q after %d calls; want ok after 2", w.Body, calls)
	}
}

func TestMiddlewareLargeResponseNotReplayed(t *testing.T) {
	calls := 0
	h := idempotency.Middleware(idempotency.NewLocal(), idempotency.WithMaxResponseSize(10))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls++
			io.WriteString(w, "0123456789")
			io.WriteString(w, "too much")
		}))
	if w := do(h, "POST", "/", "k", ""); w.Body.String() != "0123456789too much" {
		t.Fatalf("first response = %q; want all of it", w.Body)
	}
	w := do(h, "POST", "/", "k", "")
	if calls != 1 || w.Code != http.StatusInternalServerError || w.Header().Get(idempotency.ReplayedHeader) != "true" {
		t.Fatalf("replay of a large response = %d after %d calls; want a 500 problem after 1", w.Code, calls)
	}
	problemOf(t, w)
}

func TestMiddlewareImplicitStatusAndFlush(t *testing.T) {
	h := idempotency.Middleware(idempotency.NewLocal())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusContinue) // informational: not stored
		w.(http.Flusher).Flush()
		w.Write([]byte("a"))
		http.NewResponseController(w).Flush()
		w.WriteHeader(http.StatusTeapot) // too late: ignored
	}))
	do(h, "POST", "/", "k", "")
	if w := do(h, "POST", "/", "k", ""); w.Code != http.StatusOK || w.Body.String() != "a" {
		t.Fatalf("replay = %d %q; want 200 a", w.Code, w.Body)
	}
	empty := idempotency.Middleware(idempotency.NewLocal())(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	do(empty, "POST", "/", "k", "")
	if w := do(empty, "POST", "/", "k", ""); w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Fatalf("replay of an empty response = %d %q; want 200 and nothing", w.Code, w.Body)
	}
}

func TestMiddlewareScope(t *testing.T) {
	p := &payments{}
	h := idempotency.Middleware(idempotency.NewLocal(), idempotency.WithScope(func(r *http.Request) string {
		return r.Header.Get("X-Account")
	}))(p)
	for _, acct := range []string{"alice", "bob", "alice"} {
		r := httptest.NewRequest("POST", "/", strings.NewReader("{}"))
		r.Header.Set(idempotency.KeyHeader, "k")
		r.Header.Set("X-Account", acct)
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	if p.calls != 2 {
		t.Fatalf("handler ran %d times; want 2 (one per account)", p.calls)
	}
}

// failingStore fails every call, as a store that cannot be reached.
type failingStore struct{ *idempotency.Local }

func (failingStore) Begin(context.Context, string, string, time.Duration) (idempotency.Claim, error) {
	return idempotency.Claim{}, io.ErrUnexpectedEOF
}

func TestMiddlewareStoreFailure(t *testing.T) {
	p := &payments{}
	h := idempotency.Middleware(failingStore{idempotency.NewLocal()})(p)
	w := do(h, "POST", "/", "k", "")
	if w.Code != http.StatusServiceUnavailable || p.calls != 0 {
		t.Fatalf("store failure: %d after %d calls; want 503 and no call", w.Code, p.calls)
	}
	problemOf(t, w)
}

func TestMiddlewarePanicsOnBadOptions(t *testing.T) {
	for _, o := range []idempotency.Option{
		idempotency.WithLockTTL(0), idempotency.WithRetention(-1), idempotency.WithMaxKeyLength(0),
		idempotency.WithMaxBodySize(-1), idempotency.WithMaxResponseSize(idempotency.MaxResultSize + 1),
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("Middleware with an invalid option did not panic")
				}
			}()
			idempotency.Middleware(idempotency.NewLocal(), o)
		}()
	}
}

func TestMiddlewareReplayHeadersOption(t *testing.T) {
	h := idempotency.Middleware(idempotency.NewLocal(), idempotency.WithReplayHeaders("x-charge-id"))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Body.Close()
			if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Second)); err == nil {
				t.Error("SetWriteDeadline through the recorder succeeded on a writer without deadlines")
			}
			w.Header().Set("X-Charge-Id", "ch_1")
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, "ok")
		}))
	do(h, "POST", "/", "k", "")
	w := do(h, "POST", "/", "k", "")
	if got := w.Header().Get("X-Charge-Id"); got != "ch_1" {
		t.Errorf("replayed X-Charge-Id = %q; want ch_1", got)
	}
	if got := w.Header().Get("Content-Type"); got != "" && got != "text/plain; charset=utf-8" {
		t.Errorf("replayed Content-Type = %q; want it not stored", got)
	}
}

func TestMiddlewareReportsStoreErrors(t *testing.T) {
	var errs []error
	onErr := idempotency.WithErrorHandler(func(r *http.Request, err error) { errs = append(errs, err) })
	h := idempotency.Middleware(failingStore{idempotency.NewLocal()}, onErr)(&payments{})
	do(h, "POST", "/", "k", "")
	if len(errs) != 1 || !errors.Is(errs[0], io.ErrUnexpectedEOF) {
		t.Fatalf("errors reported = %v; want the failed Begin", errs)
	}

	// A handler that outlives its lock TTL cannot store its response.
	synctest.Test(t, func(t *testing.T) {
		errs = nil
		slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(2 * time.Second) // the work outlives the lock TTL
			io.WriteString(w, "late")
		})
		h := idempotency.Middleware(idempotency.NewLocal(), onErr, idempotency.WithLockTTL(time.Second))(slow)
		do(h, "POST", "/", "k", "")
		if len(errs) != 1 || !errors.Is(errs[0], idempotency.ErrNotHeld) {
			t.Fatalf("errors reported = %v; want ErrNotHeld from Complete", errs)
		}
	})
}

func TestMiddlewareRestoresRequestBodyField(t *testing.T) {
	h := idempotency.Middleware(idempotency.NewLocal())(&payments{})
	r := httptest.NewRequest("POST", "/", strings.NewReader("{}"))
	r.Header.Set(idempotency.KeyHeader, "k")
	orig := r.Body
	h.ServeHTTP(httptest.NewRecorder(), r)
	if r.Body != orig {
		t.Fatal("r.Body after ServeHTTP is not the caller's body; want it restored")
	}
}
