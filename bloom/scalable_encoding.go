package bloom

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

// The encoding of a Scalable is documented on Scalable.MarshalBinary.
const (
	scalableMagic      = "DKSB"
	scalableVersion    = 1
	scalableHeaderSize = 40
	stageHeaderSize    = 24
)

// maxGrowth is the largest growth factor a Scalable takes (WithGrowth). With
// the check that a stage holds at least a quarter of a bit per key of its
// capacity (no rate a stage is sized for needs fewer), it bounds what the
// next stage of a decoded Scalable allocates to a few thousand times the
// size of the encoding.
const maxGrowth = 16

// MarshalBinary encodes s: its parameters, and each stage's count and
// capacity with the stage's Filter in its own encoding (see
// Filter.MarshalBinary). Keys added during the call may or may not be
// included. Its error is always nil.
//
// The encoding, version 1, is little-endian throughout:
//
//	offset  size  field
//	0       4     magic "DKSB"
//	4       1     version, 1
//	5       1     K shared by the stages, in [1, 32]
//	6       2     reserved, 0
//	8       8     rate p (IEEE 754 bits), in (0, 1)
//	16      8     growth (IEEE 754 bits), in [2, 16]
//	24      8     tightening ratio (IEEE 754 bits), in (0, 1)
//	32      4     stage count S, at least 1
//	36      4     reserved, 0
//	40      ...   S stages, oldest first, each:
//	              8  keys counted in the stage (int64), at least 0
//	              8  its capacity (int64), the Filter's n, in [1, 2^40],
//	                 at most 4 per bit of the Filter
//	              8  length L of the Filter's encoding
//	              L  the Filter's encoding
//	end-8   8     xxhash64 (seed 0) of every byte before it
func (s *Scalable) MarshalBinary() ([]byte, error) {
	st := *s.stages.Load()
	size := scalableHeaderSize + sumSize
	for i := range st {
		size += stageHeaderSize + st[i].f.encodedSize()
	}
	buf := make([]byte, scalableHeaderSize, size)
	copy(buf, scalableMagic)
	buf[4] = scalableVersion
	buf[5] = byte(s.k)
	binary.LittleEndian.PutUint64(buf[8:], math.Float64bits(s.p))
	binary.LittleEndian.PutUint64(buf[16:], math.Float64bits(s.growth))
	binary.LittleEndian.PutUint64(buf[24:], math.Float64bits(s.ratio))
	binary.LittleEndian.PutUint32(buf[32:], uint32(len(st)))
	for i := range st {
		buf = binary.LittleEndian.AppendUint64(buf, uint64(st[i].count.Load()))
		buf = binary.LittleEndian.AppendUint64(buf, uint64(st[i].cap))
		buf = binary.LittleEndian.AppendUint64(buf, uint64(st[i].f.encodedSize()))
		buf, _ = st[i].f.AppendBinary(buf)
	}
	return binary.LittleEndian.AppendUint64(buf, xxhash.Sum64(buf)), nil
}

// MarshalText encodes s as MarshalBinary does, in standard padded base64,
// so that a Scalable travels as one string in JSON and other text formats.
// Its error is always nil.
func (s *Scalable) MarshalText() ([]byte, error) {
	bin, _ := s.MarshalBinary()
	return toBase64(bin), nil
}

// UnmarshalText replaces s with the Scalable MarshalText encoded in text.
// Text that is not base64 gives an error wrapping ErrFormat; otherwise
// errors are those of UnmarshalBinary. On error s is unchanged. It must not
// be called while other goroutines use s.
func (s *Scalable) UnmarshalText(text []byte) error {
	bin, err := fromBase64(text)
	if err != nil {
		return err
	}
	return s.UnmarshalBinary(bin)
}

