package idgen_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/distkit/distkit/idgen"
)

func Example() {
	g, err := idgen.New(42) // worker 42, default layout: 41/10/12 bits at 1 ms
	if err != nil {
		panic(err)
	}
	a, _ := g.Next()
	b, _ := g.Next()
	p := g.Decode(b)
	fmt.Println(a < b, p.Worker, time.Since(p.Time) < time.Minute)
	// Output: true 42 true
}

func ExampleLayout_Decode() {
	l := idgen.DefaultLayout()
	id, _ := l.Compose(time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC), 7, 3)
	p := l.Decode(id)
	fmt.Println(id)
	fmt.Println(p.Time, p.Worker, p.Sequence)
	// Output:
	// 384855913267228675
	// 2026-11-28 00:00:00 +0000 UTC 7 3
}

func ExampleID_forms() {
	id := idgen.ID(384855913267228675)
	fmt.Println(id.String(), id.Base32(), id.Base58(), id.Base36())
	b32, _ := idgen.ParseBase32(id.Base32())
	b58, _ := idgen.ParseBase58(id.Base58())
	b36, _ := idgen.ParseBase36(id.Base36())
	fmt.Println(b32 == id, b58 == id, b36 == id)
	_, err := idgen.ParseBase58("0OIl")
	fmt.Println(err)
	// Output:
	// 384855913267228675 0ANT8D8000W03 1tpCwEyGKLv 2x9g19sq3a4j
	// true true true
	// idgen: invalid id: base58 "0OIl": invalid character '0' at offset 0
}

func ExampleID_MarshalJSON() {
	type order struct {
		ID    idgen.ID        `json:"id"`    // a string: safe in JavaScript
		Batch idgen.NumericID `json:"batch"` // a number
	}
	b, _ := json.Marshal(order{ID: 384855913267228675, Batch: 12})
	fmt.Println(string(b))
	// Output: {"id":"384855913267228675","batch":12}
}

func ExampleWithLayout() {
	// A wider sequence for bursty generators: 16,384 IDs per ms, 256 workers.
	wide := idgen.Layout{TimeBits: 41, WorkerBits: 8, SequenceBits: 14, Epoch: idgen.DefaultEpoch, Tick: time.Millisecond}
	g, err := idgen.New(3, idgen.WithLayout(wide), idgen.WithMaxLead(100*time.Millisecond))
	if err != nil {
		panic(err)
	}
	id, _ := g.Next()
	fmt.Println(g.Decode(id).Worker, g.Layout().MaxSequence()+1)
	// Output: 3 16384
}

func ExampleNew_errors() {
	_, err := idgen.New(5000)
	fmt.Println(err)
	_, err = idgen.New(1, idgen.WithLayout(idgen.Layout{TimeBits: 41, WorkerBits: 10, SequenceBits: 13, Epoch: idgen.DefaultEpoch, Tick: time.Millisecond}))
	fmt.Println(err)
	// Output:
	// idgen: worker id out of range: worker 5000; want 0..1023 for 10 worker bits
	// idgen: invalid layout: time+worker+sequence bits = 41+10+13 = 64; want 63
}

// A burst that uses up a tick's sequence borrows the following ticks (up to
// MaxLead ahead of the clock) instead of waiting; Stats counts such rare
// events, never the IDs themselves.
func ExampleSnowflake_Stats() {
	// 2 sequence bits: 4 IDs per 1 ms tick, so that 10 IDs borrow 2 ticks.
	layout := idgen.Layout{TimeBits: 41, WorkerBits: 20, SequenceBits: 2, Epoch: idgen.DefaultEpoch, Tick: time.Millisecond}
	g, err := idgen.New(1, idgen.WithLayout(layout), idgen.WithMaxLead(time.Second))
	if err != nil {
		panic(err)
	}
	now := time.Now()
	for range 10 {
		g.NextAt(now)
	}
	s := g.Stats()
	fmt.Println("borrowed ticks:", s.BorrowedTicks, "waits:", s.Waits, "exhausted:", s.Exhausted)
	// Output: borrowed ticks: 2 waits: 0 exhausted: 0
}
