// Command idgen generates snowflake IDs, decodes them and prints their forms.
// With -redis ADDR, two goroutines stand for two processes: each leases its
// own worker ID from Redis and issues IDs with it.
//
//	go run ./examples/idgen
//	go run ./examples/idgen -redis localhost:6379
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"sync"
	"time"

	"github.com/distkit/distkit/examples/internal/redisaddr"
	"github.com/distkit/distkit/idgen"
	"github.com/distkit/distkit/idgen/redisidgen"
)

func main() {
	addr := flag.String("redis", "", "Redis address (host:port, or a unix socket path); leases worker IDs from it")
	n := flag.Int("n", 3, "IDs per generator")
	flag.Parse()
	log.SetFlags(0)
	if *addr != "" {
		leased(*addr, *n)
		return
	}
	local(*n)
}

func local(n int) {
	worker, err := idgen.HostWorker(10)
	if err != nil {
		log.Printf("no worker ID from the host's address (%v); using 1", err)
		worker = 1
	}
	g, err := idgen.New(worker)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("worker %d, layout 41/10/12 bits at 1ms, lifetime until %v\n\n",
		worker, g.Layout().Epoch.Add(g.Layout().Lifetime()).Format("2006-01-02"))
	for range n {
		id, err := g.Next()
		if err != nil {
			log.Fatal(err)
		}
		show(g, id)
	}

	// A burst above the 4096-per-ms cap borrows the next ticks.
	start := time.Now()
	var last idgen.ID
	for range 100_000 {
		if last, err = g.Next(); err != nil {
			log.Fatal(err)
		}
	}
	p := g.Decode(last)
	fmt.Printf("\n100,000 IDs in %v; the last is stamped %v ahead of the clock (at most 1s)\n",
		time.Since(start).Round(time.Microsecond), time.Until(p.Time).Round(time.Millisecond))

	b, _ := json.Marshal(struct {
		ID idgen.ID `json:"id"`
	}{last})
	fmt.Printf("as JSON: %s\n", b)
	back, err := idgen.ParseBase58(last.Base58())
	fmt.Printf("parsed back from base58: %v (%v)\n", back == last, err)
	_, err = idgen.ParseBase32("not-an-id")
	fmt.Printf("bad input: %v\n", err)
}

func leased(addr string, n int) {
	rdb := redisaddr.Client(addr)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var mu sync.Mutex // keeps each process's lines together
	var wg sync.WaitGroup
	for p := range 2 {
		wg.Go(func() {
			start := time.Now()
			lease, err := redisidgen.Acquire(ctx, rdb,
				redisidgen.WithPrefix("idgen-example:"), redisidgen.WithTTL(2*time.Second),
				redisidgen.WithMaxLead(100*time.Millisecond))
			if err != nil {
				log.Fatalf("process %d: %v", p, err)
			}
			defer lease.Close()
			mu.Lock()
			defer mu.Unlock()
			fmt.Printf("process %d leased worker %d in %v\n", p, lease.Worker(), time.Since(start).Round(time.Millisecond))
			for range n {
				id, err := lease.Next()
				if err != nil {
					log.Fatalf("process %d: %v", p, err)
				}
				show(lease.Snowflake(), id)
			}
		})
	}
	wg.Wait()
	fmt.Println("(the first claim on a Redis without a record of earlier holders waits one TTL)")
}

func show(g *idgen.Snowflake, id idgen.ID) {
	p := g.Decode(id)
	fmt.Printf("%-19v  base32 %s  base58 %s  time %s  worker %4d  seq %4d\n",
		id, id.Base32(), id.Base58(), p.Time.Format("15:04:05.000"), p.Worker, p.Sequence)
}
