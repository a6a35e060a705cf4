package bloom

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"testing"

	"github.com/cespare/xxhash/v2"
)

// goldenScalable is the Scalable whose encoding testdata/scalable-v1.golden
// pins: three stages, the last partly filled.
func goldenScalable() *Scalable {
	s := NewScalable(20, 0.01)
	for _, k := range keys("golden-", 100) {
		s.AddString(k)
	}
	return s
}

func TestScalableGoldenEncoding(t *testing.T) {
	got, _ := goldenScalable().MarshalBinary()
	want := checkGolden(t, "scalable-v1.golden", got)
	var s Scalable
	if err := s.UnmarshalBinary(want); err != nil {
		t.Fatalf("UnmarshalBinary(golden) = %v", err)
	}
	for _, k := range keys("golden-", 100) {
		if !s.TestString(k) {
			t.Fatalf("golden scalable: Test(%q) = false; want true", k)
		}
	}
	if g := goldenScalable(); s.Stages() != g.Stages() || s.Cap() != g.Cap() || s.Count() != g.Count() {
		t.Errorf("golden scalable: %d stages, cap %d, count %d; want %d, %d, %d", s.Stages(), s.Cap(), s.Count(), g.Stages(), g.Cap(), g.Count())
	}
}

func TestScalableEncodingRoundTrip(t *testing.T) {
	orig := NewScalable(1000, 0.001, WithGrowth(4), WithTightening(0.5))
	ks := keys("k", 30_000)
	for _, k := range ks[:20_000] {
		orig.AddString(k)
	}
	data, _ := orig.MarshalBinary()
	var s Scalable
	if err := s.UnmarshalBinary(data); err != nil {
		t.Fatalf("UnmarshalBinary = %v", err)
	}
	if s.Stages() != orig.Stages() || s.Cap() != orig.Cap() || s.Count() != orig.Count() {
		t.Fatalf("decoded: %d stages, cap %d, count %d; want %d, %d, %d", s.Stages(), s.Cap(), s.Count(), orig.Stages(), orig.Cap(), orig.Count())
	}
	again, _ := s.MarshalBinary()
	if !bytes.Equal(again, data) {
		t.Fatal("a decoded Scalable does not re-encode to the same bytes")
	}
	// The decoded one goes on growing as the original does.
	for _, k := range ks[20_000:] {
		orig.AddString(k)
		s.AddString(k)
	}
	if s.Stages() != orig.Stages() || s.Count() != orig.Count() {
		t.Errorf("after 10 000 more keys: %d stages, count %d; the original has %d, %d", s.Stages(), s.Count(), orig.Stages(), orig.Count())
	}
	for _, k := range ks {
		if !s.TestString(k) {
			t.Fatalf("Test(%q) = false after the round trip", k)
		}
	}
}

func TestScalableDecodeFull(t *testing.T) {
	// Encoded just as its newest stage filled: decoding adds the next one.
	s := NewScalable(10, 0.01)
	st := (*s.stages.Load())[0]
	st.count.Store(st.cap)
	data, _ := s.MarshalBinary()
	var d Scalable
	if err := d.UnmarshalBinary(data); err != nil || d.Stages() != 2 {
		t.Fatalf("UnmarshalBinary of a full newest stage = %v, %d stages; want nil, 2", err, d.Stages())
	}
}

// resum recomputes the checksum of a Scalable encoding after an edit.
func resum(data []byte) []byte {
	end := len(data) - sumSize
	binary.LittleEndian.PutUint64(data[end:], xxhash.Sum64(data[:end]))
	return data
}

