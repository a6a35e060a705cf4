package circuitbreaker

import (
	"context"
	"testing"
	"time"
)

func TestClosedPathDoesNotAllocate(t *testing.T) {
	ctx := context.Background()
	op := func(context.Context) (int, error) { return 1, nil }
	for name, b := range map[string]*Breaker{
		"consecutive": New(),
		"count":       New(WithCountWindow(100, 10), WithFailureRate(1)),
		"time":        New(WithTimeWindow(10*time.Second, 10, 10), WithFailureRate(1)),
		"slow":        New(WithSlowCalls(time.Second, 0.5), WithFailureRate(1)),
	} {
		if name == "slow" && raceEnabled {
			continue // pooled done funcs: the race detector drops pooled items
		}
		if n := testing.AllocsPerRun(100, func() {
			done, _ := b.Allow(ctx)
			done(nil)
			done, _ = b.Allow(ctx)
			done(errFail)
		}); n != 0 {
			t.Errorf("%s: Allow+done allocates %v times; want 0", name, n)
		}
		if n := testing.AllocsPerRun(100, func() { Execute(ctx, b, op) }); n != 0 {
			t.Errorf("%s: Execute allocates %v times; want 0", name, n)
		}
	}
	open := New(WithConsecutiveFailures(1), WithOpenDuration(time.Hour))
	Execute(ctx, open, func(context.Context) (int, error) { return 0, errFail })
	if n := testing.AllocsPerRun(100, func() { open.Allow(ctx); Execute(ctx, open, op) }); n != 0 {
		t.Errorf("open rejection allocates %v times; want 0", n)
	}
}

func benchBreakers() []struct {
	name string
	b    func() *Breaker
} {
	return []struct {
		name string
		b    func() *Breaker
	}{
		{"consecutive", func() *Breaker { return New() }},
		{"countwindow", func() *Breaker { return New(WithCountWindow(100, 10)) }},
		{"timewindow", func() *Breaker { return New(WithTimeWindow(10*time.Second, 10, 10)) }},
	}
}

func BenchmarkAllowSuccess(b *testing.B) {
	ctx := context.Background()
	for _, bc := range benchBreakers() {
		br := bc.b()
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				done, _ := br.Allow(ctx)
				done(nil)
			}
		})
		b.Run(bc.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					done, _ := br.Allow(ctx)
					done(nil)
				}
			})
		})
	}
}

func BenchmarkExecuteSuccess(b *testing.B) {
	ctx := context.Background()
	op := func(context.Context) (int, error) { return 1, nil }
	for _, bc := range benchBreakers() {
		br := bc.b()
		b.Run(bc.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					Execute(ctx, br, op)
				}
			})
		})
	}
}

func BenchmarkOpenReject(b *testing.B) {
	ctx := context.Background()
	br := New(WithConsecutiveFailures(1), WithOpenDuration(time.Hour))
	Execute(ctx, br, func(context.Context) (int, error) { return 0, errFail })
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			br.Allow(ctx)
		}
	})
}
