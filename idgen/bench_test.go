package idgen

import (
	"testing"
	"time"
)

func BenchmarkNext(b *testing.B) {
	for _, coarse := range []bool{false, true} {
		name := "clock=precise"
		if coarse {
			name = "clock=coarse"
		}
		b.Run(name, func(b *testing.B) {
			s, err := New(1, WithCoarseClock(coarse), WithMaxLead(time.Hour))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			b.ReportAllocs()
			for b.Loop() {
				s.Next()
			}
		})
		b.Run(name+"/parallel", func(b *testing.B) {
			s, err := New(1, WithCoarseClock(coarse), WithMaxLead(time.Hour))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					s.Next()
				}
			})
		})
	}
}

func BenchmarkNextAt(b *testing.B) {
	s, _ := New(1, WithMaxLead(time.Hour))
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		s.NextAt(now)
	}
}

func BenchmarkForms(b *testing.B) {
	id := ID(387167047680028675)
	buf := make([]byte, 0, 32)
	b.Run("AppendBase32", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = id.AppendBase32(buf[:0])
		}
	})
	b.Run("AppendBase58", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = id.AppendBase58(buf[:0])
		}
	})
	b.Run("ParseBase58", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ParseBase58("1tpCwEyGKLv")
		}
	})
	b.Run("Decode/parallel", func(b *testing.B) {
		l := DefaultLayout()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				l.Decode(id)
			}
		})
	})
}
