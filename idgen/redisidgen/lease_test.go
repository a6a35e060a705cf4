package redisidgen

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/distkit/distkit/idgen"
	"github.com/distkit/distkit/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// Short TTLs keep the tests fast; the lead must stay below them.
const (
	ttl  = 300 * time.Millisecond
	lead = 20 * time.Millisecond
)

func acquire(t *testing.T, rdb redis.Scripter, opts ...Option) *Lease {
	t.Helper()
	l, err := Acquire(t.Context(), rdb, append([]Option{WithTTL(ttl), WithMaxLead(lead)}, opts...)...)
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// eventually polls cond until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAcquireGivesDistinctWorkers(t *testing.T) {
	rdb := redistest.Start(t)
	start := time.Now()
	a := acquire(t, rdb)
	if waited := time.Since(start); waited < ttl {
		t.Errorf("first Acquire on an empty Redis returned after %v; want it to wait out the TTL %v", waited, ttl)
	}
	b := acquire(t, rdb)
	c := acquire(t, rdb)
	if a.Worker() != 0 || b.Worker() != 1 || c.Worker() != 2 {
		t.Fatalf("workers = %d, %d, %d; want 0, 1, 2", a.Worker(), b.Worker(), c.Worker())
	}
	id, err := b.Next()
	if err != nil || b.Snowflake().Decode(id).Worker != 1 {
		t.Fatalf("b.Next = %v, %v; want an ID of worker 1", id, err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if _, err := b.Next(); !errors.Is(err, idgen.ErrLeaseLost) {
		t.Fatalf("Next after Close = %v; want ErrLeaseLost", err)
	}
	// Worker 1 stays reserved for the lead, then is free again.
	d := acquire(t, rdb)
	if d.Worker() != 3 {
		t.Fatalf("Acquire right after a release got worker %d; want 3 (1 is reserved for the lead)", d.Worker())
	}
	eventually(t, time.Second, "the released worker's reservation never ended", func() bool {
		n, err := rdb.Exists(t.Context(), "idgen:{workers}:1").Result()
		return err == nil && n == 0
	})
	e := acquire(t, rdb)
	if e.Worker() != 1 {
		t.Fatalf("Acquire after the reservation got worker %d; want 1", e.Worker())
	}
}

func TestAcquireNoFreeWorker(t *testing.T) {
	rdb := redistest.Start(t)
	l := idgen.Layout{TimeBits: 41, WorkerBits: 2, SequenceBits: 20, Epoch: idgen.DefaultEpoch, Tick: time.Millisecond}
	for range 4 {
		acquire(t, rdb, WithLayout(l))
	}
	if _, err := Acquire(t.Context(), rdb, WithLayout(l), WithTTL(ttl), WithMaxLead(lead)); !errors.Is(err, idgen.ErrNoFreeWorker) {
		t.Fatalf("fifth Acquire with 4 workers = %v; want ErrNoFreeWorker", err)
	}
	// Another prefix is another pool.
	if l := acquire(t, rdb, WithLayout(l), WithPrefix("other:")); l.Worker() != 0 {
		t.Fatalf("Acquire with another prefix got worker %d; want 0", l.Worker())
	}
}

func TestAcquireRejectsBadConfiguration(t *testing.T) {
	rdb := redistest.Start(t)
	for name, opts := range map[string][]Option{
		"ttl below lead": {WithTTL(time.Second), WithMaxLead(time.Second)},
		"bad layout":     {WithLayout(idgen.Layout{TimeBits: 1})},
	} {
		if _, err := Acquire(t.Context(), rdb, opts...); !errors.Is(err, idgen.ErrInvalidLayout) {
			t.Errorf("%s: Acquire = %v; want ErrInvalidLayout", name, err)
		}
	}
	future := idgen.DefaultLayout()
	future.Epoch = time.Now().Add(time.Hour)
	if _, err := Acquire(t.Context(), rdb, WithLayout(future), WithTTL(ttl), WithMaxLead(lead)); !errors.Is(err, idgen.ErrInvalidLayout) {
		t.Errorf("epoch in the future: Acquire = %v; want ErrInvalidLayout", err)
	}
	// The worker ID claimed before the generator failed was given back.
	if n, err := rdb.Exists(t.Context(), "idgen:{workers}:0").Result(); err != nil || n != 0 {
		t.Errorf("worker key after a failed Acquire: exists = %d, %v; want released", n, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Acquire(ctx, rdb); !errors.Is(err, context.Canceled) {
		t.Errorf("Acquire with a cancelled context = %v; want context.Canceled", err)
	}
}

func TestLeaseRenews(t *testing.T) {
	rdb := redistest.Start(t)
	l := acquire(t, rdb)
	var prev idgen.ID
	for end := time.Now().Add(3 * ttl); time.Now().Before(end); {
		id, err := l.Next()
		if err != nil || id <= prev {
			t.Fatalf("Next %v into the lease = %v, %v; want a growing ID", time.Until(end), id, err)
		}
		prev = id
		time.Sleep(time.Millisecond)
	}
	if pttl, err := rdb.PTTL(t.Context(), "idgen:{workers}:0").Result(); err != nil || pttl <= 0 || pttl > ttl {
		t.Fatalf("PTTL of the lease key = %v, %v; want within (0, %v]", pttl, err, ttl)
	}
}

// TestPausedHolderStopsBeforeItsWorkerIsTaken stops a holder's renewals, as
// a stopped process or a long pause would, until its key expires and another
// process takes the worker ID. The holder must refuse to issue by then, and
// stay stopped when it comes back.
func TestPausedHolderStopsBeforeItsWorkerIsTaken(t *testing.T) {
	rdb := redistest.Start(t)
	var paused atomic.Bool
	a := acquire(t, rdb, withPaused(paused.Load))
	if _, err := a.Next(); err != nil {
		t.Fatal(err)
	}
	paused.Store(true)
	var b *Lease
	eventually(t, 3*ttl, "the paused holder's worker was never taken over", func() bool {
		l, err := Acquire(t.Context(), rdb, WithTTL(ttl), WithMaxLead(lead))
		if err != nil {
			t.Fatal(err)
		}
		if l.Worker() == a.Worker() {
			b = l
			return true
		}
		l.Close()
		return false
	})
	defer b.Close()
	// The holder comes back: it must not issue anything.
	if id, err := a.Next(); !errors.Is(err, idgen.ErrLeaseLost) {
		t.Fatalf("paused holder's Next after its worker was taken = %v, %v; want ErrLeaseLost", id, err)
	}
	paused.Store(false)
	eventually(t, 2*ttl, "the holder never learned its lease was lost", a.Lost)
	if _, err := a.Next(); !errors.Is(err, idgen.ErrLeaseLost) {
		t.Fatalf("Next after the lease was lost = %v; want ErrLeaseLost", err)
	}
	if _, err := b.Next(); err != nil {
		t.Fatalf("new holder's Next = %v", err)
	}
	// Closing the lost lease must not release the new holder's key.
	a.Close()
	if v, err := rdb.Get(t.Context(), b.key).Result(); err != nil || v != b.token {
		t.Fatalf("key after the old holder's Close = %q, %v; want the new holder's token", v, err)
	}
}

func TestRedisRestart(t *testing.T) {
	for _, aof := range []bool{false, true} {
		t.Run(map[bool]string{false: "volatile", true: "appendonly"}[aof], func(t *testing.T) {
			srv := redistest.StartServer(t, redistest.WithAppendOnly(aof))
			rdb := srv.Client()
			l := acquire(t, rdb)
			if _, err := l.Next(); err != nil {
				t.Fatal(err)
			}
			srv.Restart()
			// The lease is renewed, or claimed again, on the new server.
			eventually(t, 2*ttl, "lease key missing after restart", func() bool {
				v, err := rdb.Get(t.Context(), l.key).Result()
				return err == nil && v == l.token
			})
			if _, err := l.Next(); err != nil || l.Lost() {
				t.Fatalf("Next after restart = %v (lost %v); want an ID", err, l.Lost())
			}
		})
	}
}

// TestDataLossClaimWaits has Redis forget a live lease: a newcomer may claim
// the same worker ID, so it waits a TTL before issuing, and the old holder
// stops when it finds the key taken.
func TestDataLossClaimWaits(t *testing.T) {
	srv := redistest.StartServer(t)
	rdb := srv.Client()
	var paused atomic.Bool
	a := acquire(t, rdb, withPaused(paused.Load))
	paused.Store(true) // keep a from claiming its key back first
	srv.Restart()
	start := time.Now()
	b := acquire(t, rdb)
	if b.Worker() != a.Worker() {
		t.Fatalf("newcomer got worker %d; want the forgotten %d", b.Worker(), a.Worker())
	}
	if waited := time.Since(start); waited < ttl {
		t.Fatalf("Acquire after data loss returned after %v; want at least the TTL %v", waited, ttl)
	}
	if _, err := a.Next(); !errors.Is(err, idgen.ErrLeaseLost) {
		t.Fatalf("old holder's Next once the newcomer issues = %v; want ErrLeaseLost", err)
	}
	paused.Store(false)
	eventually(t, 2*ttl, "old holder never learned its lease was lost", a.Lost)
}

func TestRedisPausedPastTTL(t *testing.T) {
	srv := redistest.StartServer(t)
	rdb := srv.Client()
	l := acquire(t, rdb)
	srv.Pause()
	eventually(t, 3*ttl, "Next kept issuing with Redis unreachable past the TTL", func() bool {
		_, err := l.Next()
		return errors.Is(err, idgen.ErrLeaseLost)
	})
	srv.Resume()
	eventually(t, 3*ttl, "Next did not resume after Redis came back", func() bool {
		_, err := l.Next()
		return err == nil
	})
	if l.Lost() {
		t.Fatal("lease marked lost although nobody else took the worker")
	}
}

// TestWorkersComeAndGo runs processes that lease a worker ID, issue IDs for
// a while and release it or stop renewing (and are paused until their key is
// taken), over a pool of 4 worker IDs, and finds no duplicate.
func TestWorkersComeAndGo(t *testing.T) {
	rdb := redistest.Start(t)
	l := idgen.Layout{TimeBits: 41, WorkerBits: 2, SequenceBits: 20, Epoch: idgen.DefaultEpoch, Tick: time.Millisecond}
	acquire(t, rdb, WithLayout(l)).Close() // pay the first-claim wait once
	var (
		mu  sync.Mutex
		all []idgen.ID
		wg  sync.WaitGroup
	)
	end := time.Now().Add(1500 * time.Millisecond)
	for p := range 6 {
		wg.Go(func() {
			for round := 0; time.Now().Before(end); round++ {
				var paused atomic.Bool
				lease, err := Acquire(t.Context(), rdb, WithLayout(l), WithTTL(ttl), WithMaxLead(lead), withPaused(paused.Load))
				if errors.Is(err, idgen.ErrNoFreeWorker) {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				stall := (p+round)%3 == 0
				var ids []idgen.ID
				for stop := time.Now().Add(time.Duration(50+p*20) * time.Millisecond); time.Now().Before(stop); {
					if stall && !paused.Load() && len(ids) > 1000 {
						paused.Store(true) // stops renewing but keeps trying to issue
					}
					id, err := lease.Next()
					if errors.Is(err, idgen.ErrLeaseLost) {
						continue
					}
					if err != nil {
						t.Error(err)
						return
					}
					ids = append(ids, id)
				}
				lease.Close()
				mu.Lock()
				all = append(all, ids...)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(all)
	for i := 1; i < len(all); i++ {
		if all[i] == all[i-1] {
			t.Fatalf("ID %v issued twice (worker %d)", all[i], l.Decode(all[i]).Worker)
		}
	}
	if len(all) == 0 {
		t.Fatal("no IDs issued")
	}
	t.Logf("%d IDs, no duplicate", len(all))
}

func TestLeaseNextDoesNotAllocate(t *testing.T) {
	l := acquire(t, redistest.Start(t), WithMaxLead(ttl/2))
	if n := testing.AllocsPerRun(1000, func() { l.Next() }); n != 0 {
		t.Errorf("Lease.Next allocates %v times per call; want 0", n)
	}
}

func BenchmarkLeaseNext(b *testing.B) {
	l, err := Acquire(b.Context(), redistest.Start(b), WithTTL(ttl), WithMaxLead(lead))
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Next()
		}
	})
}
