package bloom

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

// The encoding is documented on MarshalBinary.
const (
	magic      = "DKBF"
	version    = 3
	headerSize = 32
	sumSize    = 8
)

// chunkWords is how many words ReadFrom reads at a time, so that a header
// promising a huge filter costs no more memory than the bytes that follow it.
const chunkWords = 1 << 17 // 1 MiB

func (f *Filter) header() [headerSize]byte {
	var h [headerSize]byte
	copy(h[:], magic)
	h[4] = version
	h[5] = byte(f.geom.K)
	binary.LittleEndian.PutUint64(h[8:], f.geom.Blocks)
	binary.LittleEndian.PutUint64(h[16:], f.n)
	binary.LittleEndian.PutUint64(h[24:], math.Float64bits(f.p))
	return h
}

// parseHeader checks h and returns what it describes.
func parseHeader(h []byte) (g Geometry, n uint64, p float64, err error) {
	if string(h[:4]) != magic {
		return g, 0, 0, fmt.Errorf("%w: magic %q, want %q", ErrFormat, h[:4], magic)
	}
	if h[4] != version {
		// Versions 1 and 2 placed the bits otherwise within a block (1:
		// a word per bit; 2: positions by double hashing): their bits
		// would not test the same keys under this version's layout.
		return g, 0, 0, fmt.Errorf("%w: version %d, want %d", ErrFormat, h[4], version)
	}
	if h[6] != 0 || h[7] != 0 {
		return g, 0, 0, fmt.Errorf("%w: reserved bytes set", ErrCorrupt)
	}
	g = Geometry{Blocks: binary.LittleEndian.Uint64(h[8:]), K: int(h[5])}
	if !g.Valid() {
		return g, 0, 0, fmt.Errorf("%w: invalid geometry %d blocks, k %d", ErrCorrupt, g.Blocks, g.K)
	}
	n = binary.LittleEndian.Uint64(h[16:])
	p = math.Float64frombits(binary.LittleEndian.Uint64(h[24:]))
	if !(p >= 0 && p < 1) || n > math.MaxInt64 {
		return g, 0, 0, fmt.Errorf("%w: invalid sizing n %d, p %v", ErrCorrupt, n, p)
	}
	return g, n, p, nil
}

// MarshalBinary encodes f. Keys added during the call may or may not be
// included. Its error is always nil.
//
// The encoding, version 3, is little-endian throughout:
//
//	offset  size        field
//	0       4           magic "DKBF"
//	4       1           version, 3
//	5       1           K, in [1, 32]
//	6       2           reserved, 0
//	8       8           block count B, in [1, 2^32]
//	16      8           capacity n the filter was sized for, 0 if unknown
//	24      8           rate p it was sized for (IEEE 754 bits), 0 if unknown
//	32      64·B        the blocks; word w of block b at 32 + 64b + 8w
//	32+64B  8           xxhash64 (seed 0) of every byte before it
//
// Bit i of a block is bit i%64 of its word i/64, and keys map to blocks and
// bits as Geometry.Locate says. The encoding is stable: a later version of
// this package reads it, and writes it unchanged while the version stays 3.
// Versions 1 and 2, which placed a key's bits otherwise within its block, are
// refused with ErrFormat.
func (f *Filter) MarshalBinary() ([]byte, error) {
	return f.AppendBinary(make([]byte, 0, f.encodedSize()))
}

// AppendBinary appends the encoding of MarshalBinary to b and returns the
// result. It implements encoding.BinaryAppender. Its error is always nil.
func (f *Filter) AppendBinary(b []byte) ([]byte, error) {
	start := len(b)
	h := f.header()
	b = append(b, h[:]...)
	for i := range f.words {
		b = binary.LittleEndian.AppendUint64(b, atomic.LoadUint64(&f.words[i]))
	}
	return binary.LittleEndian.AppendUint64(b, xxhash.Sum64(b[start:])), nil
}

// encodedSize returns the length of f's encoding.
func (f *Filter) encodedSize() int { return headerSize + 8*len(f.words) + sumSize }

// UnmarshalBinary replaces f with the filter encoded in data by MarshalBinary
// or WriteTo. Input that is truncated, damaged or has trailing bytes gives an
// error wrapping ErrCorrupt; input that is not a filter, or of a newer
// version, gives one wrapping ErrFormat. On error f is unchanged. It must not
// be called while other goroutines use f.
func (f *Filter) UnmarshalBinary(data []byte) error {
	if len(data) < headerSize+sumSize {
		if len(data) >= 4 && string(data[:4]) != magic {
			return fmt.Errorf("%w: magic %q, want %q", ErrFormat, data[:4], magic)
		}
		return fmt.Errorf("%w: %d bytes, shorter than a header", ErrCorrupt, len(data))
	}
	g, n, p, err := parseHeader(data[:headerSize])
	if err != nil {
		return err
	}
	if want := uint64(headerSize+sumSize) + g.Blocks*BlockBits/8; uint64(len(data)) != want {
		return fmt.Errorf("%w: %d bytes, want %d for %d blocks", ErrCorrupt, len(data), want, g.Blocks)
	}
	end := len(data) - sumSize
	if xxhash.Sum64(data[:end]) != binary.LittleEndian.Uint64(data[end:]) {
		return fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	words := make([]uint64, g.Blocks*blockWords)
	for i := range words {
		words[i] = binary.LittleEndian.Uint64(data[headerSize+8*i:])
	}
	*f = Filter{words: words, geom: g, n: n, p: p}
	return nil
}

// MarshalText encodes f as MarshalBinary does, in standard padded base64,
// so that a Filter travels as one string in JSON and other text formats.
// Its error is always nil.
func (f *Filter) MarshalText() ([]byte, error) {
	bin, _ := f.MarshalBinary()
	return toBase64(bin), nil
}

// UnmarshalText replaces f with the filter MarshalText encoded in text. Text
// that is not base64 gives an error wrapping ErrFormat; otherwise errors are
// those of UnmarshalBinary. On error f is unchanged. It must not be called
// while other goroutines use f.
func (f *Filter) UnmarshalText(text []byte) error {
	bin, err := fromBase64(text)
	if err != nil {
		return err
	}
	return f.UnmarshalBinary(bin)
}

// toBase64 returns bin in standard padded base64.
func toBase64(bin []byte) []byte {
	text := make([]byte, base64.StdEncoding.EncodedLen(len(bin)))
	base64.StdEncoding.Encode(text, bin)
	return text
}

// fromBase64 decodes text, standard padded base64, with an error wrapping
// ErrFormat if it is not.
func fromBase64(text []byte) ([]byte, error) {
	bin := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
	n, err := base64.StdEncoding.Strict().Decode(bin, text)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64: %w", ErrFormat, err)
	}
	return bin[:n], nil
}

