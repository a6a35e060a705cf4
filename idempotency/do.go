package idempotency

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"
)

// A Codec encodes the results Do stores.
type Codec interface {
	// Marshal returns the encoding of v.
	Marshal(v any) ([]byte, error)
	// Unmarshal decodes data into the value v points to.
	Unmarshal(data []byte, v any) error
}

// JSON is the Codec of encoding/json, the default of Do.
var JSON Codec = jsonCodec{}

type jsonCodec struct{}

func (jsonCodec) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (jsonCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// inflight tells waiting calls of Do in this process when an owner in this
// process finishes with a key, so that they need not wait for their next
// poll. Keys of different stores share it: a wake-up meant for another store
// only costs an extra Begin.
var inflight = runningKeys{m: map[string]chan struct{}{}}

type runningKeys struct {
	mu sync.Mutex
	m  map[string]chan struct{} // closed when the owner finishes; guarded by mu
}

// start registers an owner of key and returns the function that reports it
// finished.
func (r *runningKeys) start(key string) (finished func()) {
	ch := make(chan struct{})
	r.mu.Lock()
	r.m[key] = ch
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		if r.m[key] == ch {
			delete(r.m, key)
		}
		r.mu.Unlock()
		close(ch)
	}
}

// done returns a channel closed when the owner of key in this process
// finishes, or nil (which blocks forever) when there is none.
func (r *runningKeys) done(key string) <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m[key]
}

// Do runs fn at most once per key to completion and returns its result to
// every caller with the same key within the retention, decoding the stored
// result for callers after the first.
//
// When another caller is running fn for key, Do waits until that caller's
// result is stored, or returns ErrInProgress at once with WithWait(false).
// It polls the store with a pause that doubles between calls (see
// WithPollInterval); a caller in the same process also wakes it as soon as
// it finishes. If that caller fails or dies, a waiting Do runs fn
// itself. If fn returns an error or panics, the key is released, so that a
// retry may run fn again, and the error is returned or the panic re-raised.
//
// Do returns ErrMismatch when key was used with another fingerprint, the
// errors of the Store, and ctx.Err() when ctx ends while waiting. If fn
// succeeded but its result could not be stored (it encodes to more than
// MaxResultSize bytes, or fn outlived the lock TTL: ErrNotHeld), Do returns
// fn's result together with that error. Do panics if the options are invalid.
func Do[T any](ctx context.Context, s Store, key string, fn func(context.Context) (T, error), opts ...Option) (T, error) {
	c := newConfig(opts)
	if c.pollMin <= 0 || c.pollMax < c.pollMin {
		panic("idempotency: invalid poll interval")
	}
	var zero T
	if c.lockTTL <= 0 || c.retention <= 0 {
		c.counters.count(evRejected)
		return zero, ErrInvalidTTL
	}
	pause := c.pollMin
	for {
		claim, err := s.Begin(ctx, key, c.fingerprint, c.lockTTL)
		switch {
		case err == nil && claim.Done:
			var v T
			if err := c.codec.Unmarshal(claim.Result, &v); err != nil {
				c.counters.count(evStoreErrors)
				return zero, err
			}
			c.counters.count(evReplayed)
			return v, nil
		case err == nil:
			c.counters.count(evExecuted)
			return run(ctx, s, key, claim.Token, fn, &c)
		case errors.Is(err, ErrInProgress) && c.wait:
			c.counters.count(evWaits)
			t := time.NewTimer(pause)
			select {
			case <-ctx.Done():
				t.Stop()
				return zero, ctx.Err()
			case <-t.C:
			case <-inflight.done(key):
				// The owner in this process finished: look again now.
				t.Stop()
			}
			pause = min(2*pause, c.pollMax)
		default:
			c.counters.countBegin(err)
			return zero, err
		}
	}
}

// run runs fn for the owner of key and stores or releases its outcome.
func run[T any](ctx context.Context, s Store, key string, token uint64, fn func(context.Context) (T, error), c *config) (v T, err error) {
	finished := inflight.start(key)
	defer finished()
	completed := false
	defer func() {
		if completed {
			return
		}
		// fn failed or panicked: let a retry run it again. Without ctx, as
		// ctx may be why fn failed.
		// A panic goes on unrecovered after this.
		rerr := s.Release(context.WithoutCancel(ctx), key, token)
		c.counters.settle(rerr, evReleased)
		if rerr != nil && !errors.Is(rerr, ErrNotHeld) {
			err = errors.Join(err, rerr)
		}
	}()
	v, err = fn(ctx)
	if err != nil {
		return v, err
	}
	data, err := c.codec.Marshal(v)
	if err != nil {
		return v, err
	}
	err = s.Complete(context.WithoutCancel(ctx), key, token, data, c.retention)
	c.counters.settle(err, evNone)
	completed = err == nil || errors.Is(err, ErrNotHeld)
	return v, err
}
