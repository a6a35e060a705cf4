package circuitbreaker

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
)

// ErrServerError is the error a Transport's breakers see for a response
// its failure rule rejects (by default, status 500 and above). The caller
// still receives the response itself.
var ErrServerError = errors.New("circuitbreaker: server error status")

// A Transport is an http.RoundTripper that sends each request through a
// Breaker for its host (req.URL.Host), created on first use with the
// Transport's options and named after the host. A rejected request returns
// an error wrapping ErrOpen or ErrTooManyRequests without reaching the
// network. A response with a status of 500 or more counts as a failure
// (see WithFailureStatus) and is returned as usual; a transport error
// counts as the breakers' classifier says, so a cancelled request counts as
// neither. It is safe for concurrent use by multiple goroutines.
type Transport struct {
	next     http.RoundTripper
	opts     []Option
	isFail   func(*http.Response) bool
	breakers sync.Map // host -> *Breaker
}

var _ http.RoundTripper = (*Transport)(nil)

// errPanicked is what the breaker sees for a RoundTrip that panicked.
var errPanicked = errors.New("circuitbreaker: round trip panicked")

// NewTransport returns a Transport that sends requests through next
// (http.DefaultTransport if nil), with one Breaker per host configured by
// opts.
func NewTransport(next http.RoundTripper, opts ...Option) *Transport {
	if next == nil {
		next = http.DefaultTransport
	}
	return &Transport{
		next:   next,
		opts:   opts,
		isFail: func(r *http.Response) bool { return r.StatusCode >= 500 },
	}
}

// WithFailureStatus replaces the rule that decides which responses count as
// failures (default: status >= 500) and returns t. Call it before the first
// RoundTrip.
func (t *Transport) WithFailureStatus(isFailure func(*http.Response) bool) *Transport {
	t.isFail = isFailure
	return t
}

// Breaker returns the Breaker for host, creating it if needed.
func (t *Transport) Breaker(host string) *Breaker {
	if b, ok := t.breakers.Load(host); ok {
		return b.(*Breaker)
	}
	opts := append(t.opts[:len(t.opts):len(t.opts)], WithName(host))
	b, _ := t.breakers.LoadOrStore(host, New(opts...))
	return b.(*Breaker)
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	b := t.Breaker(req.URL.Host)
	done, err := b.Allow(req.Context())
	if err != nil {
		if req.Body != nil {
			req.Body.Close() // a RoundTripper must close the body, even on error
		}
		return nil, fmt.Errorf("circuitbreaker: %s: %w", req.URL.Host, err)
	}
	finished := false
	defer func() {
		if !finished {
			done(errPanicked) // the panic continues; the call counts as failed
		}
	}()
	resp, err := t.next.RoundTrip(req)
	finished = true
	switch {
	case err != nil:
		done(err)
	case t.isFail(resp):
		done(ErrServerError)
	default:
		done(nil)
	}
	return resp, err
}
