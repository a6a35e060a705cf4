package hashring

import (
	"strconv"
	"testing"

	"github.com/cespare/xxhash/v2"
)

// TestGolden pins keys to nodes for ten members "node-0".."node-9" at the
// default settings (for the placement, added in that order). The table
// must never change: a change of hash, point derivation or fill order
// would remap keys between processes running different versions.
func TestGolden(t *testing.T) {
	golden := map[string][]struct{ key, node string }{
		"ring": {
			{"", "node-7"},
			{"a", "node-8"},
			{"alpha", "node-0"},
			{"user:1234", "node-4"},
			{"session/8f14e45f", "node-7"},
			{"order-42", "node-6"},
			{"x", "node-6"},
			{"tenant=7;shard=3", "node-6"},
			{"hello world", "node-8"},
			{"k1", "node-1"},
			{"k2", "node-1"},
			{"k3", "node-3"},
		},
		"table": {
			{"", "node-9"},
			{"a", "node-4"},
			{"alpha", "node-3"},
			{"user:1234", "node-8"},
			{"session/8f14e45f", "node-0"},
			{"order-42", "node-2"},
			{"x", "node-8"},
			{"tenant=7;shard=3", "node-2"},
			{"hello world", "node-0"},
			{"k1", "node-7"},
			{"k2", "node-9"},
			{"k3", "node-4"},
		},
		"placement": {
			{"", "node-8"},
			{"a", "node-8"},
			{"alpha", "node-8"},
			{"user:1234", "node-9"},
			{"session/8f14e45f", "node-6"},
			{"order-42", "node-5"},
			{"x", "node-0"},
			{"tenant=7;shard=3", "node-0"},
			{"hello world", "node-2"},
			{"k1", "node-0"},
			{"k2", "node-1"},
			{"k3", "node-1"},
		},
		"rendezvous": {
			{"", "node-8"},
			{"a", "node-8"},
			{"alpha", "node-9"},
			{"user:1234", "node-4"},
			{"session/8f14e45f", "node-3"},
			{"order-42", "node-9"},
			{"x", "node-3"},
			{"tenant=7;shard=3", "node-8"},
			{"hello world", "node-5"},
			{"k1", "node-2"},
			{"k2", "node-6"},
			{"k3", "node-2"},
		},
	}
	for _, m := range modes {
		p := build(t, m, nodeNames(10))
		for _, g := range golden[m.name] {
			if got, _ := p.Lookup(g.key); got != g.node {
				t.Errorf("%s: Lookup(%q) = %q; want %q", m.name, g.key, got, g.node)
			}
		}
	}
}

// TestGoldenDigest pins the mapping of 10,000 keys for ten and a hundred
// members "node-0".. at the default settings, by a digest of the owners:
// the few keys of TestGolden would miss a change that remaps under 1% of
// keys.
func TestGoldenDigest(t *testing.T) {
	golden := map[string][2]uint64{
		"ring":       {0x0e274e278d4b5469, 0xa07260d18ebb420b},
		"table":      {0xea479e9b10dcef99, 0xb9fab9ccedddc95a},
		"placement":  {0xac0b0fc839f36161, 0xbf797f2007d2e67c},
		"rendezvous": {0xfe5e5ca839ff5d42, 0xfe92871ff46ff45b},
	}
	for _, m := range modes {
		for i, n := range []int{10, 100} {
			p := build(t, m, nodeNames(n))
			d := xxhash.New()
			for k := range 10_000 {
				node, _ := p.Lookup("key-" + strconv.Itoa(k))
				d.WriteString(node)
				d.WriteString("\n")
			}
			if got, want := d.Sum64(), golden[m.name][i]; got != want {
				t.Errorf("%s with %d nodes: mapping digest %#x; want %#x", m.name, n, got, want)
			}
		}
	}
}
