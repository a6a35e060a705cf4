package benchmarks

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	jump "github.com/dgryski/go-jump"
	"github.com/golang/groupcache/consistenthash"
	stathat "github.com/stathat/consistent"
	zerohash "github.com/zeromicro/go-zero/core/hash"

	"github.com/distkit/distkit/hashring"
)

// The hashring workloads place keys on 100 nodes. Every implementation
// runs at its defaults: distkit's Ring (256 points per node, 3 probes),
// Table (81,919 entries) and Placement (AnchorHash, capacity 128);
// groupcache's consistenthash with the 50 replicas its HTTPPool uses,
// guarded like HTTPPool by a mutex and rebuilt on a change since it has no
// Remove; stathat/consistent (20 replicas, an RWMutex); go-zero's ring (100
// replicas, an RWMutex); dgryski/go-jump over xxhash of the key.
// buraksezer/consistent is not here: the module proxy refuses it.

const hashringNodes = 100

var hashringKeys = func() []string {
	keys := make([]string, 1<<12)
	for i := range keys {
		keys[i] = "user:" + strconv.Itoa(i*7919)
	}
	return keys
}()

func hashringNodeNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("node-%d", i)
	}
	return names
}

// hashringImpl is one implementation with the three operations the
// workloads need.
type hashringImpl struct {
	name   string
	build  func(nodes []string) any
	lookup func(h any, key string) string
	remove func(h any, node string)
	add    func(h any, node string)
}

type groupcacheRing struct {
	mu    sync.Mutex
	m     *consistenthash.Map
	nodes []string
}

func (g *groupcacheRing) set(nodes []string) {
	m := consistenthash.New(50, nil)
	m.Add(nodes...)
	g.mu.Lock()
	g.m, g.nodes = m, nodes
	g.mu.Unlock()
}

type jumpRing struct {
	nodes []string
	n     atomic.Int32
}

var hashringImpls = []hashringImpl{
	{
		name:   "distkit-ring",
		build:  func(nodes []string) any { r := hashring.New(); r.Add(nodes...); return r },
		lookup: func(h any, k string) string { n, _ := h.(*hashring.Ring).Lookup(k); return n },
		remove: func(h any, n string) { h.(*hashring.Ring).Remove(n) },
		add:    func(h any, n string) { h.(*hashring.Ring).Add(n) },
	},
	{
		name:   "distkit-table",
		build:  func(nodes []string) any { t := hashring.NewTable(); t.Add(nodes...); return t },
		lookup: func(h any, k string) string { n, _ := h.(*hashring.Table).Lookup(k); return n },
		remove: func(h any, n string) { h.(*hashring.Table).Remove(n) },
		add:    func(h any, n string) { h.(*hashring.Table).Add(n) },
	},
	{
		name:   "distkit-placement",
		build:  func(nodes []string) any { p := hashring.NewPlacement(128); p.Add(nodes...); return p },
		lookup: func(h any, k string) string { n, _ := h.(*hashring.Placement).Lookup(k); return n },
		remove: func(h any, n string) { h.(*hashring.Placement).Remove(n) },
		add:    func(h any, n string) { h.(*hashring.Placement).Add(n) },
	},
	{
		name:  "groupcache",
		build: func(nodes []string) any { g := &groupcacheRing{}; g.set(nodes); return g },
		lookup: func(h any, k string) string {
			g := h.(*groupcacheRing)
			g.mu.Lock()
			defer g.mu.Unlock()
			return g.m.Get(k)
		},
		remove: func(h any, n string) {
			g := h.(*groupcacheRing)
			var rest []string
			for _, x := range g.nodes {
				if x != n {
					rest = append(rest, x)
				}
			}
			g.set(rest)
		},
		add: func(h any, n string) {
			g := h.(*groupcacheRing)
			g.set(append(append([]string(nil), g.nodes...), n))
		},
	},
	{
		name: "stathat",
		build: func(nodes []string) any {
			c := stathat.New()
			for _, n := range nodes {
				c.Add(n)
			}
			return c
		},
		lookup: func(h any, k string) string { n, _ := h.(*stathat.Consistent).Get(k); return n },
		remove: func(h any, n string) { h.(*stathat.Consistent).Remove(n) },
		add:    func(h any, n string) { h.(*stathat.Consistent).Add(n) },
	},
	{
		name: "go-zero",
		build: func(nodes []string) any {
			c := zerohash.NewConsistentHash()
			for _, n := range nodes {
				c.Add(n)
			}
			return c
		},
		lookup: func(h any, k string) string {
			n, _ := h.(*zerohash.ConsistentHash).Get(k)
			s, _ := n.(string)
			return s
		},
		remove: func(h any, n string) { h.(*zerohash.ConsistentHash).Remove(n) },
		add:    func(h any, n string) { h.(*zerohash.ConsistentHash).Add(n) },
	},
	{
		name: "go-jump",
		build: func(nodes []string) any {
			j := &jumpRing{nodes: nodes}
			j.n.Store(int32(len(nodes)))
			return j
		},
		lookup: func(h any, k string) string {
			j := h.(*jumpRing)
			return j.nodes[jump.Hash(xxhash.Sum64String(k), int(j.n.Load()))]
		},
		// Jump hash can only drop or restore the last bucket.
		remove: func(h any, _ string) { h.(*jumpRing).n.Add(-1) },
		add:    func(h any, _ string) { h.(*jumpRing).n.Add(1) },
	},
}

// BenchmarkHashringLookup: one lookup among 100 nodes.
func BenchmarkHashringLookup(b *testing.B) {
	nodes := hashringNodeNames(hashringNodes)
	for _, impl := range hashringImpls {
		h := impl.build(nodes)
		b.Run("impl="+impl.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				impl.lookup(h, hashringKeys[i&(len(hashringKeys)-1)])
				i++
			}
		})
	}
}

// BenchmarkHashringLookupParallel: lookups from b.RunParallel goroutines
// while a background writer removes and re-adds a node every 10 ms.
func BenchmarkHashringLookupParallel(b *testing.B) {
	nodes := hashringNodeNames(hashringNodes)
	for _, impl := range hashringImpls {
		h := impl.build(nodes)
		b.Run("impl="+impl.name, func(b *testing.B) {
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				tick := time.NewTicker(10 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
						impl.remove(h, "node-99")
						impl.add(h, "node-99")
					}
				}
			}()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					impl.lookup(h, hashringKeys[i&(len(hashringKeys)-1)])
					i++
				}
			})
			b.StopTimer()
			close(stop)
			<-done
		})
	}
}

// BenchmarkHashringMembershipChange: one node of 100 leaves and comes back.
func BenchmarkHashringMembershipChange(b *testing.B) {
	nodes := hashringNodeNames(hashringNodes)
	for _, impl := range hashringImpls {
		h := impl.build(nodes)
		b.Run("impl="+impl.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				impl.remove(h, "node-42")
				impl.add(h, "node-42")
			}
		})
	}
}

// BenchmarkHashringBuild: a ring of 100 nodes from nothing.
func BenchmarkHashringBuild(b *testing.B) {
	nodes := hashringNodeNames(hashringNodes)
	for _, impl := range hashringImpls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				impl.build(nodes)
			}
		})
	}
}
