package redisbloom

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/distkit/distkit/bloom"
)

// maxBytes is the largest string Redis stores by default (proto-max-bulk-len).
const maxBytes = 512 << 20

// A Filter is a blocked Bloom filter kept in Redis under one name. It is safe
// for concurrent use by multiple goroutines and processes: every operation is
// one atomic Lua script.
type Filter struct {
	rdb      redis.Scripter
	name     string
	keys     []string // the bits, then the geometry; they share a hash tag
	geometry string   // how the geometry is written in Redis
	geom     bloom.Geometry
	n        int
	p        float64

	calls, added, tested, present, errs atomic.Uint64
}

// Stats is a snapshot of a Filter's counters since New.
type Stats struct {
	// Calls counts round trips to Redis: one per call of Add, Test,
	// TestAndAdd, their batch forms (empty batches make none), Store and
	// Fetch, failed or not.
	Calls uint64
	// Added counts keys sent to Redis by Add, AddMany, TestAndAdd and
	// TestAndAddMany in calls that succeeded (new or already present).
	Added uint64
	// Tested counts keys answered by Test, TestMany, TestAndAdd and
	// TestAndAddMany in calls that succeeded.
	Tested uint64
	// Present counts the tested keys answered "may be present".
	Present uint64
	// Errors counts calls that failed with an error from Redis (or an
	// unexpected reply) while their ctx had not ended; calls cut short by
	// their ctx are not counted.
	Errors uint64
}

// Stats returns a snapshot of the Filter's counters. It does no I/O and is
// safe to call concurrently.
func (f *Filter) Stats() Stats {
	return Stats{
		Calls:   f.calls.Load(),
		Added:   f.added.Load(),
		Tested:  f.tested.Load(),
		Present: f.present.Load(),
		Errors:  f.errs.Load(),
	}
}

// An Option configures a Filter.
type Option func(*Filter)

// WithPrefix sets the prefix of the Redis keys the Filter uses. Default:
// "bloom:". The filter named name lives in prefix+"{"+name+"}" (its bits)
// and prefix+"{"+name+"}:geometry".
func WithPrefix(prefix string) Option {
	return func(f *Filter) { f.keys = []string{prefix} }
}

// New returns a Filter named name in rdb, sized for n keys at false-positive
// rate p as bloom.New(n, p) is, so the two hash keys to the same bits. It
// does no I/O: the Redis keys appear with the first Add. It panics, as
// bloom.New does, if n < 0 or p is not in (0, 1), and if the filter would
// exceed 512 MiB, the largest string Redis stores by default.
func New(rdb redis.Scripter, name string, n int, p float64, opts ...Option) *Filter {
	g := bloom.Size(n, p)
	if g.Blocks*bloom.BlockBits/8 > maxBytes {
		panic("redisbloom: filter larger than 512 MiB")
	}
	f := &Filter{rdb: rdb, name: name, geom: g, n: max(n, 1), p: p, keys: []string{"bloom:"}}
	for _, o := range opts {
		o(f)
	}
	base := f.keys[0] + "{" + name + "}"
	f.keys = []string{base, base + ":geometry"}
	f.geometry = "v3 " + strconv.FormatUint(g.Blocks, 10) + " " + strconv.Itoa(g.K)
	return f
}

// Geometry returns the geometry of f, equal to bloom.Size(n, p).
func (f *Filter) Geometry() bloom.Geometry { return f.geom }

// Redis offsets. Bit i of a block is bit i%64 of little-endian word i/64,
// that is byte 8(i/64) + (i%64)/8 of the block, bit (i%8) counted from the
// least significant end; Redis numbers a byte's bits from the most
// significant end.
func offset(block uint64, pos uint16) int64 {
	byteOff := block*64 + uint64(pos/64)*8 + uint64(pos%64/8)
	return int64(byteOff*8 + uint64(7-pos%8))
}

