package idempotencytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/distkit/distkit/idempotency"
)

// Short is the lock TTL and retention the suite uses where it waits for
// expiry; Long is the one it uses where nothing may expire during a test.
const (
	Short = 50 * time.Millisecond
	Long  = time.Minute
)

// deadline bounds every poll of the suite.
const deadline = 10 * time.Second

// Run runs the conformance suite against stores made by newStore, one per
// subtest. Subtests run in parallel.
func Run(t *testing.T, newStore func(t *testing.T) idempotency.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, idempotency.Store)
	}{
		{"Lifecycle", testLifecycle},
		{"Release", testRelease},
		{"Mismatch", testMismatch},
		{"ConcurrentSameKey", testConcurrentSameKey},
		{"HolderDies", testHolderDies},
		{"Fenced", testFenced},
		{"Expiry", testExpiry},
		{"KeysIndependent", testKeysIndependent},
		{"BadInput", testBadInput},
		{"Cancelled", testCancelled},
		{"HTTPExactlyOnce", testHTTPExactlyOnce},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newStore(t))
		})
	}
}

func begin(t *testing.T, s idempotency.Store, key, fp string, ttl time.Duration) idempotency.Claim {
	t.Helper()
	c, err := s.Begin(t.Context(), key, fp, ttl)
	if err != nil {
		t.Fatalf("Begin(%q, %q) error = %v; want nil", key, fp, err)
	}
	return c
}

func wantErr(t *testing.T, op string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s error = %v; want %v", op, err, want)
	}
}

// poll calls f until it reports true, pausing briefly between calls, and
// fails the test after the suite's deadline.
func poll(t *testing.T, what string, f func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !f() {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %v", what, deadline)
		}
		tm := time.NewTimer(5 * time.Millisecond)
		<-tm.C
	}
}

func testLifecycle(t *testing.T, s idempotency.Store) {
	ctx := t.Context()
	c := begin(t, s, "k", "fp", Long)
	if !c.Owned() || c.Done {
		t.Fatalf("first Begin = %+v; want owned, not done", c)
	}
	_, err := s.Begin(ctx, "k", "fp", Long)
	wantErr(t, "second Begin", err, idempotency.ErrInProgress)
	if err := s.Complete(ctx, "k", c.Token, []byte("result"), Long); err != nil {
		t.Fatalf("Complete error = %v; want nil", err)
	}
	for i := range 2 {
		d := begin(t, s, "k", "fp", Long)
		if d.Owned() || !d.Done || string(d.Result) != "result" {
			t.Fatalf("Begin #%d after Complete = %+v; want done with %q", i, d, "result")
		}
	}
	wantErr(t, "Complete twice", s.Complete(ctx, "k", c.Token, []byte("other"), Long), idempotency.ErrNotHeld)
	wantErr(t, "Release after Complete", s.Release(ctx, "k", c.Token), idempotency.ErrNotHeld)
	if d := begin(t, s, "k", "fp", Long); string(d.Result) != "result" {
		t.Fatalf("Begin after a second Complete = %q; want the first result kept", d.Result)
	}

	// An empty result is a result.
	e := begin(t, s, "empty", "fp", Long)
	if err := s.Complete(ctx, "empty", e.Token, nil, Long); err != nil {
		t.Fatalf("Complete(nil) error = %v", err)
	}
	if d := begin(t, s, "empty", "fp", Long); !d.Done || len(d.Result) != 0 {
		t.Fatalf("Begin after Complete(nil) = %+v; want done and empty", d)
	}

	// A result of exactly MaxResultSize bytes is kept whole.
	big := bytes.Repeat([]byte{0, 1, 0xff, 'x'}, idempotency.MaxResultSize/4)
	b := begin(t, s, "big", "fp", Long)
	if err := s.Complete(ctx, "big", b.Token, big, Long); err != nil {
		t.Fatalf("Complete(MaxResultSize bytes) error = %v", err)
	}
	if d := begin(t, s, "big", "fp", Long); !bytes.Equal(d.Result, big) {
		t.Fatalf("Begin after a MaxResultSize result returned %d bytes; want the same %d", len(d.Result), len(big))
	}
}

