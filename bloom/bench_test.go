package bloom

import (
	"fmt"
	"sync/atomic"
	"testing"
)

// benchKeys returns n distinct 10-byte keys.
func benchKeys(n int) []string {
	ks := make([]string, n)
	for i := range ks {
		ks[i] = fmt.Sprintf("k%09d", i)
	}
	return ks
}

const benchN = 1 << 20

// BenchmarkFilterAdd adds distinct keys, clearing the filter (outside the
// timer) after every benchN of them, so that each Add is a real insert into
// a filter filling up to its capacity. design=atomic-or is Filter.Add (one
// atomic OR per word that lacks bits), design=spinlock the alternative of a
// spin lock per block around atomic stores, and design=unsync Unsync.Add,
// with plain stores.
func BenchmarkFilterAdd(b *testing.B) {
	ks := benchKeys(benchN)
	locks := make([]atomic.Uint32, 4096)
	designs := []struct {
		name string
		add  func(f *Unsync, h uint64)
	}{
		{"atomic-or", func(f *Unsync, h uint64) { f.Filter.AddHash(h) }},
		{"spinlock", func(f *Unsync, h uint64) { f.Filter.addLocked(locks, h) }},
		{"unsync", func(f *Unsync, h uint64) { f.AddHash(h) }},
	}
	for _, d := range designs {
		b.Run("design="+d.name, func(b *testing.B) {
			f := NewUnsync(benchN, 0.01)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if i == benchN {
					b.StopTimer()
					f.Reset()
					i = 0
					b.StartTimer()
				}
				d.add(f, HashString(ks[i]))
				i++
			}
		})
		if d.name == "unsync" {
			continue
		}
		b.Run("design="+d.name+"/parallel", func(b *testing.B) {
			f := NewUnsync(benchN, 0.01)
			var next atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				// Goroutines take runs of 1024 keys. Past benchN keys the
				// filter is full and Adds find their bits set; keep -benchtime
				// near benchN to measure inserts.
				var i, end int64
				for pb.Next() {
					if i == end {
						i = next.Add(1024) - 1024
						end = i + 1024
					}
					d.add(f, HashString(ks[i&(benchN-1)]))
					i++
				}
			})
		})
	}
}

func BenchmarkFilterTest(b *testing.B) {
	ks := benchKeys(benchN)
	f := New(benchN, 0.01)
	for _, k := range ks[:benchN/2] {
		f.AddString(k)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			f.TestString(ks[i&(benchN-1)])
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		var seed atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := int(seed.Add(1) * 7919)
			for pb.Next() {
				f.TestString(ks[i&(benchN-1)])
				i++
			}
		})
	})
}

// BenchmarkScalableTest tests keys of which half were added, on a Scalable
// grown from a hint of 10 000 to benchN (1M) keys at p = 1%, at the default growth
// and at growth 4. It reports the stages and the bits per key.
func BenchmarkScalableTest(b *testing.B) {
	ks := benchKeys(2 * benchN)
	for _, growth := range []int{2, 4} {
		s := NewScalable(10_000, 0.01, WithGrowth(growth))
		for _, k := range ks[:benchN] {
			s.AddString(k)
		}
		// Present and absent keys alternate: i < 2·benchN tests key i/2 of
		// either half.
		test := func(i int) bool { return s.TestString(ks[i>>1+i&1*benchN]) }
		report := func(b *testing.B) {
			b.ReportMetric(float64(s.Stages()), "stages")
			b.ReportMetric(float64(s.bits())/benchN, "bits/key")
		}
		name := fmt.Sprint("growth=", growth)
		b.Run(name+"/serial", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				test(i & (2*benchN - 1))
				i++
			}
			report(b)
		})
		b.Run(name+"/parallel", func(b *testing.B) {
			var seed atomic.Int64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := int(seed.Add(1) * 7919)
				for pb.Next() {
					test(i & (2*benchN - 1))
					i++
				}
			})
			report(b)
		})
	}
}

func BenchmarkMarshalBinary(b *testing.B) {
	f := New(benchN, 0.01)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.MarshalBinary(); err != nil {
			b.Fatal(err)
		}
	}
}
