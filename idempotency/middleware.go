package idempotency

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
)

// Header names of the IETF draft "The Idempotency-Key HTTP Header Field".
const (
	// KeyHeader is the request header that carries the idempotency key.
	KeyHeader = "Idempotency-Key"
	// ReplayedHeader is set to "true" on a response replayed from the store.
	ReplayedHeader = "Idempotent-Replayed"
)

// Middleware returns HTTP middleware that makes requests carrying an
// Idempotency-Key header take effect once, following the IETF draft "The
// Idempotency-Key HTTP Header Field".
//
// For a request whose method it applies to (POST and PATCH by default), it
// reads the body (up to a limit, then restores it for the handler),
// fingerprints the request and calls s.Begin. (The restored body is read
// from a buffer that is reused once the handler returns.) The first request with a key
// runs the handler, whose status, chosen headers and body are stored as it
// writes them. Later requests with the key get that response replayed byte
// for byte, with the header Idempotent-Replayed: true. If the handler panics
// or responds with a 5xx status, the key is released so that the client may
// retry, and the panic goes on; 4xx responses are stored.
//
// Errors are answered with an application/problem+json body: 400 for a
// missing key (with WithRequired(true)), a malformed one or one longer than
// the limit, 409 while another request with the key is in progress, 422 when
// the key was used for a request with another fingerprint, 413 for a body
// over the limit, 503 when the store fails. WithCounters counts each outcome.
//
// Middleware panics if an option is invalid (a TTL, size or length out of
// range). The handler it returns is safe for concurrent use.
func Middleware(s Store, opts ...Option) func(http.Handler) http.Handler {
	c := newConfig(opts)
	switch {
	case c.lockTTL <= 0 || c.retention <= 0:
		panic("idempotency: lock TTL and retention must be positive")
	case c.maxKeyLen < 1:
		panic("idempotency: max key length must be at least 1")
	case c.maxBody < 0:
		panic("idempotency: max body size must not be negative")
	case c.maxResponse < 0 || c.maxResponse > MaxResultSize:
		panic("idempotency: max response size must be within 0 and MaxResultSize")
	}
	names := make([]string, len(c.replayHeaders))
	for i, name := range c.replayHeaders {
		names[i] = http.CanonicalHeaderKey(name)
	}
	c.replayHeaders = names
	return func(next http.Handler) http.Handler {
		return &middleware{store: s, c: c, next: next}
	}
}

type middleware struct {
	store Store
	c     config
	next  http.Handler
}

