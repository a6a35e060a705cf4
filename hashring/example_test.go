package hashring_test

import (
	"fmt"

	"github.com/distkit/distkit/hashring"
)

func Example() {
	r := hashring.New()
	if err := r.Add("cache-a", "cache-b", "cache-c"); err != nil {
		panic(err)
	}
	node, _ := r.Lookup("user:1234")
	fmt.Println("user:1234 lives on", node)
	fmt.Println("replicas:", r.LookupN("user:1234", 2))
	// Output:
	// user:1234 lives on cache-a
	// replicas: [cache-a cache-c]
}

func ExampleRing_AddWeighted() {
	r := hashring.New()
	r.Add("small-1", "small-2")
	r.AddWeighted("big", 2) // twice the keys of a small node
	counts := map[string]int{}
	for i := range 100000 {
		node, _ := r.Lookup(fmt.Sprint("key-", i))
		counts[node]++
	}
	fmt.Printf("big holds %.0f%% of the keys\n", float64(counts["big"])/1000)
	// Output:
	// big holds 50% of the keys
}

func ExampleBounded() {
	r := hashring.New()
	r.Add("a", "b", "c")
	b, err := hashring.NewBounded(r, 1.25)
	if err != nil {
		panic(err)
	}
	// Sessions arrive; none of the three nodes takes more than ⌈1.25·avg⌉.
	for i := range 300 {
		if _, err := b.Acquire(fmt.Sprint("session-", i)); err != nil {
			panic(err)
		}
	}
	fmt.Println(b.Load("a"), b.Load("b"), b.Load("c"))
	// A session ends: release it from the node Acquire returned.
	node, _ := b.Acquire("session-x")
	b.Release(node)

	_, err = hashring.NewBounded(r, 1)
	fmt.Println(err)
	// Output:
	// 113 94 93
	// hashring: load factor must be greater than 1
}

func ExampleTable() {
	t := hashring.NewTable()
	t.Add("10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80")
	backend, ok := t.Lookup("flow 192.0.2.7:51234")
	fmt.Println(backend, ok)
	// Output:
	// 10.0.0.2:80 true
}

// Data that moves between nodes a partition at a time (a shard's files, a
// cache's slabs) is kept by partition; only the owner of a partition changes
// when nodes join or leave.
func ExampleTable_Partition() {
	t := hashring.NewTable(hashring.WithTableSize(1 << 10))
	t.Add("store-a", "store-b")
	p := t.Partition("user:42")
	owner, _ := t.PartitionOwner(p)
	fmt.Printf("user:42 is in partition %d of %d, on %s\n", p, t.Partitions(), owner)

	before := make([]string, t.Partitions())
	for i := range before {
		before[i], _ = t.PartitionOwner(i)
	}
	t.Add("store-c")
	moved := 0
	for i, was := range before {
		if now, _ := t.PartitionOwner(i); now != was {
			moved++
		}
	}
	fmt.Printf("store-c joins: %d partitions change owner; user:42 stays in partition %d\n", moved, t.Partition("user:42"))
	// Output:
	// user:42 is in partition 880 of 1024, on store-a
	// store-c joins: 341 partitions change owner; user:42 stays in partition 880
}

func ExamplePlacement() {
	p := hashring.NewPlacement(16) // room for 16 shards
	p.Add("shard-0", "shard-1", "shard-2", "shard-3")
	before, _ := p.Lookup("order-42")
	p.Remove("shard-1") // only shard-1's keys move
	after, _ := p.Lookup("order-42")
	fmt.Println(before, after)
	// Output:
	// shard-3 shard-3
}

func ExampleRendezvous() {
	r := hashring.NewRendezvous()
	r.Add("east", "west")
	node, _ := r.Lookup("tenant-7")
	fmt.Println(node)
	// Output:
	// east
}

func ExamplePicker() {
	ring := hashring.New()
	ring.Add("x", "y", "z")
	table := hashring.NewTable()
	table.Add("x", "y", "z")
	for _, p := range []hashring.Picker{ring, table} {
		node, _ := p.Lookup("k")
		fmt.Printf("%T: %s\n", p, node)
	}
	// Output:
	// *hashring.Ring: y
	// *hashring.Table: z
}

func ExampleRing_Stats() {
	r := hashring.New()
	r.Add("a", "b", "c") // one change, however many nodes
	r.Remove("b")
	r.SetWeight("a", 2)
	fmt.Printf("%+v\n", r.Stats())
	// Output:
	// {Nodes:2 Changes:3}
}

func ExampleBounded_Stats() {
	r := hashring.New()
	r.Add("a", "b", "c")
	b, _ := hashring.NewBounded(r, 1.1)
	var nodes []string
	for i := range 300 {
		node, _ := b.Acquire(fmt.Sprint("session-", i))
		nodes = append(nodes, node)
	}
	for _, node := range nodes[:100] {
		b.Release(node)
	}
	// Forwarded: sessions that went past their full owner.
	fmt.Printf("%+v\n", b.Stats())
	// Output:
	// {Total:200 MaxLoad:69 Acquired:300 Forwarded:9 Released:100 Refused:0}
}
