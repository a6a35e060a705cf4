package hashring

import (
	"fmt"
	"strconv"
	"testing"
)

var benchKeys = func() []string {
	keys := make([]string, 1<<12)
	for i := range keys {
		keys[i] = "user:" + strconv.Itoa(i*7919)
	}
	return keys
}()

func BenchmarkLookup(b *testing.B) {
	for _, m := range modes {
		for _, n := range []int{10, 100} {
			p := build(b, m, nodeNames(n))
			b.Run(fmt.Sprintf("mode=%s/nodes=%d", m.name, n), func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					p.Lookup(benchKeys[i&(len(benchKeys)-1)])
					i++
				}
			})
			b.Run(fmt.Sprintf("mode=%s/nodes=%d/parallel", m.name, n), func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						p.Lookup(benchKeys[i&(len(benchKeys)-1)])
						i++
					}
				})
			})
		}
	}
}

func BenchmarkRingLookupBytes(b *testing.B) {
	r := build(b, modes[0], nodeNames(100)).(*Ring)
	key := []byte("user:1234")
	b.ReportAllocs()
	for b.Loop() {
		r.LookupBytes(key)
	}
}

func BenchmarkRingAppendN(b *testing.B) {
	r := build(b, modes[0], nodeNames(100)).(*Ring)
	dst := make([]string, 0, 3)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		dst = r.AppendN(dst[:0], benchKeys[i&(len(benchKeys)-1)], 3)
		i++
	}
}

func BenchmarkBoundedAcquireRelease(b *testing.B) {
	r := build(b, modes[0], nodeNames(100)).(*Ring)
	bd, _ := NewBounded(r, 1.25)
	for _, k := range benchKeys {
		bd.Acquire(k)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		n, _ := bd.Acquire(benchKeys[i&(len(benchKeys)-1)])
		bd.Release(n)
		i++
	}
}

// BenchmarkBuild measures building each Picker for 100 nodes in one Add.
func BenchmarkBuild(b *testing.B) {
	names := nodeNames(100)
	for _, m := range modes {
		b.Run("mode="+m.name+"/nodes=100", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m.new().Add(names...)
			}
		})
	}
}

// BenchmarkMembershipChange measures one node leaving and joining a
// 100-node Picker: two snapshots built and published.
func BenchmarkMembershipChange(b *testing.B) {
	for _, m := range modes {
		p := build(b, m, nodeNames(100))
		b.Run("mode="+m.name+"/nodes=100", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Remove("node-42")
				p.Add("node-42")
			}
		})
	}
}

// BenchmarkRingOptions reports, for points per node (v) and probes (k),
// the max/average load over a million keys, the ring's memory and the
// lookup time: the measurements behind DefaultVirtualNodes and
// DefaultProbes. Run it with -benchtime 1x.
func BenchmarkRingOptions(b *testing.B) {
	keys := allKeys()
	for _, n := range []int{10, 100} {
		for _, v := range []int{64, 128, 256, 512, 1024} {
			for _, k := range []int{1, 2, 3, 4} {
				r := New(WithVirtualNodes(v), WithProbes(k))
				r.Add(nodeNames(n)...)
				b.Run(fmt.Sprintf("nodes=%d/v=%d/k=%d", n, v, k), func(b *testing.B) {
					ratio, _ := maxOverAvg(assign(b, r, keys), n)
					s := r.state.Load()
					i := 0
					for b.Loop() {
						r.Lookup(benchKeys[i&(len(benchKeys)-1)])
						i++
					}
					// After the loop: b.Loop resets the timer, which drops
					// metrics reported earlier.
					b.ReportMetric(ratio, "max/avg")
					b.ReportMetric(float64(len(s.points)*8+len(s.index)*4)/1024, "KiB")
				})
			}
		}
	}
}
