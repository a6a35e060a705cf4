package lock_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/distkit/distkit/lock"
)

func Example() {
	ctx := context.Background()
	locker := lock.NewLocal()

	le, err := locker.TryLock(ctx, "nightly-report", 30*time.Second)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = locker.TryLock(ctx, "nightly-report", 30*time.Second)
	fmt.Println("second TryLock:", err)

	// Pass the token with every write; the store refuses lower tokens.
	fmt.Println("token:", le.Token())

	fmt.Println("release:", le.Release(ctx))
	fmt.Println("release again:", le.Release(ctx))
	// Output:
	// second TryLock: lock: not obtained
	// token: 1
	// release: <nil>
	// release again: lock: not held
}

// A fenced store refuses writes carrying a token older than one it has seen:
// a holder that stalled past its TTL is stopped there.
func Example_fencing() {
	ctx := context.Background()
	locker := lock.NewLocal()
	var highest uint64
	write := func(token uint64, v string) error {
		if token < highest {
			return errors.New("stale token")
		}
		highest = token
		return nil
	}

	stale, _ := locker.TryLock(ctx, "k", time.Second)
	stale.Release(ctx) // stands in for a lease that expired while its holder stalled
	fresh, _ := locker.TryLock(ctx, "k", time.Second)

	fmt.Println("fresh write:", write(fresh.Token(), "b"))
	fmt.Println("stale write:", write(stale.Token(), "a"))
	// Output:
	// fresh write: <nil>
	// stale write: stale token
}

func ExampleLocal_Lock() {
	ctx := context.Background()
	locker := lock.NewLocal()
	held, _ := locker.TryLock(ctx, "k", time.Minute)

	got := make(chan uint64)
	go func() {
		le, err := locker.Lock(ctx, "k", time.Minute, lock.WithAutoRenew(true))
		if err != nil {
			return
		}
		defer le.Release(ctx)
		got <- le.Token()
	}()
	held.Release(ctx) // the waiter is woken and handed the lock
	fmt.Println("waiter's token:", <-got)
	// Output:
	// waiter's token: 2
}

func ExampleElector() {
	ctx, cancel := context.WithCancel(context.Background())
	e := lock.NewElector(lock.NewLocal(), "scheduler", "node-1", 10*time.Second)
	err := e.Run(ctx, func(ctx context.Context, term uint64) {
		fmt.Println("leading in term", term)
		cancel() // a real leader works until ctx ends
		<-ctx.Done()
	})
	fmt.Println(err)
	// Output:
	// leading in term 1
	// context canceled
}

func ExampleLocal_Stats() {
	ctx := context.Background()
	locker := lock.NewLocal()
	le, _ := locker.TryLock(ctx, "k", time.Minute)
	locker.TryLock(ctx, "k", time.Minute) // held: contended
	le.Refresh(ctx)
	le.Release(ctx)

	s := locker.Stats()
	fmt.Printf("acquired %d, contended %d, refreshed %d, released %d, lost %d\n",
		s.Acquired, s.Contended, s.Refreshed, s.Released, s.Lost)
	// Output:
	// acquired 1, contended 1, refreshed 1, released 1, lost 0
}

func ExampleElector_Stats() {
	ctx, cancel := context.WithCancel(context.Background())
	e := lock.NewElector(lock.NewLocal(), "scheduler", "node-1", 10*time.Second)
	e.Run(ctx, func(ctx context.Context, term uint64) {
		cancel()
		<-ctx.Done()
	})
	fmt.Printf("%+v\n", e.Stats())
	// Output:
	// {Won:1 Lost:0 Errors:0}
}