func (m *middleware) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !slices.Contains(m.c.methods, r.Method) {
		m.next.ServeHTTP(w, r)
		return
	}
	cs := m.c.counters
	values := r.Header.Values(KeyHeader)
	if len(values) == 0 {
		if m.c.required {
			cs.count(evRejected)
			problemMissingKey.write(w)
			return
		}
		cs.count(evUnkeyed)
		m.next.ServeHTTP(w, r)
		return
	}
	key, ok := parseKey(values[0])
	switch {
	case len(values) > 1 || !ok:
		cs.count(evRejected)
		problemMalformedKey.write(w)
		return
	case len(key) > m.c.maxKeyLen:
		cs.count(evRejected)
		problemKeyTooLong.write(w)
		return
	}
	if m.c.scope != nil {
		scope := m.c.scope(r)
		key = strconv.Itoa(len(scope)) + ":" + scope + key
	}

	x := exchanges.Get().(*exchange)
	var err error
	x.body, err = readBody(x.body[:0], r.Body, m.c.maxBody)
	if r.Body != nil {
		r.Body.Close()
	}
	if err != nil {
		x.free()
		cs.count(evRejected)
		problemBodyUnreadable.write(w)
		return
	}
	if int64(len(x.body)) > m.c.maxBody {
		x.free()
		cs.count(evRejected)
		problemBodyTooLarge.write(w)
		return
	}
	x.reader.Reset(x.body)
	orig := r.Body
	r.Body = &x.reader
	// x goes back to the pool on return: leave no reference to it in r,
	// which the caller of ServeHTTP still holds.
	defer func() { r.Body = orig }()

	var fp string
	if m.c.fingerprintFunc != nil {
		fp = m.c.fingerprintFunc(r, x.body)
	} else {
		fp = x.fingerprint(r)
	}
	ctx := r.Context()
	claim, err := m.store.Begin(ctx, key, fp, m.c.lockTTL)
	if err != nil {
		cs.countBegin(err)
	}
	switch {
	case errors.Is(err, ErrInProgress):
		x.free()
		w.Header().Set("Retry-After", "1")
		problemInProgress.write(w)
		return
	case errors.Is(err, ErrMismatch):
		x.free()
		problemMismatch.write(w)
		return
	case err != nil:
		x.free()
		m.report(r, err)
		problemStoreFailed.write(w)
		return
	case claim.Done:
		x.free()
		m.replay(w, r, claim.Result)
		return
	}
	cs.count(evExecuted)

	rec := &x.rec
	*rec = recorder{ResponseWriter: w, max: m.c.maxResponse, names: m.c.replayHeaders, buf: rec.buf[:0]}
	finished := false
	defer func() {
		if !finished && m.c.releaseOnError {
			// The handler panicked (or called runtime.Goexit); the panic goes
			// on unrecovered after this.
			m.release(r, key, claim.Token)
		}
	}()
	m.next.ServeHTTP(rec, r)
	finished = true

	if !rec.wroteHeader {
		rec.WriteHeader(http.StatusOK)
	}
	if rec.status >= 500 && m.c.releaseOnError {
		m.release(r, key, claim.Token)
		x.free()
		return
	}
	var result []byte
	if rec.tooLarge || len(rec.buf) > MaxResultSize {
		result = appendResponse(nil, rec.status, true, nil, nil, nil)
	} else {
		result = bytes.Clone(rec.buf) // the store may keep it; rec.buf goes back to the pool
	}
	x.free()
	// The response is gone already; if the store fails, the key stays locked
	// until the lock TTL and a retry then runs the handler again.
	err = m.store.Complete(context.WithoutCancel(ctx), key, claim.Token, result, m.c.retention)
	cs.settle(err, evNone)
	m.report(r, err)
}

// release gives up key after the handler failed, so that a retry may run
// it again. Without r's context, which may be why the handler failed.
func (m *middleware) release(r *http.Request, key string, token uint64) {
	err := m.store.Release(context.WithoutCancel(r.Context()), key, token)
	m.c.counters.settle(err, evReleased)
	m.report(r, err)
}

// report passes a non-nil error to the error handler, if any.
func (m *middleware) report(r *http.Request, err error) {
	if err != nil && m.c.errorHandler != nil {
		m.c.errorHandler(r, err)
	}
}

func (m *middleware) replay(w http.ResponseWriter, r *http.Request, data []byte) {
	resp, err := decodeResponse(data)
	if err != nil {
		m.c.counters.count(evStoreErrors)
		m.report(r, err)
		problemStoreFailed.write(w)
		return
	}
	m.c.counters.count(evReplayed)
	h := w.Header()
	h[ReplayedHeader] = []string{"true"}
	if resp.tooLarge {
		problemResponseTooLarge.write(w)
		return
	}
	rest := resp.header
	for range resp.nheader {
		var name, value []byte
		name, value, rest, _ = nextHeader(rest)
		k := m.headerName(name)
		h[k] = append(h[k], string(value))
	}
	w.WriteHeader(resp.status)
	w.Write(resp.body)
}

// headerName returns name as a string, without allocating when it is one of
// the configured replay headers.
func (m *middleware) headerName(name []byte) string {
	for _, s := range m.c.replayHeaders {
		if string(name) == s {
			return s
		}
	}
	return string(name)
}

// An exchange holds the buffers of one request, reused through a pool.
type exchange struct {
	body    []byte
	reader  bodyReader
	rec     recorder
	hash    hash.Hash
	sum     [sha256.Size]byte
	scratch []byte
}

var exchanges = sync.Pool{New: func() any { return &exchange{hash: sha256.New()} }}

// maxPooled is the largest buffer kept for reuse; larger ones are left to
// the garbage collector, so that one large request does not pin memory.
const maxPooled = 64 << 10

// free returns x to the pool. Nothing may use x afterwards.
func (x *exchange) free() {
	if cap(x.body) > maxPooled {
		x.body = nil
	}
	if cap(x.rec.buf) > maxPooled {
		x.rec.buf = nil
	}
	x.reader.Reset(nil)
	x.rec = recorder{buf: x.rec.buf[:0]}
	exchanges.Put(x)
}

