package redisidgen

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/distkit/distkit/idgen"
	"github.com/redis/go-redis/v9"
)

// claimScript sets the first free worker key NX with a TTL, scanning the
// worker IDs in one round trip. KEYS[1] is the marker of the data set;
// ARGV: key prefix, max worker, token, TTL in ms. It returns {worker, fresh},
// worker -1 when none is free, fresh 1 when the marker was missing.
var claimScript = redis.NewScript(`
local fresh = 0
if redis.call('SET', KEYS[1], '1', 'NX') then fresh = 1 end
for i = 0, tonumber(ARGV[2]) do
	if redis.call('SET', ARGV[1] .. i, ARGV[3], 'NX', 'PX', ARGV[4]) then
		return {i, fresh}
	end
end
return {-1, fresh}
`)

// renewScript extends the lease KEYS[1] held with token ARGV[1] to ARGV[2] ms.
// A missing key (expired while its holder could not renew, or lost by Redis)
// is claimed again. KEYS[2] is the marker, set again if Redis lost it: no
// claimant has then seen the data set since the loss. It returns 1 when held,
// 2 when claimed again, 0 when another token holds the key.
var renewScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
	redis.call('PEXPIRE', KEYS[1], ARGV[2])
	return 1
end
if not v then
	redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
	redis.call('SET', KEYS[2], '1', 'NX')
	return 2
end
return 0
`)

// releaseScript lets the lease KEYS[1] held with token ARGV[1] expire in
// ARGV[2] ms, or deletes it when that is 0.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(ARGV[2]) > 0 then
	redis.call('PEXPIRE', KEYS[1], ARGV[2])
else
	redis.call('DEL', KEYS[1])
end
return 1
`)

// An Option configures Acquire.
type Option func(*config)

type config struct {
	prefix  string
	ttl     time.Duration
	layout  idgen.Layout
	lead    time.Duration
	genOpts []idgen.Option
	paused  func() bool
}

// WithPrefix sets the prefix of the keys: a worker ID n is held by the key
// prefix+"{workers}:"+n. Processes that share worker IDs share the prefix.
// Default: "idgen:".
func WithPrefix(p string) Option { return func(c *config) { c.prefix = p } }

// WithTTL sets the lease's time to live; it is renewed every ttl/3. It must
// exceed the maximum lead plus a tick, and the generator stops ttl - lead -
// tick after the last renewal it saw succeed. Default: 10 seconds.
func WithTTL(ttl time.Duration) Option { return func(c *config) { c.ttl = ttl } }

// WithLayout sets the layout of the generator; Acquire picks a worker ID in
// 0..l.MaxWorker(). Default: idgen.DefaultLayout().
func WithLayout(l idgen.Layout) Option { return func(c *config) { c.layout = l } }

// WithMaxLead sets the generator's maximum lead (see idgen.WithMaxLead),
// which the lease needs to know to stop the generator in time. Default: 1
// second.
func WithMaxLead(d time.Duration) Option { return func(c *config) { c.lead = d } }

// WithGeneratorOptions passes options to idgen.New; the layout and maximum
// lead set through WithLayout and WithMaxLead take precedence.
func WithGeneratorOptions(opts ...idgen.Option) Option {
	return func(c *config) { c.genOpts = append(c.genOpts, opts...) }
}

// A Lease holds a worker ID in Redis and issues IDs for it. It is safe for
// concurrent use by multiple goroutines. It renews itself in a goroutine
// until Close; call Close when done.
type Lease struct {
	rdb    redis.Scripter
	key    string
	marker string
	token  string
	worker int64
	ttl    time.Duration
	lead   time.Duration
	margin time.Duration // lead plus a tick: IDs of the last tick may run past it
	gen    *idgen.Snowflake
	paused func() bool // tests: the holder is stopped and renews nothing

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error

	renewed, reclaimed, renewFailed, lapses atomic.Uint64

	mu   sync.Mutex
	lost bool // another process holds the worker ID; guarded by mu
}

// Stats is a snapshot of a Lease's counters since Acquire.
type Stats struct {
	// Renewed counts renewals that Redis confirmed.
	Renewed uint64
	// Reclaimed counts the renewals among them that found the worker ID's
	// key gone (it expired while the holder could not renew, or Redis lost
	// it) and claimed it again.
	Reclaimed uint64
	// RenewFailed counts renewals that failed: Redis returned an error, or
	// did not answer within a third of the TTL (a deadline go-redis applies
	// only with ContextTimeoutEnabled; otherwise its ReadTimeout does). If
	// they go on, the generator stops by itself.
	RenewFailed uint64
	// Lapses counts the times the generator stopped (Next returned
	// idgen.ErrLeaseLost) because no renewal had succeeded in time. A lapse
	// counts once, when the renewal in flight at the time comes back, and
	// ends with the next successful renewal.
	Lapses uint64
	// Lost reports whether the lease is lost for good, as Lost does.
	Lost bool
	// Generator is the Stats of the lease's generator.
	Generator idgen.Stats
}

// Stats returns a snapshot of the lease's counters and its generator's. It
// does no I/O and is safe to call concurrently.
func (l *Lease) Stats() Stats {
	return Stats{
		Renewed:     l.renewed.Load(),
		Reclaimed:   l.reclaimed.Load(),
		RenewFailed: l.renewFailed.Load(),
		Lapses:      l.lapses.Load(),
		Lost:        l.Lost(),
		Generator:   l.gen.Stats(),
	}
}

var _ idgen.Generator = (*Lease)(nil)