// WriteTo writes f to w in the encoding of MarshalBinary, without building it
// in memory, and returns the number of bytes written. Keys added during the
// call may or may not be included.
func (f *Filter) WriteTo(w io.Writer) (int64, error) {
	d := xxhash.New()
	var written int64
	put := func(b []byte) error {
		d.Write(b)
		n, err := w.Write(b)
		written += int64(n)
		return err
	}
	h := f.header()
	if err := put(h[:]); err != nil {
		return written, err
	}
	buf := make([]byte, 0, 8*min(len(f.words), 4096))
	for i := range f.words {
		buf = binary.LittleEndian.AppendUint64(buf, atomic.LoadUint64(&f.words[i]))
		if len(buf) == cap(buf) && i+1 < len(f.words) {
			if err := put(buf); err != nil {
				return written, err
			}
			buf = buf[:0]
		}
	}
	if err := put(buf); err != nil {
		return written, err
	}
	var sum [sumSize]byte
	binary.LittleEndian.PutUint64(sum[:], d.Sum64())
	n, err := w.Write(sum[:])
	written += int64(n)
	return written, err
}

// ReadFrom replaces f with a filter read from r in the encoding of
// MarshalBinary, reading exactly its bytes, and returns how many it read.
// Errors are those of UnmarshalBinary, or of r; a stream that ends early
// gives ErrCorrupt wrapping io.ErrUnexpectedEOF. Memory grows with the bytes
// actually read, never just with what a header claims. On error f is
// unchanged. It must not be called while other goroutines use f.
func (f *Filter) ReadFrom(r io.Reader) (int64, error) {
	var read int64
	full := func(b []byte) error {
		n, err := io.ReadFull(r, b)
		read += int64(n)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: truncated after %d bytes: %w", ErrCorrupt, read, io.ErrUnexpectedEOF)
		}
		return err
	}
	var h [headerSize]byte
	if err := full(h[:]); err != nil {
		if read >= 4 && string(h[:4]) != magic {
			return read, fmt.Errorf("%w: magic %q, want %q", ErrFormat, h[:4], magic)
		}
		return read, err
	}
	g, n, p, err := parseHeader(h[:])
	if err != nil {
		return read, err
	}
	d := xxhash.New()
	d.Write(h[:])
	total := int(g.Blocks * blockWords)
	words := make([]uint64, 0, min(total, chunkWords))
	buf := make([]byte, 8*min(total, chunkWords))
	for len(words) < total {
		chunk := buf[:8*min(total-len(words), chunkWords)]
		if err := full(chunk); err != nil {
			return read, err
		}
		d.Write(chunk)
		for i := 0; i < len(chunk); i += 8 {
			words = append(words, binary.LittleEndian.Uint64(chunk[i:]))
		}
	}
	var sum [sumSize]byte
	if err := full(sum[:]); err != nil {
		return read, err
	}
	if d.Sum64() != binary.LittleEndian.Uint64(sum[:]) {
		return read, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	*f = Filter{words: words, geom: g, n: n, p: p}
	return read, nil
}

// AppendBlocks appends f's blocks to dst in the layout of the encoding
// (64 bytes per block, words little-endian), without header or checksum:
// the form package redisbloom stores in Redis. Keys added during the call
// may or may not be included.
func (f *Filter) AppendBlocks(dst []byte) []byte {
	for i := range f.words {
		dst = binary.LittleEndian.AppendUint64(dst, atomic.LoadUint64(&f.words[i]))
	}
	return dst
}

// SetBlocks replaces f's blocks with data in the layout of AppendBlocks.
// Data shorter than f's blocks leaves the rest clear, as a Redis string only
// grows as far as its highest set bit; longer data gives an error wrapping
// ErrCorrupt and leaves f unchanged. Keys added during the call may be lost.
func (f *Filter) SetBlocks(data []byte) error {
	if uint64(len(data)) > f.geom.Blocks*BlockBits/8 {
		return fmt.Errorf("%w: %d bytes of blocks, more than the %d of %d blocks",
			ErrCorrupt, len(data), f.geom.Blocks*BlockBits/8, f.geom.Blocks)
	}
	var last [8]byte
	for i := range f.words {
		var v uint64
		switch off := 8 * i; {
		case off+8 <= len(data):
			v = binary.LittleEndian.Uint64(data[off:])
		case off < len(data):
			copy(last[:], data[off:])
			v = binary.LittleEndian.Uint64(last[:])
		}
		atomic.StoreUint64(&f.words[i], v)
	}
	return nil
}
