// Command shardedcache runs a cache sharded over in-process nodes behind a
// hashring.Ring. It loads keys, adds a node, moves the keys the new node
// now owns and prints how many moved and the load per node. Then it places
// sessions of skewed tenants with and without bounded loads
// (hashring.Bounded, c = 1.25) and prints the load per node in each case.
// It ends by itself.
package main

import (
	"fmt"
	"log"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"

	"github.com/distkit/distkit/hashring"
)

// A node is one cache shard.
type node struct {
	mu   sync.Mutex
	data map[string]string
}

// A cache routes each key to the node the ring picks.
type cache struct {
	ring  *hashring.Ring
	nodes map[string]*node
}

func newCache(names ...string) *cache {
	c := &cache{ring: hashring.New(), nodes: map[string]*node{}}
	for _, n := range names {
		c.nodes[n] = &node{data: map[string]string{}}
	}
	if err := c.ring.Add(names...); err != nil {
		log.Fatal(err)
	}
	return c
}

func (c *cache) Set(key, value string) {
	name, _ := c.ring.Lookup(key)
	n := c.nodes[name]
	n.mu.Lock()
	n.data[key] = value
	n.mu.Unlock()
}

func (c *cache) Get(key string) (string, bool) {
	name, _ := c.ring.Lookup(key)
	n := c.nodes[name]
	n.mu.Lock()
	defer n.mu.Unlock()
	v, ok := n.data[key]
	return v, ok
}

// AddNode adds a node and moves to it the keys it now owns; only keys
// whose owner changed move, and all of them go to the new node.
func (c *cache) AddNode(name string) (moved int) {
	c.nodes[name] = &node{data: map[string]string{}}
	if err := c.ring.Add(name); err != nil {
		log.Fatal(err)
	}
	for from, n := range c.nodes {
		n.mu.Lock()
		for k, v := range n.data {
			if owner, _ := c.ring.Lookup(k); owner != from {
				if owner != name {
					log.Fatalf("key %s moved from %s to %s, not to the new node", k, from, owner)
				}
				delete(n.data, k)
				dst := c.nodes[owner]
				dst.mu.Lock()
				dst.data[k] = v
				dst.mu.Unlock()
				moved++
			}
		}
		n.mu.Unlock()
	}
	return moved
}

func (c *cache) printLoads() {
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range c.nodes {
			if !yield(n) {
				return
			}
		}
	})
	var b strings.Builder
	for _, name := range names {
		fmt.Fprintf(&b, " %s=%d", name, len(c.nodes[name].data))
	}
	fmt.Println("  load per node:" + b.String())
}

func main() {
	const keys = 100_000
	c := newCache("cache-0", "cache-1", "cache-2", "cache-3", "cache-4")
	for i := range keys {
		c.Set(fmt.Sprint("user:", i), fmt.Sprint("profile ", i))
	}
	fmt.Printf("loaded %d keys on 5 nodes\n", keys)
	c.printLoads()

	moved := c.AddNode("cache-5")
	fmt.Printf("added cache-5: %d keys moved (%.1f%%; ideal 1/6 = 16.7%%), all to cache-5\n",
		moved, 100*float64(moved)/keys)
	c.printLoads()
	if v, ok := c.Get("user:42"); !ok || v != "profile 42" {
		log.Fatalf("Get(user:42) = %q, %v after the move", v, ok)
	}

	// Sessions stick to their tenant's node for locality, and tenants are
	// skewed: a plain ring piles a hot tenant onto one node, bounded loads
	// cap every node at ⌈1.25·average⌉ and spill to the next nodes.
	const sessions = 6000
	bounded, err := hashring.NewBounded(c.ring, 1.25)
	if err != nil {
		log.Fatal(err)
	}
	zipf := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), 1.2, 1, 199)
	plain := map[string]int{}
	var live []string
	for range sessions {
		tenant := fmt.Sprint("tenant-", zipf.Uint64())
		owner, _ := c.ring.Lookup(tenant)
		plain[owner]++
		node, err := bounded.Acquire(tenant)
		if err != nil {
			log.Fatal(err)
		}
		live = append(live, node)
	}
	avg := float64(sessions) / float64(c.ring.Len())
	fmt.Printf("placed %d sessions of 200 skewed tenants (average %.0f per node)\n", sessions, avg)
	var pb, bb strings.Builder
	maxPlain, maxBounded := 0, 0
	for _, name := range c.ring.Nodes() {
		fmt.Fprintf(&pb, " %s=%d", name, plain[name])
		fmt.Fprintf(&bb, " %s=%d", name, bounded.Load(name))
		maxPlain = max(maxPlain, plain[name])
		maxBounded = max(maxBounded, bounded.Load(name))
	}
	fmt.Printf("  plain ring:              %s  max/avg=%.2f\n", pb.String(), float64(maxPlain)/avg)
	fmt.Printf("  bounded loads, c = 1.25: %s  max/avg=%.2f\n", bb.String(), float64(maxBounded)/avg)
	for _, n := range live {
		if err := bounded.Release(n); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("sessions ended; sessions left:", bounded.Total())
}