// args returns the script arguments for keys: the geometry, K, and the K bit
// offsets of each key packed as little-endian uint32s in one string (the
// filter is at most 512 MiB, so offsets fit). One packed argument instead of
// one per offset saves the client an allocation per offset and the server a
// parse.
func (f *Filter) args(hashes func(yield func(uint64) bool), count int) []any {
	packed := make([]byte, 0, 4*count*f.geom.K)
	var pos []uint16
	for h := range hashes {
		var block uint64
		block, pos = f.geom.Locate(h, pos)
		for _, p := range pos {
			packed = binary.LittleEndian.AppendUint32(packed, uint32(offset(block, p)))
		}
	}
	return []any{f.geometry, f.geom.K, packed}
}

func one(key string) func(func(uint64) bool) {
	return func(yield func(uint64) bool) { yield(bloom.HashString(key)) }
}

func many(keys []string) func(func(uint64) bool) {
	return func(yield func(uint64) bool) {
		for _, k := range keys {
			if !yield(bloom.HashString(k)) {
				return
			}
		}
	}
}

// checkGeometry is the Lua prologue every script starts with: the geometry
// key, when present, must match ours.
const checkGeometry = `
local g = redis.call('GET', KEYS[2])
if g and g ~= ARGV[1] then
  return redis.error_reply('ERR bloom: incompatible geometry ' .. g)
end
`

// addScript sets K bits per key, all in the key's block, and returns, per
// key, 1 if all of them were set before. It sets the bits of many keys with
// one BITFIELD call, as many as Lua's unpack takes (under 8000 arguments):
// a call from Lua costs more than the bits it sets.
var addScript = redis.NewScript(checkGeometry + `
if not g then redis.call('SET', KEYS[2], ARGV[1]) end
local k = tonumber(ARGV[2])
local packed = ARGV[3]
local total = #packed / 4
local chunk = math.floor(7900 / (4 * k)) * k
local out = {}
for first = 0, total - 1, chunk do
  local last = math.min(first + chunk, total) - 1
  local cmd = {'BITFIELD', KEYS[1]}
  for b = first, last do
    local n = #cmd
    cmd[n + 1] = 'SET'; cmd[n + 2] = 'u1'
    cmd[n + 3] = (struct.unpack('<I4', packed, 4 * b + 1)); cmd[n + 4] = 1
  end
  local old = redis.call(unpack(cmd))
  for key = 0, (last - first + 1) / k - 1 do
    local present = 1
    for j = 1, k do
      if old[key * k + j] == 0 then present = 0 end
    end
    out[#out + 1] = present
  end
end
return out
`)

// testScript returns, per key, 1 if all K of its bits are set; it stops at
// the first clear bit.
var testScript = redis.NewScript(checkGeometry + `
local k = tonumber(ARGV[2])
local packed = ARGV[3]
local out = {}
for i = 1, #packed, 4 * k do
  local present = 1
  for j = 0, k - 1 do
    if redis.call('GETBIT', KEYS[1], (struct.unpack('<I4', packed, i + 4 * j))) == 0 then present = 0; break end
  end
  out[#out + 1] = present
end
return out
`)

// Add adds key to f in one round trip.
func (f *Filter) Add(ctx context.Context, key string) error {
	_, err := f.run(ctx, addScript, "add", f.args(one(key), 1), 1, false)
	return err
}

// Test reports whether key may be in f, in one round trip.
func (f *Filter) Test(ctx context.Context, key string) (bool, error) {
	r, err := f.run(ctx, testScript, "test", f.args(one(key), 1), 1, true)
	return err == nil && r[0], err
}

// TestAndAdd adds key to f and reports whether it tested true before, in one
// round trip. The script runs atomically, so of processes adding the same
// key at once at most one sees false.
func (f *Filter) TestAndAdd(ctx context.Context, key string) (bool, error) {
	r, err := f.run(ctx, addScript, "add", f.args(one(key), 1), 1, true)
	return err == nil && r[0], err
}