// UnmarshalBinary replaces s with the Scalable encoded in data by
// MarshalBinary. Input that is truncated, damaged or inconsistent gives an
// error wrapping ErrCorrupt; input that is not a Scalable, or of a newer
// version, gives one wrapping ErrFormat. On error s is unchanged. It must not
// be called while other goroutines use s.
func (s *Scalable) UnmarshalBinary(data []byte) error {
	if len(data) < scalableHeaderSize+sumSize {
		if len(data) >= 4 && string(data[:4]) != scalableMagic {
			return fmt.Errorf("%w: magic %q, want %q", ErrFormat, data[:4], scalableMagic)
		}
		return fmt.Errorf("%w: %d bytes, shorter than a header", ErrCorrupt, len(data))
	}
	if string(data[:4]) != scalableMagic {
		return fmt.Errorf("%w: magic %q, want %q", ErrFormat, data[:4], scalableMagic)
	}
	if data[4] != scalableVersion {
		return fmt.Errorf("%w: scalable version %d, want %d", ErrFormat, data[4], scalableVersion)
	}
	end := len(data) - sumSize
	if xxhash.Sum64(data[:end]) != binary.LittleEndian.Uint64(data[end:]) {
		return fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	k := int(data[5])
	p := math.Float64frombits(binary.LittleEndian.Uint64(data[8:]))
	growth := math.Float64frombits(binary.LittleEndian.Uint64(data[16:]))
	ratio := math.Float64frombits(binary.LittleEndian.Uint64(data[24:]))
	n := binary.LittleEndian.Uint32(data[32:])
	switch {
	case data[6] != 0 || data[7] != 0 || binary.LittleEndian.Uint32(data[36:]) != 0:
		return fmt.Errorf("%w: reserved bytes set", ErrCorrupt)
	case k < 1 || k > MaxK:
		return fmt.Errorf("%w: k %d", ErrCorrupt, k)
	case !(p > 0 && p < 1) || !(growth >= 2 && growth <= maxGrowth) || !(ratio > 0 && ratio < 1):
		return fmt.Errorf("%w: invalid p %v, growth %v or tightening %v", ErrCorrupt, p, growth, ratio)
	case n < 1 || uint64(n) > uint64(end-scalableHeaderSize)/stageHeaderSize:
		return fmt.Errorf("%w: %d stages in %d bytes", ErrCorrupt, n, len(data))
	}
	st := make([]stage, n)
	rest := data[scalableHeaderSize:end]
	for i := range st {
		if len(rest) < stageHeaderSize {
			return fmt.Errorf("%w: stage %d truncated", ErrCorrupt, i)
		}
		count := int64(binary.LittleEndian.Uint64(rest))
		capacity := int64(binary.LittleEndian.Uint64(rest[8:]))
		size := binary.LittleEndian.Uint64(rest[16:])
		rest = rest[stageHeaderSize:]
		if size > uint64(len(rest)) {
			return fmt.Errorf("%w: stage %d: %d bytes of filter, %d left", ErrCorrupt, i, size, len(rest))
		}
		f := new(Filter)
		if err := f.UnmarshalBinary(rest[:size]); err != nil {
			return fmt.Errorf("stage %d: %w", i, err)
		}
		rest = rest[size:]
		if count < 0 || capacity < 1 || capacity > maxStageCap || uint64(capacity) != f.n ||
			uint64(capacity) > 4*f.geom.Bits() {
			return fmt.Errorf("%w: stage %d: count %d, capacity %d for a filter of %d keys", ErrCorrupt, i, count, capacity, f.n)
		}
		c := new(atomic.Int64)
		c.Store(count)
		st[i] = stage{words: f.words, blocks: f.geom.Blocks, k: f.geom.K, f: f, count: c, cap: capacity}
	}
	if len(rest) != 0 {
		return fmt.Errorf("%w: %d bytes after the last stage", ErrCorrupt, len(rest))
	}
	s.p, s.growth, s.ratio, s.k = p, growth, ratio, k
	s.stages.Store(&st)
	if last := &st[len(st)-1]; last.count.Load() >= last.cap {
		s.grow(len(st)) // encoded while its next stage was being added
	}
	return nil
}