// fingerprint digests the method, the path and the body of r.
func (x *exchange) fingerprint(r *http.Request) string {
	h := x.hash
	h.Reset()
	x.scratch = append(append(append(append(x.scratch[:0], r.Method...), 0), r.URL.Path...), 0)
	h.Write(x.scratch)
	h.Write(x.body)
	return string(h.Sum(x.sum[:0]))
}

// readBody appends what r yields to dst, stopping after max+1 bytes so that
// the caller can tell an overlong body. A nil r is empty.
func readBody(dst []byte, r io.Reader, max int64) ([]byte, error) {
	if r == nil {
		return dst, nil
	}
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, err := r.Read(dst[len(dst):min(int64(cap(dst)), max+1)])
		dst = dst[:len(dst)+n]
		if int64(len(dst)) > max || err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}

// bodyReader is the restored request body.
type bodyReader struct{ bytes.Reader }

// Close does nothing.
func (*bodyReader) Close() error { return nil }

// A recorder passes a response through to its client while encoding its
// status, its chosen headers as of WriteHeader, and its body up to max bytes
// into buf, ready for the store.
type recorder struct {
	http.ResponseWriter
	max         int
	names       []string
	wroteHeader bool
	status      int
	buf         []byte
	bodyStart   int
	tooLarge    bool
}

func (r *recorder) WriteHeader(status int) {
	if r.wroteHeader {
		return
	}
	if status < 200 {
		r.ResponseWriter.WriteHeader(status) // informational: not the response
		return
	}
	r.wroteHeader, r.status = true, status
	r.buf = appendResponse(r.buf[:0], status, false, r.ResponseWriter.Header(), r.names, nil)
	r.bodyStart = len(r.buf)
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(p []byte) (int, error) {
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	if !r.tooLarge {
		if len(r.buf)-r.bodyStart+len(p) > r.max {
			r.tooLarge = true
		} else {
			r.buf = append(r.buf, p...)
		}
	}
	return r.ResponseWriter.Write(p)
}

// Flush sends any buffered data to the client, if the underlying writer can.
func (r *recorder) Flush() {
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	http.NewResponseController(r.ResponseWriter).Flush()
}

// Unwrap returns the underlying writer, for http.ResponseController.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// A problem is a precomputed RFC 9457 application/problem+json response.
type problem struct {
	status int
	body   []byte
}

func newProblem(status int, title, detail string) problem {
	q := strconv.Quote
	body := `{"type":"about:blank","title":` + q(title) + `,"status":` + strconv.Itoa(status) +
		`,"detail":` + q(detail) + "}\n"
	return problem{status, []byte(body)}
}

func (p problem) write(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Length", strconv.Itoa(len(p.body)))
	w.WriteHeader(p.status)
	w.Write(p.body)
}

var (
	problemMissingKey = newProblem(http.StatusBadRequest, "Idempotency-Key is missing",
		"This operation is idempotent and requires an Idempotency-Key header.")
	problemMalformedKey = newProblem(http.StatusBadRequest, "Idempotency-Key is malformed",
		"The Idempotency-Key header must appear once and hold a string of visible ASCII characters.")
	problemKeyTooLong = newProblem(http.StatusBadRequest, "Idempotency-Key is too long",
		"The Idempotency-Key header is longer than this server accepts.")
	problemBodyUnreadable = newProblem(http.StatusBadRequest, "Request body unreadable",
		"The request body could not be read.")
	problemBodyTooLarge = newProblem(http.StatusRequestEntityTooLarge, "Request body too large",
		"The request body is larger than this server accepts for an idempotent request.")
	problemInProgress = newProblem(http.StatusConflict, "Request in progress",
		"A request with the same Idempotency-Key is still being processed; retry later.")
	problemMismatch = newProblem(http.StatusUnprocessableEntity, "Idempotency-Key reused",
		"The Idempotency-Key was used for a different request payload.")
	problemStoreFailed = newProblem(http.StatusServiceUnavailable, "Idempotency store unavailable",
		"The idempotency store could not be reached; retry later.")
	problemResponseTooLarge = newProblem(http.StatusInternalServerError, "Stored response too large",
		"The request was processed, but its response was too large to keep for replay.")
)
