package redistest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestStartIsEmptyAndPrivate(t *testing.T) {
	rdb := Start(t)
	ctx := t.Context()
	if n, err := rdb.DBSize(ctx).Result(); err != nil || n != 0 {
		t.Fatalf("DBSize = %d, %v; want 0, nil", n, err)
	}
	port, err := rdb.ConfigGet(ctx, "port").Result()
	if err != nil || port["port"] != "0" {
		t.Fatalf("CONFIG GET port = %v, %v; want 0 (unix socket only)", port, err)
	}
}

func TestRestartLosesDataWithoutAppendOnly(t *testing.T) {
	s := StartServer(t)
	rdb := s.Client()
	ctx := t.Context()
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Restart()
	if err := rdb.Get(ctx, "k").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET after restart = %v; want redis.Nil", err)
	}
}

func TestRestartKeepsDataWithAppendOnly(t *testing.T) {
	s := StartServer(t, WithAppendOnly(true))
	rdb := s.Client()
	ctx := t.Context()
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Restart()
	if v, err := rdb.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("GET after restart = %q, %v; want \"v\", nil", v, err)
	}
}

func TestPauseResume(t *testing.T) {
	s := StartServer(t)
	rdb := s.Client()
	if err := rdb.Ping(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	s.Pause()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	err := rdb.Ping(ctx).Err()
	cancel()
	if err == nil {
		t.Fatal("PING to a paused server succeeded; want a timeout")
	}
	s.Resume()
	if err := rdb.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("PING after Resume = %v; want nil", err)
	}
}

func TestKill(t *testing.T) {
	s := StartServer(t)
	rdb := s.Client()
	s.Kill()
	s.Kill() // twice is harmless
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err == nil {
		t.Fatal("PING to a killed server succeeded")
	}
}