// AddMany adds keys to f in one round trip.
func (f *Filter) AddMany(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	_, err := f.run(ctx, addScript, "add", f.args(many(keys), len(keys)), len(keys), false)
	return err
}

// TestMany reports, for each of keys, whether it may be in f, in one round
// trip.
func (f *Filter) TestMany(ctx context.Context, keys []string) ([]bool, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	return f.run(ctx, testScript, "test", f.args(many(keys), len(keys)), len(keys), true)
}

// TestAndAddMany adds keys to f and reports, for each, whether it tested true
// before, in one round trip. A key repeated within keys tests true from its
// second occurrence on.
func (f *Filter) TestAndAddMany(ctx context.Context, keys []string) ([]bool, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	return f.run(ctx, addScript, "add", f.args(many(keys), len(keys)), len(keys), true)
}

// run runs script and returns its answer per key, counting the keys as
// added by addScript and, if tested is set, as tested.
func (f *Filter) run(ctx context.Context, s *redis.Script, op string, args []any, n int, tested bool) ([]bool, error) {
	f.calls.Add(1)
	res, err := s.Run(ctx, f.rdb, f.keys, args...).Int64Slice()
	if err != nil {
		f.failed(ctx)
		return nil, f.wrap(op, err)
	}
	if len(res) != n {
		f.failed(ctx)
		return nil, fmt.Errorf("redisbloom: %s %q: %d answers for %d keys", op, f.name, len(res), n)
	}
	out := make([]bool, n)
	present := 0
	for i, v := range res {
		out[i] = v == 1
		if out[i] {
			present++
		}
	}
	if s == addScript {
		f.added.Add(uint64(n))
	}
	if tested {
		f.tested.Add(uint64(n))
		f.present.Add(uint64(present))
	}
	return out, nil
}

// failed counts an error from Redis, unless ctx has ended.
func (f *Filter) failed(ctx context.Context) {
	if ctx.Err() == nil {
		f.errs.Add(1)
	}
}

func (f *Filter) wrap(op string, err error) error {
	if strings.Contains(err.Error(), "bloom: incompatible geometry") {
		return fmt.Errorf("redisbloom: %s %q: %w (%v)", op, f.name, bloom.ErrIncompatible, err)
	}
	return fmt.Errorf("redisbloom: %s %q: %w", op, f.name, err)
}

var storeScript = redis.NewScript(`
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[1])
return 1
`)

// Store replaces the contents of f in Redis with those of mem, in one round
// trip. It returns bloom.ErrIncompatible, writing nothing, if mem's geometry
// differs from f's.
func (f *Filter) Store(ctx context.Context, mem *bloom.Filter) error {
	if mem.Geometry() != f.geom {
		return fmt.Errorf("redisbloom: store %q: %w: %+v, want %+v", f.name, bloom.ErrIncompatible, mem.Geometry(), f.geom)
	}
	f.calls.Add(1)
	if err := storeScript.Run(ctx, f.rdb, f.keys, f.geometry, mem.AppendBlocks(nil)).Err(); err != nil {
		f.failed(ctx)
		return f.wrap("store", err)
	}
	return nil
}

var fetchScript = redis.NewScript(checkGeometry + `
return redis.call('GET', KEYS[1]) or ''
`)

// Fetch returns a copy of f in memory, equal to bloom.New(n, p) with every
// key added to f, in one round trip. A filter never added to fetches empty.
func (f *Filter) Fetch(ctx context.Context) (*bloom.Filter, error) {
	f.calls.Add(1)
	data, err := fetchScript.Run(ctx, f.rdb, f.keys, f.geometry).Text()
	if err != nil {
		f.failed(ctx)
		return nil, f.wrap("fetch", err)
	}
	mem := bloom.New(f.n, f.p)
	if err := mem.SetBlocks([]byte(data)); err != nil {
		f.failed(ctx)
		return nil, fmt.Errorf("redisbloom: fetch %q: %w", f.name, err)
	}
	return mem, nil
}
