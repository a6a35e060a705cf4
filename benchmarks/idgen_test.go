package benchmarks

import (
	"testing"
	"time"

	"github.com/bwmarrin/snowflake"
	"github.com/distkit/distkit/idgen"
	"github.com/google/uuid"
	"github.com/oklog/ulid/v2"
	"github.com/rs/xid"
	"github.com/sony/sonyflake"
)

// The ID benchmarks run b.RunParallel, so -cpu 1,2 measures one goroutine
// and two goroutines sharing one generator:
//
//	go test -run '^$' -bench 'IDGen' -cpu 1,2 -count 5 | tee /tmp/idgen.txt
//	benchstat -col /impl /tmp/idgen.txt
//
// BenchmarkIDGenNext is the cost of one ID. distkit's generator gets a lead
// of an hour so that the 4.096M/s cap of its layout never makes it wait;
// bwmarrin/snowflake and sonyflake wait at their caps by design (ns/op of at
// least 244 ns and 39 µs), and rs/xid, oklog/ulid and google/uuid (v7) have
// no cap but are not 64-bit snowflake IDs.
//
// BenchmarkIDGenSustained runs each snowflake generator past any burst
// allowance (distkit's lead, 20 ms here, is used up first) and reports the rate it sustains, ids/s, and that rate as a
// fraction of its layout's cap, cap-fraction. BenchmarkIDGenWide does the
// same with a 41/8/14 layout (16.384M/s cap).

const defaultCap = 4096e3 // IDs per second for 12 sequence bits of 1 ms

func parallel(b *testing.B, next func()) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			next()
		}
	})
}

func reportRate(b *testing.B, capPerSec float64) {
	rate := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "ids/s")
	b.ReportMetric(rate/capPerSec, "cap-fraction")
}

func newDistkit(b *testing.B, opts ...idgen.Option) *idgen.Snowflake {
	g, err := idgen.New(1, opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { g.Close() })
	return g
}

func newBwmarrin(b *testing.B, nodeBits, stepBits uint8) *snowflake.Node {
	// bwmarrin/snowflake's layout is global: set it, make the node, restore.
	defer func(n, s uint8) { snowflake.NodeBits, snowflake.StepBits = n, s }(snowflake.NodeBits, snowflake.StepBits)
	snowflake.NodeBits, snowflake.StepBits = nodeBits, stepBits
	n, err := snowflake.NewNode(1)
	if err != nil {
		b.Fatal(err)
	}
	return n
}

func newSonyflake(b *testing.B) *sonyflake.Sonyflake {
	sf, err := sonyflake.New(sonyflake.Settings{MachineID: func() (uint16, error) { return 1, nil }})
	if err != nil {
		b.Fatal(err)
	}
	return sf
}

// drain uses up g's lead, so that what follows runs at the sustained rate.
// It gives up after 500 ms: a generator that cannot reach its cap has no
// lead to use up.
func drain(g *idgen.Snowflake, lead time.Duration) {
	deadline := time.Now().Add(500 * time.Millisecond)
	for i := 0; ; i++ {
		id, err := g.Next()
		if err != nil || time.Until(g.Decode(id).Time) >= lead-2*g.Layout().Tick {
			return
		}
		if i%1024 == 0 && time.Now().After(deadline) {
			return
		}
	}
}

// sustainLead is the lead of the sustained benchmarks: short, so that it is
// used up quickly even where Next is barely faster than the cap. The rate a
// generator sustains does not depend on its lead once the lead exceeds the
// timer's oversleep (a tick or two); the 1 s default only lets longer bursts
// through without waiting.
const sustainLead = 20 * time.Millisecond

// sustained runs the benchmark on g after draining its lead once.
func sustained(b *testing.B, name string, capPerSec float64, opts ...idgen.Option) {
	g := newDistkit(b, append(opts, idgen.WithMaxLead(sustainLead))...)
	drained := false
	b.Run(name, func(b *testing.B) {
		if !drained {
			drain(g, sustainLead)
			drained = true
			b.ResetTimer()
		}
		parallel(b, func() { g.Next() })
		reportRate(b, capPerSec)
	})
}

func BenchmarkIDGenNext(b *testing.B) {
	b.Run("impl=distkit", func(b *testing.B) {
		g := newDistkit(b, idgen.WithMaxLead(time.Hour))
		parallel(b, func() { g.Next() })
	})
	b.Run("impl=distkit-coarse", func(b *testing.B) {
		g := newDistkit(b, idgen.WithMaxLead(time.Hour), idgen.WithCoarseClock(true))
		parallel(b, func() { g.Next() })
	})
	b.Run("impl=bwmarrin", func(b *testing.B) {
		n := newBwmarrin(b, 10, 12)
		parallel(b, func() { n.Generate() })
	})
	b.Run("impl=sonyflake", func(b *testing.B) {
		sf := newSonyflake(b)
		parallel(b, func() { sf.NextID() })
	})
	b.Run("impl=xid", func(b *testing.B) {
		parallel(b, func() { xid.New() })
	})
	b.Run("impl=ulid", func(b *testing.B) {
		parallel(b, func() { ulid.Make() })
	})
	b.Run("impl=uuidv7", func(b *testing.B) {
		parallel(b, func() { uuid.NewV7() })
	})
}

// BenchmarkIDGenClockFloor is the cost of the clock read every precise Next
// makes, time.Since on a monotonic base: the floor of impl=distkit's ns/op.
func BenchmarkIDGenClockFloor(b *testing.B) {
	b.Run("impl=time.Since", func(b *testing.B) {
		base := time.Now()
		parallel(b, func() { _ = time.Since(base) })
	})
}

func BenchmarkIDGenSustained(b *testing.B) {
	sustained(b, "impl=distkit", defaultCap)
	sustained(b, "impl=distkit-coarse", defaultCap, idgen.WithCoarseClock(true))
	b.Run("impl=bwmarrin", func(b *testing.B) {
		n := newBwmarrin(b, 10, 12)
		parallel(b, func() { n.Generate() })
		reportRate(b, defaultCap)
	})
	b.Run("impl=sonyflake", func(b *testing.B) {
		sf := newSonyflake(b)
		parallel(b, func() { sf.NextID() })
		reportRate(b, 25600)
	})
}

func BenchmarkIDGenWide(b *testing.B) {
	wide := idgen.Layout{TimeBits: 41, WorkerBits: 8, SequenceBits: 14, Epoch: idgen.DefaultEpoch, Tick: time.Millisecond}
	const wideCap = 16384e3
	sustained(b, "impl=distkit", wideCap, idgen.WithLayout(wide))
	sustained(b, "impl=distkit-coarse", wideCap, idgen.WithLayout(wide), idgen.WithCoarseClock(true))
	b.Run("impl=bwmarrin", func(b *testing.B) {
		n := newBwmarrin(b, 8, 14)
		parallel(b, func() { n.Generate() })
		reportRate(b, wideCap)
	})
}
