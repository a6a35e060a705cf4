package idempotency

import (
	"net/http"
	"time"
)

// Defaults of Do and Middleware.
const (
	// DefaultLockTTL is how long a key stays owned by work that neither
	// completes nor releases it, as when its process dies.
	DefaultLockTTL = time.Minute
	// DefaultRetention is how long a completed result is kept.
	DefaultRetention = 24 * time.Hour
)

// An Option configures Do or Middleware.
type Option func(*config)

type config struct {
	lockTTL   time.Duration
	retention time.Duration
	counters  *Counters // nil: count nothing

	// Do
	fingerprint string
	wait        bool
	pollMin     time.Duration
	pollMax     time.Duration
	codec       Codec

	// Middleware
	methods         []string
	required        bool
	maxKeyLen       int
	maxBody         int64
	maxResponse     int
	replayHeaders   []string
	fingerprintFunc func(r *http.Request, body []byte) string
	scope           func(r *http.Request) string
	releaseOnError  bool
	errorHandler    func(r *http.Request, err error)
}

// Shared defaults, never modified: options and Middleware make copies.
var (
	defaultMethods       = []string{"POST", "PATCH"}
	defaultReplayHeaders = []string{"Content-Type", "Content-Encoding", "Content-Language", "Location", "Cache-Control"}
)

func newConfig(opts []Option) config {
	c := config{
		lockTTL:        DefaultLockTTL,
		retention:      DefaultRetention,
		wait:           true,
		pollMin:        10 * time.Millisecond,
		pollMax:        time.Second,
		codec:          JSON,
		methods:        defaultMethods,
		maxKeyLen:      255,
		maxBody:        1 << 20,
		maxResponse:    MaxResultSize - 64<<10,
		replayHeaders:  defaultReplayHeaders,
		releaseOnError: true,
	}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithLockTTL sets how long a key stays owned while its work runs; the work
// must finish within it, or a retry may run it again. Default:
// DefaultLockTTL. Do returns ErrInvalidTTL and Middleware panics for ttl <= 0.
func WithLockTTL(ttl time.Duration) Option { return func(c *config) { c.lockTTL = ttl } }

// WithRetention sets how long a completed result is kept. Default:
// DefaultRetention. Do returns ErrInvalidTTL and Middleware panics for
// d <= 0.
func WithRetention(d time.Duration) Option { return func(c *config) { c.retention = d } }

// WithFingerprint sets the fingerprint Do passes to Begin: a digest of the
// request, so that a key reused for a different request gets ErrMismatch.
// Default: "".
func WithFingerprint(fp string) Option { return func(c *config) { c.fingerprint = fp } }

// WithWait sets whether Do, finding the key in progress elsewhere, waits for
// the result (true) or returns ErrInProgress at once (false). Default: true.
func WithWait(wait bool) Option { return func(c *config) { c.wait = wait } }

// WithPollInterval sets the first and the longest pause between the Begin
// calls of a waiting Do; each pause doubles up to the longest. Default: 10ms
// and 1s. Do panics if min <= 0 or max < min.
func WithPollInterval(min, max time.Duration) Option {
	return func(c *config) { c.pollMin, c.pollMax = min, max }
}

// WithCodec sets the Codec Do stores results with. Default: JSON.
func WithCodec(codec Codec) Option { return func(c *config) { c.codec = codec } }

// WithMethods sets the request methods Middleware applies to; requests with
// other methods pass through untouched. Default: POST and PATCH.
func WithMethods(methods ...string) Option {
	return func(c *config) { c.methods = append([]string(nil), methods...) }
}

// WithRequired sets whether Middleware rejects a request without an
// Idempotency-Key header with 400 (true) or passes it through (false).
// Default: false.
func WithRequired(required bool) Option { return func(c *config) { c.required = required } }

// WithMaxKeyLength sets the longest Idempotency-Key, in bytes, Middleware
// accepts; a longer one gets 400. Default: 255. Middleware panics if n < 1.
func WithMaxKeyLength(n int) Option { return func(c *config) { c.maxKeyLen = n } }

// WithMaxBodySize sets the largest request body, in bytes, Middleware reads
// to fingerprint the request; a larger one gets 413. Default: 1 MiB.
// Middleware panics if n < 0.
func WithMaxBodySize(n int64) Option { return func(c *config) { c.maxBody = n } }

// WithMaxResponseSize sets the largest response body, in bytes, Middleware
// stores for replay. A larger response still reaches its client, but a
// replay gets a 500 problem saying the response was too large to keep.
// Default: 960 KiB. Middleware panics if n < 0 or n > MaxResultSize.
func WithMaxResponseSize(n int) Option { return func(c *config) { c.maxResponse = n } }

// WithReplayHeaders sets the response headers Middleware stores and replays
// beside the status and body. Default: Content-Type, Content-Encoding,
// Content-Language, Location and Cache-Control.
func WithReplayHeaders(names ...string) Option {
	return func(c *config) { c.replayHeaders = append([]string(nil), names...) }
}

// WithFingerprintFunc sets how Middleware fingerprints a request from the
// request and its body (read whole, up to the body size limit). Default:
// a SHA-256 digest of the method, the URL path and the body. The buffer
// body is reused for other requests: f must not keep it after it returns.
func WithFingerprintFunc(f func(r *http.Request, body []byte) string) Option {
	return func(c *config) { c.fingerprintFunc = f }
}

// WithScope sets a function whose result, such as the authenticated
// account, scopes every Idempotency-Key, so that two clients using the same
// key do not meet. Default: nil, one scope for all.
func WithScope(f func(r *http.Request) string) Option { return func(c *config) { c.scope = f } }

// WithReleaseOnError sets whether a handler that panics or responds with a
// 5xx status releases the key, so that the client may retry (true), or
// whether a 5xx response is stored and replayed like any other (false; a
// panic then leaves the key locked until the lock TTL). Default: true.
func WithReleaseOnError(release bool) Option { return func(c *config) { c.releaseOnError = release } }

// WithErrorHandler sets a function Middleware calls with each error of the
// store, to log or count them: a failed Begin (the client gets 503), and a
// failed Complete or Release, which the client cannot be told about because
// its response is already on its way. After a failed Complete the key stays
// locked until the lock TTL, and a retry after that runs the handler again.
// Complete returns ErrNotHeld when the handler outlived the lock TTL.
// Default: nil, errors are dropped.
func WithErrorHandler(f func(r *http.Request, err error)) Option {
	return func(c *config) { c.errorHandler = f }
}
