package hashring

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
)

// numKeys is the number of keys the quality tests place: one million, or
// 100,000 under the race detector or -short.
func numKeys() int {
	if raceEnabled || testing.Short() {
		return 100_000
	}
	return 1_000_000
}

var allKeys = sync.OnceValue(func() []string {
	keys := make([]string, numKeys())
	for i := range keys {
		keys[i] = "key-" + strconv.Itoa(i)
	}
	return keys
})

func testKeys() []string { return allKeys() }

func nodeNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("node-%d", i)
	}
	return names
}

// assign maps every key through p.
func assign(tb testing.TB, p Picker, keys []string) []string {
	tb.Helper()
	out := make([]string, len(keys))
	for i, k := range keys {
		n, ok := p.Lookup(k)
		if !ok {
			tb.Fatalf("Lookup(%q) = _, false; want a node", k)
		}
		out[i] = n
	}
	return out
}

// maxOverAvg returns the largest load over the average load across nodes.
func maxOverAvg(owners []string, nodes int) (float64, map[string]int) {
	loads := make(map[string]int)
	for _, o := range owners {
		loads[o]++
	}
	m := 0
	for _, l := range loads {
		m = max(m, l)
	}
	return float64(m) / (float64(len(owners)) / float64(nodes)), loads
}

// picker is a Picker with the membership methods every mode has.
type picker interface {
	Picker
	Add(nodes ...string) error
	Remove(node string) error
	Nodes() []string
	Len() int
}

type mode struct {
	name string
	new  func() picker
}

var modes = []mode{
	{"ring", func() picker { return New() }},
	{"table", func() picker { return NewTable() }},
	{"placement", func() picker { return NewPlacement(128) }},
	{"rendezvous", func() picker { return NewRendezvous() }},
}

func build(tb testing.TB, m mode, nodes []string) picker {
	tb.Helper()
	p := m.new()
	if err := p.Add(nodes...); err != nil {
		tb.Fatalf("%s: Add = %v", m.name, err)
	}
	return p
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	slices.Sort(c)
	return c
}