func testRelease(t *testing.T, s idempotency.Store) {
	ctx := t.Context()
	c := begin(t, s, "k", "fp", Long)
	wantErr(t, "Release(wrong token)", s.Release(ctx, "k", c.Token+1), idempotency.ErrNotHeld)
	wantErr(t, "Release(zero token)", s.Release(ctx, "k", 0), idempotency.ErrNotHeld)
	wantErr(t, "Complete(wrong token)", s.Complete(ctx, "k", c.Token+1, []byte("x"), Long), idempotency.ErrNotHeld)
	if err := s.Release(ctx, "k", c.Token); err != nil {
		t.Fatalf("Release error = %v; want nil", err)
	}
	wantErr(t, "Release twice", s.Release(ctx, "k", c.Token), idempotency.ErrNotHeld)
	wantErr(t, "Complete after Release", s.Complete(ctx, "k", c.Token, []byte("x"), Long), idempotency.ErrNotHeld)
	d := begin(t, s, "k", "other", Long)
	if !d.Owned() || d.Token == c.Token {
		t.Fatalf("Begin after Release = %+v; want owned with a new token (old %d)", d, c.Token)
	}
	wantErr(t, "Release(unknown key)", s.Release(ctx, "unknown", 1), idempotency.ErrNotHeld)
}

func testMismatch(t *testing.T, s idempotency.Store) {
	ctx := t.Context()
	c := begin(t, s, "k", "fp1", Long)
	_, err := s.Begin(ctx, "k", "fp2", Long)
	wantErr(t, "Begin(other fingerprint) while in progress", err, idempotency.ErrMismatch)
	if err := s.Complete(ctx, "k", c.Token, []byte("r"), Long); err != nil {
		t.Fatal(err)
	}
	_, err = s.Begin(ctx, "k", "fp2", Long)
	wantErr(t, "Begin(other fingerprint) after Complete", err, idempotency.ErrMismatch)
	_, err = s.Begin(ctx, "k", "", Long)
	wantErr(t, "Begin(empty fingerprint) after Complete", err, idempotency.ErrMismatch)
	if d := begin(t, s, "k", "fp1", Long); string(d.Result) != "r" {
		t.Fatalf("Begin(same fingerprint) = %+v; want result %q", d, "r")
	}
}

func testConcurrentSameKey(t *testing.T, s idempotency.Store) {
	const n = 50
	var runs atomic.Int32
	results := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := t.Context()
			end := time.Now().Add(deadline)
			for time.Now().Before(end) {
				c, err := s.Begin(ctx, "shared", "fp", Long)
				switch {
				case err == nil && c.Owned():
					id := runs.Add(1)
					res := fmt.Sprintf("charge-%d", id)
					if err := s.Complete(ctx, "shared", c.Token, []byte(res), Long); err != nil {
						t.Errorf("Complete error = %v", err)
						return
					}
					results[i] = res
					return
				case err == nil:
					results[i] = string(c.Result)
					return
				case errors.Is(err, idempotency.ErrInProgress):
					tm := time.NewTimer(time.Millisecond)
					<-tm.C
				default:
					t.Errorf("Begin error = %v", err)
					return
				}
			}
			t.Errorf("goroutine %d saw no result within %v", i, deadline)
		}()
	}
	wg.Wait()
	if got := runs.Load(); got != 1 {
		t.Fatalf("operation ran %d times; want 1", got)
	}
	for i, r := range results {
		if r != "charge-1" {
			t.Errorf("goroutine %d saw %q; want %q", i, r, "charge-1")
		}
	}
}

func testHolderDies(t *testing.T, s idempotency.Store) {
	ctx := t.Context()
	dead := begin(t, s, "k", "fp", Short)
	var retry idempotency.Claim
	poll(t, "Begin after the holder's lock TTL", func() bool {
		c, err := s.Begin(ctx, "k", "fp", Long)
		if errors.Is(err, idempotency.ErrInProgress) {
			return false
		}
		if err != nil {
			t.Fatalf("Begin error = %v", err)
		}
		retry = c
		return true
	})
	if !retry.Owned() || retry.Token == dead.Token {
		t.Fatalf("retry Begin = %+v; want owned with a new token (dead %d)", retry, dead.Token)
	}
	if err := s.Complete(ctx, "k", retry.Token, []byte("retry"), Long); err != nil {
		t.Fatalf("retry Complete error = %v", err)
	}
	if d := begin(t, s, "k", "fp", Long); string(d.Result) != "retry" {
		t.Fatalf("Begin = %+v; want result %q", d, "retry")
	}
}

func testFenced(t *testing.T, s idempotency.Store) {
	ctx := t.Context()
	stale := begin(t, s, "k", "fp", Short)
	var owner idempotency.Claim
	poll(t, "takeover after the lock TTL", func() bool {
		c, err := s.Begin(ctx, "k", "fp", Long)
		owner = c
		return err == nil
	})
	if !owner.Owned() {
		t.Fatalf("takeover Begin = %+v; want owned", owner)
	}
	wantErr(t, "stale Complete", s.Complete(ctx, "k", stale.Token, []byte("stale"), Long), idempotency.ErrNotHeld)
	wantErr(t, "stale Release", s.Release(ctx, "k", stale.Token), idempotency.ErrNotHeld)
	_, err := s.Begin(ctx, "k", "fp", Long)
	wantErr(t, "Begin after stale calls", err, idempotency.ErrInProgress)
	if err := s.Complete(ctx, "k", owner.Token, []byte("owner"), Long); err != nil {
		t.Fatalf("owner Complete error = %v", err)
	}
	wantErr(t, "stale Complete after owner's", s.Complete(ctx, "k", stale.Token, []byte("stale"), Long), idempotency.ErrNotHeld)
	if d := begin(t, s, "k", "fp", Long); string(d.Result) != "owner" {
		t.Fatalf("Begin = %+v; want the owner's result", d)
	}
}

