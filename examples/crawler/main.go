// Command crawler deduplicates URLs the way a web crawler does: workers take
// pages from a frontier, "fetch" them from a synthetic site of linked pages,
// and queue each link only if a Bloom filter says it was never seen. It
// reports how many pages were fetched, how many duplicate links the filter
// dropped, and how many pages were never fetched because a false positive
// said their link was seen (every page is reachable from page 0).
//
// By default the filter is a bloom.Filter shared by the workers in memory;
// with -redis ADDR it is a redisbloom.Filter, as a fleet of crawler processes
// would share it, checked in batches of one round trip per page.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/distkit/distkit/bloom"
	"github.com/distkit/distkit/bloom/redisbloom"
	"github.com/distkit/distkit/examples/internal/redisaddr"
)

// seenSet is what the crawler needs from a filter: test and add a batch of
// links, reporting which were seen before.
type seenSet interface {
	TestAndAddMany(ctx context.Context, urls []string) ([]bool, error)
}

// memSet adapts bloom.Filter, which needs no context or batching.
type memSet struct{ f *bloom.Filter }

func (m memSet) TestAndAddMany(_ context.Context, urls []string) ([]bool, error) {
	out := make([]bool, len(urls))
	for i, u := range urls {
		out[i] = m.f.TestAndAddString(u)
	}
	return out, nil
}

// links returns the URLs page i of a site of n pages links to.
func links(i, n int) []string {
	targets := []int{(i*7 + 1) % n, (i*13 + 5) % n, (i + 1) % n, (i * i) % n, (i / 2)}
	out := make([]string, len(targets))
	for j, t := range targets {
		out[j] = "https://site.example/page/" + strconv.Itoa(t)
	}
	return out
}

func page(url string) int {
	const prefix = len("https://site.example/page/")
	i, _ := strconv.Atoi(url[prefix:])
	return i
}

func main() {
	pages := flag.Int("pages", 200_000, "pages on the synthetic site")
	workers := flag.Int("workers", 4, "crawler goroutines")
	rate := flag.Float64("p", 0.001, "false-positive rate of the filter")
	addr := flag.String("redis", "", "Redis address; empty keeps the filter in memory")
	flag.Parse()
	ctx := context.Background()

	var seen seenSet
	if *addr == "" {
		seen = memSet{bloom.New(*pages, *rate)}
	} else {
		rdb := redisaddr.Client(*addr)
		defer rdb.Close()
		seen = redisbloom.New(rdb, "crawler-example-"+strconv.FormatInt(time.Now().UnixNano(), 36), *pages, *rate)
	}

	start := time.Now()
	var (
		mu            sync.Mutex
		fetched, dups int
	)
	frontier := []string{"https://site.example/page/0"}
	if _, err := seen.TestAndAddMany(ctx, frontier); err != nil {
		log.Fatal(err)
	}
	// Breadth first, one level at a time, the level split among workers.
	for len(frontier) > 0 {
		var next []string
		var wg sync.WaitGroup
		chunk := (len(frontier) + *workers - 1) / *workers
		for w := 0; w < len(frontier); w += chunk {
			part := frontier[w:min(w+chunk, len(frontier))]
			wg.Add(1)
			go func() {
				defer wg.Done()
				var found []string
				d := 0
				for _, url := range part {
					out := links(page(url), *pages) // the "fetch"
					before, err := seen.TestAndAddMany(ctx, out)
					if err != nil {
						log.Fatal(err)
					}
					for j, link := range out {
						if before[j] {
							d++
						} else {
							found = append(found, link)
						}
					}
				}
				mu.Lock()
				fetched += len(part)
				dups += d
				next = append(next, found...)
				mu.Unlock()
			}()
		}
		wg.Wait()
		frontier = next
	}
	fmt.Printf("fetched %d pages in %v with %d workers\n", fetched, time.Since(start).Round(time.Millisecond), *workers)
	missed := *pages - fetched
	// A page is missed only when every link to it was a false positive, so
	// far fewer pages are missed than the filter's rate of false positives.
	fmt.Printf("dropped %d links to pages already seen; missed %d pages (%.3f%%) whose links were all false positives (filter rate %.3f%%)\n",
		dups, missed, 100*float64(missed)/float64(*pages), 100**rate)
	if m, ok := seen.(memSet); ok {
		fmt.Printf("filter: %d KiB for %d URLs, %.1f bytes per URL\n",
			m.f.Geometry().Bits()/8/1024, *pages, float64(m.f.Geometry().Bits())/8/float64(*pages))
	}
	if fetched == 0 {
		os.Exit(1)
	}
}
