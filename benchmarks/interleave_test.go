package benchmarks

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// interleaved times impls in alternation, a block of calls of each per
// round, so that a change in the machine's load falls on all of them alike,
// and reports each one's median time per call over its blocks as
// "<name>-ns/op" (benchtable gives each a row of its own): a block that
// another process's time slice landed in counts once, not by its length.
// Every round runs the impls in a new random order: in a fixed order each
// would always follow the same other, whose wake of the scheduler, the
// server or the caches it would inherit (at -cpu 2 that moved the ratios of
// the Redis workloads by 10-20%). On a shared machine these ratios are
// steadier than those of separate sub-benchmarks. sec/op is the time of one
// round.
func interleaved(b *testing.B, block int, impls []string, call func(impl int)) {
	blocks := make([][]time.Duration, len(impls))
	order := make([]int, len(impls))
	for i := range order {
		order[i] = i
	}
	b.ReportAllocs()
	for b.Loop() {
		rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			start := time.Now()
			for range block {
				call(i)
			}
			blocks[i] = append(blocks[i], time.Since(start))
		}
	}
	for i, name := range impls {
		slices.Sort(blocks[i])
		median := blocks[i][len(blocks[i])/2]
		b.ReportMetric(float64(median.Nanoseconds())/float64(block), name+"-ns/op")
	}
}