func testExpiry(t *testing.T, s idempotency.Store) {
	ctx := t.Context()
	c := begin(t, s, "k", "fp", Long)
	if err := s.Complete(ctx, "k", c.Token, []byte("r"), Short); err != nil {
		t.Fatal(err)
	}
	poll(t, "record expiry after retention", func() bool {
		c, err := s.Begin(ctx, "k", "other", Long)
		if errors.Is(err, idempotency.ErrMismatch) {
			return false
		}
		if err != nil || !c.Owned() {
			t.Fatalf("Begin after retention = %+v, %v; want owned", c, err)
		}
		return true
	})
}

func testKeysIndependent(t *testing.T, s idempotency.Store) {
	ctx := t.Context()
	a := begin(t, s, "a", "fp", Long)
	b := begin(t, s, "b", "fp", Long)
	if !a.Owned() || !b.Owned() {
		t.Fatalf("Begin(a), Begin(b) = %+v, %+v; want both owned", a, b)
	}
	wantErr(t, "Complete(b, a's token)", s.Complete(ctx, "b", a.Token, nil, Long), idempotency.ErrNotHeld)
	if err := s.Complete(ctx, "a", a.Token, []byte("A"), Long); err != nil {
		t.Fatal(err)
	}
	if err := s.Complete(ctx, "b", b.Token, []byte("B"), Long); err != nil {
		t.Fatal(err)
	}
	// Keys that might collide in a naive encoding stay apart.
	for _, k := range []string{"{a}", "a:", "a}", "ä", " a", "a\x00"} {
		if c := begin(t, s, k, "fp", Long); !c.Owned() {
			t.Errorf("Begin(%q) = %+v; want owned", k, c)
		}
	}
	if d := begin(t, s, "a", "fp", Long); string(d.Result) != "A" {
		t.Errorf("Begin(a) = %q; want A", d.Result)
	}
}

func testBadInput(t *testing.T, s idempotency.Store) {
	ctx := t.Context()
	_, err := s.Begin(ctx, "", "fp", Long)
	wantErr(t, "Begin(empty key)", err, idempotency.ErrEmptyKey)
	wantErr(t, "Complete(empty key)", s.Complete(ctx, "", 1, nil, Long), idempotency.ErrEmptyKey)
	wantErr(t, "Release(empty key)", s.Release(ctx, "", 1), idempotency.ErrEmptyKey)
	for _, ttl := range []time.Duration{0, -time.Second} {
		_, err = s.Begin(ctx, "k", "fp", ttl)
		wantErr(t, fmt.Sprintf("Begin(lockTTL %v)", ttl), err, idempotency.ErrInvalidTTL)
	}
	c := begin(t, s, "k", "fp", Long)
	wantErr(t, "Complete(retention 0)", s.Complete(ctx, "k", c.Token, nil, 0), idempotency.ErrInvalidTTL)
	huge := make([]byte, idempotency.MaxResultSize+1)
	wantErr(t, "Complete(oversize result)", s.Complete(ctx, "k", c.Token, huge, Long), idempotency.ErrTooLarge)
	// The key is still held, so the owner can store a smaller result.
	if err := s.Complete(ctx, "k", c.Token, []byte("small"), Long); err != nil {
		t.Fatalf("Complete after ErrTooLarge error = %v; want nil", err)
	}
	if d := begin(t, s, "k", "fp", Long); string(d.Result) != "small" {
		t.Fatalf("Begin = %+v; want result %q", d, "small")
	}
}

func testCancelled(t *testing.T, s idempotency.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.Begin(ctx, "k", "fp", Long)
	wantErr(t, "Begin(cancelled)", err, context.Canceled)
	wantErr(t, "Complete(cancelled)", s.Complete(ctx, "k", 1, nil, Long), context.Canceled)
	wantErr(t, "Release(cancelled)", s.Release(ctx, "k", 1), context.Canceled)
	// Nothing was begun by the cancelled call.
	if c := begin(t, s, "k", "fp", Long); !c.Owned() {
		t.Fatalf("Begin after a cancelled Begin = %+v; want owned", c)
	}
}
