package hashring

import (
	"errors"
	"fmt"
	"math/bits"
	"slices"

	"github.com/cespare/xxhash/v2"
)

// A Picker maps a key to one of its nodes. Ring, Table, Placement and
// Rendezvous implement it.
//
// Implementations in this package are safe for concurrent use by multiple
// goroutines, and Lookup neither blocks nor allocates.
type Picker interface {
	// Lookup returns the node that owns key, or ok == false when there
	// are no nodes.
	Lookup(key string) (node string, ok bool)
}

var (
	_ Picker = (*Ring)(nil)
	_ Picker = (*Table)(nil)
	_ Picker = (*Placement)(nil)
	_ Picker = (*Rendezvous)(nil)
)

var (
	// ErrInvalidNode is returned when a node name is empty.
	ErrInvalidNode = errors.New("hashring: empty node name")
	// ErrNodeExists is returned by Add when the node is already a member.
	ErrNodeExists = errors.New("hashring: node already exists")
	// ErrUnknownNode is returned when a node is not a member.
	ErrUnknownNode = errors.New("hashring: unknown node")
	// ErrInvalidWeight is returned when a weight is below 1 or above MaxWeight.
	ErrInvalidWeight = errors.New("hashring: invalid weight")
	// ErrFull is returned by Add when a Placement has as many nodes as its
	// capacity or a Table as many nodes as entries.
	ErrFull = errors.New("hashring: full")
	// ErrNoNodes is returned by Bounded.Acquire when the ring has no nodes.
	ErrNoNodes = errors.New("hashring: no nodes")
	// ErrLoadFactor is returned by NewBounded when the load factor is not a
	// finite number greater than 1.
	ErrLoadFactor = errors.New("hashring: load factor must be greater than 1")
	// ErrNotAcquired is returned by Bounded.Release when the node holds no
	// acquired keys.
	ErrNotAcquired = errors.New("hashring: node holds no acquired keys")
)

// Stats is a snapshot of a Picker's membership, as returned by the Stats
// method of Ring, Table, Placement and Rendezvous.
type Stats struct {
	// Nodes is the number of members.
	Nodes int
	// Changes counts the membership changes since the Picker was created:
	// the calls to Add, AddWeighted, Remove and SetWeight that changed the
	// members or their weights, each of which built and published one new
	// snapshot (an Add of several nodes counts once).
	Changes uint64
}

// MaxWeight is the largest weight a node may have.
const MaxWeight = 1 << 12

// Default settings; each Option's doc says which type reads it.
const (
	// DefaultVirtualNodes is the number of points a weight-1 node has on a
	// Ring. With DefaultProbes it keeps the max/average load near 1.07 at 10
	// and 100 nodes, in 264 KiB for 100 nodes; with one probe that balance
	// takes about 1000 points per node and 1 MiB. BenchmarkRingOptions
	// prints balance, memory and lookup time for other settings.
	DefaultVirtualNodes = 256
	// DefaultProbes is the number of probes per lookup on a Ring.
	DefaultProbes = 3
	// DefaultTableSize is the number of entries of a Table: the largest
	// prime whose table of 2-byte entries fits in 160 KiB. More entries
	// move fewer keys between staying nodes on a join or leave.
	DefaultTableSize = 81919
)

type config struct {
	vnodes    int
	probes    int
	tableSize int
}

func newConfig(opts []Option) config {
	c := config{vnodes: DefaultVirtualNodes, probes: DefaultProbes, tableSize: DefaultTableSize}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// An Option configures a Ring or a Table.
type Option func(*config)

// WithVirtualNodes sets how many points a node of weight 1 has on a Ring; a
// node of weight w has w times as many. More points balance better and cost
// memory and build time. Default: DefaultVirtualNodes. New panics if n < 1.
func WithVirtualNodes(n int) Option {
	return func(c *config) { c.vnodes = n }
}

// WithProbes sets how many points of the ring a Ring lookup probes
// (multi-probe consistent hashing): the key goes to the node whose point is
// nearest after any of its probes. More probes balance better and make each
// lookup slower. Default: DefaultProbes. New panics if k < 1 or k > 16.
func WithProbes(k int) Option {
	return func(c *config) { c.probes = k }
}

// WithTableSize sets the number of entries of a Table, between 2^8 and
// 2^24; a table takes 2 bytes per entry. Default: DefaultTableSize.
// NewTable panics on other sizes.
func WithTableSize(n int) Option {
	return func(c *config) { c.tableSize = n }
}

// hashKey is the hash every Picker applies to a key. It is part of the
// package's compatibility promise: changing it remaps keys.
func hashKey(key string) uint64 { return xxhash.Sum64String(key) }

func hashBytes(key []byte) uint64 { return xxhash.Sum64(key) }

// mix is the splitmix64 finalizer, used to derive further hashes from one.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

const golden = 0x9e3779b97f4a7c15

// reduce maps h uniformly onto [0, n) without division.
func reduce(h uint64, n uint32) uint32 {
	hi, _ := bits.Mul64(h, uint64(n))
	return uint32(hi)
}

func checkName(node string) error {
	if node == "" {
		return ErrInvalidNode
	}
	return nil
}

// checkNew returns ErrInvalidNode if a name in nodes is empty, and
// ErrNodeExists if one is named twice or isMember says it is a member.
func checkNew(nodes []string, isMember func(string) bool) error {
	// A set for long lists: comparing each name with all earlier ones
	// costs O(n²), 5,000 comparisons for 100 nodes.
	var seen map[string]struct{}
	if len(nodes) > 16 {
		seen = make(map[string]struct{}, len(nodes))
	}
	for i, n := range nodes {
		if n == "" {
			return ErrInvalidNode
		}
		var dup bool
		if seen != nil {
			_, dup = seen[n]
			seen[n] = struct{}{}
		} else {
			dup = slices.Contains(nodes[:i], n)
		}
		if dup || isMember(n) {
			return fmt.Errorf("%w: %q", ErrNodeExists, n)
		}
	}
	return nil
}
