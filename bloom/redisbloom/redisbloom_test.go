package redisbloom

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/distkit/distkit/bloom"
	"github.com/distkit/distkit/internal/redistest"
)

func keys(prefix string, n int) []string {
	ks := make([]string, n)
	for i := range ks {
		ks[i] = prefix + strconv.Itoa(i)
	}
	return ks
}

func TestAddTest(t *testing.T) {
	ctx := t.Context()
	f := New(redistest.Start(t), "urls", 10_000, 0.01)
	if ok, err := f.Test(ctx, "a"); err != nil || ok {
		t.Fatalf("Test on an empty filter = %v, %v; want false, nil", ok, err)
	}
	if err := f.Add(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if ok, err := f.Test(ctx, "a"); err != nil || !ok {
		t.Fatalf("Test after Add = %v, %v; want true, nil", ok, err)
	}
	if ok, err := f.TestAndAdd(ctx, "b"); err != nil || ok {
		t.Fatalf("first TestAndAdd = %v, %v; want false, nil", ok, err)
	}
	if ok, err := f.TestAndAdd(ctx, "b"); err != nil || !ok {
		t.Fatalf("second TestAndAdd = %v, %v; want true, nil", ok, err)
	}
}

func TestBatches(t *testing.T) {
	ctx := t.Context()
	f := New(redistest.Start(t), "urls", 10_000, 0.01)
	in, out := keys("in", 3000), keys("out", 3000)
	for i := 0; i < len(in); i += 100 {
		if err := f.AddMany(ctx, in[i:i+100]); err != nil {
			t.Fatal(err)
		}
	}
	got, err := f.TestMany(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	for i, ok := range got {
		if !ok {
			t.Fatalf("TestMany: %q = false after AddMany; want true", in[i])
		}
	}
	got, err = f.TestMany(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	fp := 0
	for _, ok := range got {
		if ok {
			fp++
		}
	}
	if fp > 3000*3/100 {
		t.Errorf("%d of 3000 absent keys test true; want about 1%%", fp)
	}
	seen, err := f.TestAndAddMany(ctx, []string{"x", "y", "x", in[0]})
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{false, false, true, true}; !equalBools(seen, want) {
		t.Errorf("TestAndAddMany = %v; want %v", seen, want)
	}
	if err := f.AddMany(ctx, nil); err != nil {
		t.Error(err)
	}
	if r, err := f.TestMany(ctx, nil); err != nil || r != nil {
		t.Errorf("TestMany(nil) = %v, %v", r, err)
	}
	if r, err := f.TestAndAddMany(ctx, nil); err != nil || r != nil {
		t.Errorf("TestAndAddMany(nil) = %v, %v", r, err)
	}
}

func equalBools(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestSameBitsAsMemory checks that Redis and memory agree bit for bit both
// ways: a filter built in memory and stored tests the same in Redis, and one
// built in Redis fetches equal to the same keys added in memory.
func TestSameBitsAsMemory(t *testing.T) {
	ctx := t.Context()
	rdb := redistest.Start(t)
	mem := bloom.New(5000, 0.001)
	for _, k := range keys("m", 5000) {
		mem.AddString(k)
	}
	stored := New(rdb, "stored", 5000, 0.001)
	if err := stored.Store(ctx, mem); err != nil {
		t.Fatal(err)
	}
	probe := append(keys("m", 5000), keys("absent", 20_000)...)
	got, err := stored.TestMany(ctx, probe)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range probe {
		if got[i] != mem.TestString(k) {
			t.Fatalf("Test(%q) = %v in Redis, %v in memory", k, got[i], mem.TestString(k))
		}
	}

	built := New(rdb, "built", 5000, 0.001)
	if err := built.AddMany(ctx, keys("m", 5000)); err != nil {
		t.Fatal(err)
	}
	back, err := built.Fetch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := back.MarshalBinary()
	b, _ := mem.MarshalBinary()
	if string(a) != string(b) {
		t.Error("filter built in Redis and fetched differs from the same keys added in memory")
	}
	empty, err := New(rdb, "never", 5000, 0.001).Fetch(ctx)
	if err != nil || empty.FillRatio() != 0 {
		t.Errorf("Fetch of a filter never added = fill %v, %v; want empty, nil", empty.FillRatio(), err)
	}
}

func TestIncompatibleGeometry(t *testing.T) {
	ctx := t.Context()
	rdb := redistest.Start(t)
	if err := New(rdb, "f", 1000, 0.01).Add(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	other := New(rdb, "f", 100_000, 0.01)
	if err := other.Add(ctx, "a"); !errors.Is(err, bloom.ErrIncompatible) {
		t.Errorf("Add with another geometry = %v; want ErrIncompatible", err)
	}
	if _, err := other.Test(ctx, "a"); !errors.Is(err, bloom.ErrIncompatible) {
		t.Errorf("Test with another geometry = %v; want ErrIncompatible", err)
	}
	if _, err := other.Fetch(ctx); !errors.Is(err, bloom.ErrIncompatible) {
		t.Errorf("Fetch with another geometry = %v; want ErrIncompatible", err)
	}
	if err := other.Store(ctx, bloom.New(1000, 0.01)); !errors.Is(err, bloom.ErrIncompatible) {
		t.Errorf("Store of another geometry = %v; want ErrIncompatible", err)
	}
	// Another prefix is another filter.
	if err := New(rdb, "f", 100_000, 0.01, WithPrefix("other:")).Add(ctx, "a"); err != nil {
		t.Errorf("Add under another prefix = %v; want nil", err)
	}
}

func TestPauseSurfacesAsError(t *testing.T) {
	s := redistest.StartServer(t)
	f := New(s.Client(), "f", 1000, 0.01)
	if err := f.Add(t.Context(), "a"); err != nil {
		t.Fatal(err)
	}
	s.Pause()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	err := f.Add(ctx, "b")
	_, errTest := f.Test(ctx, "a")
	cancel()
	s.Resume()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Add while paused = %v; want context.DeadlineExceeded", err)
	}
	if errTest == nil {
		t.Error("Test while paused = nil error; want one")
	}
	if ok, err := f.Test(t.Context(), "a"); err != nil || !ok {
		t.Errorf("Test after Resume = %v, %v; want true, nil", ok, err)
	}
}

func TestRestart(t *testing.T) {
	t.Run("without persistence the filter empties", func(t *testing.T) {
		s := redistest.StartServer(t)
		f := New(s.Client(), "f", 1000, 0.01)
		if err := f.Add(t.Context(), "a"); err != nil {
			t.Fatal(err)
		}
		s.Kill()
		if err := f.Add(t.Context(), "b"); err == nil {
			t.Error("Add with the server down = nil; want an error")
		}
		s.Restart()
		if ok, err := f.Test(t.Context(), "a"); err != nil || ok {
			t.Errorf("Test after restart without persistence = %v, %v; want false, nil", ok, err)
		}
	})
	t.Run("with the append-only file it survives", func(t *testing.T) {
		s := redistest.StartServer(t, redistest.WithAppendOnly(true))
		f := New(s.Client(), "f", 1000, 0.01)
		if err := f.AddMany(t.Context(), keys("k", 100)); err != nil {
			t.Fatal(err)
		}
		s.Restart()
		got, err := f.TestMany(t.Context(), keys("k", 100))
		if err != nil {
			t.Fatal(err)
		}
		for i, ok := range got {
			if !ok {
				t.Fatalf("key %d tests false after restart with AOF", i)
			}
		}
	})
}

func TestNewPanicsWhenTooLarge(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New for 1e9 keys at 1e-6 did not panic")
		}
	}()
	New(nil, "f", 1e9, 1e-6)
}

func BenchmarkAdd(b *testing.B) {
	f := New(redistest.Start(b), "bench", 1_000_000, 0.01)
	ctx := b.Context()
	ks := keys("k", 1<<16)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := f.Add(ctx, ks[i%len(ks)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkTest(b *testing.B) {
	f := New(redistest.Start(b), "bench", 1_000_000, 0.01)
	ctx := b.Context()
	ks := keys("k", 1<<16)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := f.Test(ctx, ks[i%len(ks)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkBatch reports keys per second for batches of 100 keys, one round
// trip each. The filter for op=test holds every other key, so half the keys
// test present (K bits read) and half absent (usually one or two).
func BenchmarkBatch(b *testing.B) {
	const batch = 100
	ks := keys("k", 1<<16)
	for _, op := range []string{"add", "test"} {
		b.Run("op="+op+"/batch=100", func(b *testing.B) {
			f := New(redistest.Start(b), "bench", 1_000_000, 0.01)
			ctx := b.Context()
			if op == "test" {
				var half []string
				for j := 0; j < len(ks); j += 2 {
					half = append(half, ks[j])
				}
				for j := 0; j < len(half); j += 1000 {
					if err := f.AddMany(ctx, half[j:min(j+1000, len(half))]); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				chunk := ks[i%(len(ks)/batch)*batch:][:batch]
				var err error
				if op == "add" {
					err = f.AddMany(ctx, chunk)
				} else {
					_, err = f.TestMany(ctx, chunk)
				}
				if err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "keys/s")
		})
	}
}