// Acquire claims the lowest free worker ID in one round trip and returns a
// Lease issuing IDs for it, renewed in the background until Close. If Redis
// has lost its data since the last claim (or on the very first claim),
// Acquire waits one TTL before returning so that no earlier holder can still
// be issuing. It returns idgen.ErrNoFreeWorker when every worker ID is held,
// an error wrapping idgen.ErrInvalidLayout for an invalid layout or a TTL not
// above the maximum lead, and wraps Redis errors and ctx's error.
func Acquire(ctx context.Context, rdb redis.Scripter, opts ...Option) (*Lease, error) {
	c := config{prefix: "idgen:", ttl: 10 * time.Second, layout: idgen.DefaultLayout(), lead: time.Second}
	for _, o := range opts {
		o(&c)
	}
	if err := c.layout.Validate(); err != nil {
		return nil, err
	}
	if c.ttl <= c.lead+c.layout.Tick || c.ttl < 3*time.Millisecond {
		return nil, fmt.Errorf("%w: redisidgen: ttl %v must exceed the max lead %v plus a tick, and 3ms", idgen.ErrInvalidLayout, c.ttl, c.lead)
	}
	var tok [16]byte
	rand.Read(tok[:])
	l := &Lease{
		rdb:    rdb,
		marker: c.prefix + "{workers}:marker",
		token:  hex.EncodeToString(tok[:]),
		ttl:    c.ttl,
		lead:   c.lead,
		margin: c.lead + c.layout.Tick,
		paused: c.paused,
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	sent := time.Now()
	res, err := claimScript.Run(ctx, rdb, []string{l.marker},
		c.prefix+"{workers}:", c.layout.MaxWorker(), l.token, c.ttl.Milliseconds()).Int64Slice()
	if err != nil {
		return nil, fmt.Errorf("redisidgen: claim: %w", err)
	}
	if res[0] < 0 {
		return nil, idgen.ErrNoFreeWorker
	}
	l.worker = res[0]
	l.key = c.prefix + "{workers}:" + strconv.FormatInt(l.worker, 10)
	gen, err := idgen.New(l.worker, append(c.genOpts, idgen.WithLayout(c.layout), idgen.WithMaxLead(c.lead))...)
	if err != nil {
		l.release(context.WithoutCancel(ctx), 0) // nothing was issued
		return nil, err
	}
	l.gen = gen
	expiry := sent.Add(c.ttl - l.margin)
	gen.SetExpiry(expiry)
	go l.renew(expiry)
	if res[1] == 1 {
		// Redis has no memory of earlier holders: wait until any of them
		// has stopped, while renewing.
		t := time.NewTimer(c.ttl + c.layout.Tick)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			l.Close()
			return nil, fmt.Errorf("redisidgen: waiting out earlier holders: %w", ctx.Err())
		}
	}
	return l, nil
}

// Worker returns the leased worker ID.
func (l *Lease) Worker() int64 { return l.worker }

// Snowflake returns the lease's generator, for Decode and Layout. Its Next
// stops with idgen.ErrLeaseLost when the lease does.
func (l *Lease) Snowflake() *idgen.Snowflake { return l.gen }

// Next returns a new ID from the lease's generator, as idgen.Snowflake.Next
// does. It returns idgen.ErrLeaseLost when the lease has not been renewed in
// time (until a renewal succeeds), when another process holds the worker ID,
// and after Close. It allocates nothing and does no I/O.
func (l *Lease) Next() (idgen.ID, error) { return l.gen.Next() }

// Lost reports whether the lease is lost for good: another process holds
// the worker ID.
func (l *Lease) Lost() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost
}

// renew renews the lease every third of its TTL until Close; expiry is the
// generator's expiry, set by the last successful claim or renewal.
func (l *Lease) renew(expiry time.Time) {
	defer close(l.done)
	interval := l.ttl / 3
	t := time.NewTicker(interval)
	defer t.Stop()
	lapsed := false
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		if l.paused != nil && l.paused() {
			continue
		}
		sent := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), interval)
		held, err := renewScript.Run(ctx, l.rdb, []string{l.key, l.marker}, l.token, l.ttl.Milliseconds()).Int()
		cancel()
		if !lapsed && !time.Now().Before(expiry) {
			// The generator stopped before this renewal came back.
			lapsed = true
			l.lapses.Add(1)
		}
		if err != nil {
			l.renewFailed.Add(1)
			continue // the generator stops by itself if this lasts
		}
		if held == 0 {
			l.gen.SetExpiry(time.Time{})
			l.mu.Lock()
			l.lost = true
			l.mu.Unlock()
			return
		}
		l.renewed.Add(1)
		if held == 2 {
			l.reclaimed.Add(1)
		}
		expiry, lapsed = sent.Add(l.ttl-l.margin), false
		l.gen.SetExpiry(expiry)
	}
}

// Release stops renewing, stops the generator and releases the worker ID:
// it stays reserved for the maximum lead, then is free. It is Close with a
// context; a second call does nothing and returns the first's result.
func (l *Lease) Release(ctx context.Context) error {
	l.closeOnce.Do(func() {
		close(l.stop)
		<-l.done
		l.gen.SetExpiry(time.Time{})
		l.gen.Close()
		if l.Lost() {
			return
		}
		l.closeErr = l.release(ctx, l.margin)
	})
	return l.closeErr
}

func (l *Lease) release(ctx context.Context, reserve time.Duration) error {
	if err := releaseScript.Run(ctx, l.rdb, []string{l.key}, l.token, (reserve + time.Millisecond - 1).Milliseconds()).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("redisidgen: release %q: %w", l.key, err)
	}
	return nil
}

// Close is Release(context.Background()): the client's own timeouts bound
// it. It is safe to call more than once.
func (l *Lease) Close() error { return l.Release(context.Background()) }
