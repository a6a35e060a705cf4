package redisidgen

import (
	"errors"
	"testing"
	"time"

	"github.com/distkit/distkit/idgen"
	"github.com/distkit/distkit/internal/redistest"
	"github.com/redis/go-redis/v9"
)

func TestStats(t *testing.T) {
	srv := redistest.StartServer(t)
	opts := srv.Options()
	opts.ContextTimeoutEnabled = true // renewals time out on a paused server
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	// 4 IDs per tick, so that a short burst borrows ticks.
	layout := idgen.Layout{TimeBits: 41, WorkerBits: 20, SequenceBits: 2, Epoch: idgen.DefaultEpoch, Tick: time.Millisecond}
	l := acquire(t, rdb, WithLayout(layout))
	// The first claim on an empty Redis waits out a TTL, renewing.
	if got := l.Stats(); got.Reclaimed != 0 || got.RenewFailed != 0 || got.Lapses != 0 || got.Lost {
		t.Errorf("Stats after Acquire = %+v; want only renewals", got)
	}
	for range 20 {
		if _, err := l.Next(); err != nil {
			t.Fatal(err)
		}
	}
	if got, gen := l.Stats().Generator, l.Snowflake().Stats(); got.BorrowedTicks == 0 || got.BorrowedTicks != gen.BorrowedTicks {
		t.Errorf("Stats().Generator = %+v; want the generator's Stats %+v, with borrowed ticks", got, gen)
	}
	eventually(t, 2*ttl, "no renewal counted", func() bool { return l.Stats().Renewed >= 2 })
	if got := l.Stats(); got.Reclaimed != 0 || got.RenewFailed != 0 || got.Lapses != 0 || got.Lost {
		t.Errorf("Stats after renewals = %+v; want only renewals", got)
	}

	// Redis forgets the key: the next renewal claims it again.
	srv.Restart()
	// (A slow restart may also make the generator lapse.)
	eventually(t, 3*ttl, "no reclaim counted after a restart", func() bool { return l.Stats().Reclaimed == 1 })
	lapses := l.Stats().Lapses
	if got := l.Stats(); got.Lost {
		t.Errorf("Stats after a reclaim = %+v; want not lost", got)
	}

	// Redis stops answering past the TTL: renewals fail and the generator
	// lapses, once, until a renewal succeeds again.
	srv.Pause()
	eventually(t, 3*ttl, "Next kept issuing with Redis unreachable past the TTL", func() bool {
		_, err := l.Next()
		return errors.Is(err, idgen.ErrLeaseLost)
	})
	srv.Resume()
	before := l.Stats().Renewed
	eventually(t, 3*ttl, "no renewal after Redis came back", func() bool { return l.Stats().Renewed > before })
	if got := l.Stats(); got.RenewFailed == 0 || got.Lapses != lapses+1 || got.Lost {
		t.Errorf("Stats after a pause past the TTL = %+v; want failed renewals, %d lapses, not lost", got, lapses+1)
	}

	// Another process holds the key: the lease is lost for good.
	if err := rdb.Set(t.Context(), l.key, "someone else", ttl).Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*ttl, "the lease was never lost", func() bool { return l.Stats().Lost })
	if _, err := l.Next(); !errors.Is(err, idgen.ErrLeaseLost) {
		t.Errorf("Next after the loss = %v; want ErrLeaseLost", err)
	}
}
