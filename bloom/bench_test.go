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

func BenchmarkFilterAdd(b *testing.B) {
	ks := benchKeys(benchN)
	b.Run("sync", func(b *testing.B) {
		f := New(benchN, 0.01)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			f.AddString(ks[i&(benchN-1)])
			i++
		}
	})
	b.Run("unsync", func(b *testing.B) {
		f := NewUnsync(benchN, 0.01)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			f.AddString(ks[i&(benchN-1)])
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		f := New(benchN, 0.01)
		var seed atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := int(seed.Add(1) * 7919)
			for pb.Next() {
				f.AddString(ks[i&(benchN-1)])
				i++
			}
		})
	})
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

func BenchmarkScalableTest(b *testing.B) {
	ks := benchKeys(benchN)
	s := NewScalable(10_000, 0.01)
	for _, k := range ks[:benchN/2] {
		s.AddString(k)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			s.TestString(ks[i&(benchN-1)])
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		var seed atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := int(seed.Add(1) * 7919)
			for pb.Next() {
				s.TestString(ks[i&(benchN-1)])
				i++
			}
		})
	})
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
