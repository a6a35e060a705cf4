package redisbloom

import (
	"context"
	"errors"
	"testing"

	"github.com/distkit/distkit/bloom"
	"github.com/distkit/distkit/internal/redistest"
	"github.com/redis/go-redis/v9"
)

func TestStats(t *testing.T) {
	ctx := t.Context()
	srv := redistest.StartServer(t)
	opts := srv.Options()
	opts.MaxRetries = -1
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	f := New(rdb, "s", 10_000, 0.01)
	var want Stats
	check := func(step string) {
		t.Helper()
		if got := f.Stats(); got != want {
			t.Errorf("after %s: Stats = %+v; want %+v", step, got, want)
		}
	}
	check("New")
	count := func(bs ...bool) (n uint64) {
		for _, b := range bs {
			if b {
				n++
			}
		}
		return n
	}

	if err := f.Add(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	want.Calls, want.Added = 1, 1
	check("Add")
	if ok, err := f.Test(ctx, "a"); err != nil || !ok {
		t.Fatalf("Test(a) = %v, %v; want true", ok, err)
	}
	want.Calls, want.Tested, want.Present = 2, 1, 1
	check("Test of a present key")
	ok, err := f.Test(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	want.Calls, want.Tested, want.Present = 3, 2, 1+count(ok)
	check("Test of another key")
	ok, err = f.TestAndAdd(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	want.Calls, want.Added, want.Tested, want.Present = 4, 2, 3, want.Present+count(ok)
	check("TestAndAdd")

	if err := f.AddMany(ctx, []string{"d", "e", "f"}); err != nil {
		t.Fatal(err)
	}
	want.Calls, want.Added = 5, 5
	check("AddMany")
	if err := f.AddMany(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.TestMany(ctx, nil); err != nil {
		t.Fatal(err)
	}
	check("empty batches")
	got, err := f.TestMany(ctx, []string{"d", "e", "f", "g"})
	if err != nil {
		t.Fatal(err)
	}
	want.Calls, want.Tested, want.Present = 6, 7, want.Present+count(got...)
	check("TestMany")
	got, err = f.TestAndAddMany(ctx, []string{"h", "h"})
	if err != nil {
		t.Fatal(err)
	}
	if !got[1] {
		t.Fatalf("TestAndAddMany(h, h) = %v; want the second present", got)
	}
	want.Calls, want.Added, want.Tested, want.Present = 7, 7, 9, want.Present+count(got...)
	check("TestAndAddMany")

	if err := f.Store(ctx, bloom.New(10, 0.5)); !errors.Is(err, bloom.ErrIncompatible) {
		t.Fatalf("Store of another geometry = %v; want ErrIncompatible", err)
	}
	check("Store refused before any round trip")
	mem, err := f.Fetch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Store(ctx, mem); err != nil {
		t.Fatal(err)
	}
	want.Calls += 2
	check("Fetch and Store")

	// The same name with another geometry: Redis refuses, an error.
	other := New(rdb, "s", 100, 0.01)
	if err := other.Add(ctx, "a"); !errors.Is(err, bloom.ErrIncompatible) {
		t.Fatalf("Add with another geometry = %v; want ErrIncompatible", err)
	}
	if got, want := other.Stats(), (Stats{Calls: 1, Errors: 1}); got != want {
		t.Errorf("Stats after a refused Add = %+v; want %+v", got, want)
	}

	// A cancelled call is a call but not an error; a dead server's are.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := f.Test(cctx, "a"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Test with a cancelled ctx = %v; want Canceled", err)
	}
	want.Calls++
	check("a cancelled Test")
	srv.Kill()
	if err := f.Add(ctx, "a"); err == nil {
		t.Fatal("Add on a dead server succeeded")
	}
	if _, err := f.Fetch(ctx); err == nil {
		t.Fatal("Fetch on a dead server succeeded")
	}
	if err := f.Store(ctx, mem); err == nil {
		t.Fatal("Store on a dead server succeeded")
	}
	want.Calls += 3
	want.Errors += 3
	check("calls to a dead server")
}