func TestScalableDecodeRejects(t *testing.T) {
	good, _ := goldenScalable().MarshalBinary()
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	putFloat := func(off int, v float64) []byte {
		return edit(func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[off:], math.Float64bits(v))
			return resum(b)
		})
	}
	for _, c := range []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrCorrupt},
		{"a Filter", func() []byte { b, _ := goldenFilter().MarshalBinary(); return b }(), ErrFormat},
		{"version 2", edit(func(b []byte) []byte { b[4] = 2; return resum(b) }), ErrFormat},
		{"truncated", good[:len(good)-9], ErrCorrupt},
		{"bit flipped", edit(func(b []byte) []byte { b[100] ^= 1; return b }), ErrCorrupt},
		{"trailing byte", edit(func(b []byte) []byte { return resum(append(b[:len(b)-sumSize], 0, 0, 0, 0, 0, 0, 0, 0, 0)) }), ErrCorrupt},
		{"k 0", edit(func(b []byte) []byte { b[5] = 0; return resum(b) }), ErrCorrupt},
		{"p 1", putFloat(8, 1), ErrCorrupt},
		{"p NaN", putFloat(8, math.NaN()), ErrCorrupt},
		{"growth 1e9", putFloat(16, 1e9), ErrCorrupt},
		{"tightening 0", putFloat(24, 0), ErrCorrupt},
		{"no stages", edit(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[32:], 0); return resum(b) }), ErrCorrupt},
		{"a million stages", edit(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[32:], 1e6); return resum(b) }), ErrCorrupt},
		{"negative count", edit(func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[scalableHeaderSize:], math.MaxUint64)
			return resum(b)
		}), ErrCorrupt},
		{"capacity beyond its filter", edit(func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[scalableHeaderSize+8:], 1<<40)
			return resum(b)
		}), ErrCorrupt},
		{"capacity beyond its filter's bits", func() []byte {
			// A stage claiming 1M keys in one block: its filter agrees, but
			// 512 bits cannot hold them.
			s := NewScalable(10, 0.01)
			st := &(*s.stages.Load())[0]
			st.cap, st.f.n = 1<<20, 1<<20
			b, _ := s.MarshalBinary()
			return b
		}(), ErrCorrupt},
		{"filter length past the end", edit(func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[scalableHeaderSize+16:], 1<<62)
			return resum(b)
		}), ErrCorrupt},
	} {
		s := NewScalable(7, 0.05)
		err := s.UnmarshalBinary(c.data)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: UnmarshalBinary = %v; want %v", c.name, err, c.want)
		}
		if s.Cap() != 7 || s.p != 0.05 {
			t.Errorf("%s: UnmarshalBinary changed the Scalable on error", c.name)
		}
	}
}

func FuzzScalableUnmarshalBinary(f *testing.F) {
	good, _ := goldenScalable().MarshalBinary()
	f.Add(good)
	f.Add(good[:scalableHeaderSize])
	f.Add([]byte(scalableMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Scalable
		if err := s.UnmarshalBinary(data); err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrFormat) {
				t.Fatalf("UnmarshalBinary error %v is neither ErrCorrupt nor ErrFormat", err)
			}
			return
		}
		s.AddString("x")
		if !s.TestString("x") {
			t.Fatal("decoded Scalable lost a key")
		}
		out, _ := s.MarshalBinary()
		var again Scalable
		if err := again.UnmarshalBinary(out); err != nil || again.Stages() != s.Stages() {
			t.Fatalf("re-encoding of accepted input does not decode: %v", err)
		}
	})
}

func TestScalableJSON(t *testing.T) {
	orig := goldenScalable()
	b, err := json.Marshal(map[string]*Scalable{"seen": orig})
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]*Scalable
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("json round trip: %v", err)
	}
	s := doc["seen"]
	if s.Stages() != orig.Stages() || s.Count() != orig.Count() {
		t.Fatalf("decoded %d stages, count %d; want %d, %d", s.Stages(), s.Count(), orig.Stages(), orig.Count())
	}
	for _, k := range keys("golden-", 100) {
		if !s.TestString(k) {
			t.Fatalf("key %q lost in the JSON round trip", k)
		}
	}
	if err := s.UnmarshalText([]byte("not base64!")); !errors.Is(err, ErrFormat) {
		t.Errorf("UnmarshalText(not base64) = %v; want ErrFormat", err)
	}
}
