package idempotencytest_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distkit/distkit/idempotency"
	"github.com/distkit/distkit/idempotency/idempotencytest"
	"github.com/distkit/distkit/internal/suitetest"
)

// A variant is a Store that breaks one promise, and the subtests of the
// suite that must catch it.
type variant struct {
	name string
	set  func(*broken)
	fail []string
}

var variants = []variant{
	{
		name: "never-replays",
		set: func(s *broken) {
			s.complete = func(ctx context.Context, key string, token uint64, _ []byte, _ time.Duration) error {
				return s.Local.Release(ctx, key, token)
			}
		},
		fail: []string{"Lifecycle", "Mismatch", "ConcurrentSameKey", "HolderDies", "Fenced", "KeysIndependent",
			"BadInput", "HTTPExactlyOnce"},
	},
	{
		name: "result-dropped",
		set: func(s *broken) {
			s.begin = func(ctx context.Context, key, fp string, ttl time.Duration) (idempotency.Claim, error) {
				c, err := s.Local.Begin(ctx, key, fp, ttl)
				c.Result = nil
				return c, err
			}
		},
		fail: []string{"Lifecycle", "Mismatch", "ConcurrentSameKey", "HolderDies", "Fenced", "KeysIndependent",
			"BadInput", "HTTPExactlyOnce"},
	},
	{
		name: "replay-refused-as-mismatch",
		set: func(s *broken) {
			s.begin = func(ctx context.Context, key, fp string, ttl time.Duration) (idempotency.Claim, error) {
				c, err := s.Local.Begin(ctx, key, fp, ttl)
				if c.Done {
					return idempotency.Claim{}, idempotency.ErrMismatch
				}
				return c, err
			}
		},
		fail: []string{"Lifecycle", "Mismatch", "ConcurrentSameKey", "HolderDies", "Fenced", "KeysIndependent",
			"BadInput", "HTTPExactlyOnce"},
	},
	{
		name: "tokens-repeat",
		set: func(s *broken) {
			var inner sync.Map // key → the Local's token for it
			localToken := func(key string, token uint64) uint64 {
				if t, ok := inner.Load(key); ok && token == 1 {
					return t.(uint64)
				}
				return token
			}
			s.begin = func(ctx context.Context, key, fp string, ttl time.Duration) (idempotency.Claim, error) {
				c, err := s.Local.Begin(ctx, key, fp, ttl)
				if c.Owned() {
					inner.Store(key, c.Token)
					c.Token = 1
				}
				return c, err
			}
			s.complete = func(ctx context.Context, key string, token uint64, result []byte, retention time.Duration) error {
				return s.Local.Complete(ctx, key, localToken(key, token), result, retention)
			}
			s.release = func(ctx context.Context, key string, token uint64) error {
				return s.Local.Release(ctx, key, localToken(key, token))
			}
		},
		fail: []string{"Release", "HolderDies", "Fenced", "KeysIndependent"},
	},
	{
		name: "complete-fails",
		set: func(s *broken) {
			s.complete = func(context.Context, string, uint64, []byte, time.Duration) error { return errDown }
		},
		fail: []string{"Lifecycle", "Release", "Mismatch", "ConcurrentSameKey", "HolderDies", "Fenced", "Expiry",
			"KeysIndependent", "BadInput", "Cancelled", "HTTPExactlyOnce"},
	},
	{
		name: "result-limit-off-by-one",
		set: func(s *broken) {
			s.complete = func(ctx context.Context, key string, token uint64, result []byte, retention time.Duration) error {
				if len(result) >= idempotency.MaxResultSize {
					return idempotency.ErrTooLarge
				}
				return s.Local.Complete(ctx, key, token, result, retention)
			}
		},
		fail: []string{"Lifecycle"},
	},
	{
		name: "braces-stripped",
		set: func(s *broken) {
			strip := strings.NewReplacer("{", "", "}", "").Replace
			s.begin = func(ctx context.Context, key, fp string, ttl time.Duration) (idempotency.Claim, error) {
				return s.Local.Begin(ctx, strip(key), fp, ttl)
			}
			s.complete = func(ctx context.Context, key string, token uint64, result []byte, retention time.Duration) error {
				return s.Local.Complete(ctx, strip(key), token, result, retention)
			}
			s.release = func(ctx context.Context, key string, token uint64) error {
				return s.Local.Release(ctx, strip(key), token)
			}
		},
		fail: []string{"KeysIndependent"},
	},
}

// TestBrokenStores runs the suite against each variant in a child process
// and checks that it fails where it should.
func TestBrokenStores(t *testing.T) {
	var cases []suitetest.Case
	for _, v := range variants {
		cases = append(cases, suitetest.Case{Name: v.name, Fail: v.fail, Suite: func(t *testing.T) {
			idempotencytest.Run(t, func(*testing.T) idempotency.Store {
				s := &broken{Local: idempotency.NewLocal()}
				v.set(s)
				return s
			})
		}})
	}
	suitetest.Run(t, cases...)
}

var errDown = errors.New("store unavailable")

// broken is a Store over a Local with some of its methods replaced: those
// whose field is set.
type broken struct {
	*idempotency.Local
	begin    func(ctx context.Context, key, fingerprint string, lockTTL time.Duration) (idempotency.Claim, error)
	complete func(ctx context.Context, key string, token uint64, result []byte, retention time.Duration) error
	release  func(ctx context.Context, key string, token uint64) error
}

func (s *broken) Begin(ctx context.Context, key, fingerprint string, lockTTL time.Duration) (idempotency.Claim, error) {
	if s.begin != nil {
		return s.begin(ctx, key, fingerprint, lockTTL)
	}
	return s.Local.Begin(ctx, key, fingerprint, lockTTL)
}

func (s *broken) Complete(ctx context.Context, key string, token uint64, result []byte, retention time.Duration) error {
	if s.complete != nil {
		return s.complete(ctx, key, token, result, retention)
	}
	return s.Local.Complete(ctx, key, token, result, retention)
}

func (s *broken) Release(ctx context.Context, key string, token uint64) error {
	if s.release != nil {
		return s.release(ctx, key, token)
	}
	return s.Local.Release(ctx, key, token)
}
