package bloom

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"testing/iotest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenFilter is the filter whose encoding testdata/filter-v3.golden pins.
func goldenFilter() *Filter {
	f := New(100, 0.01)
	for _, k := range keys("golden-", 50) {
		f.AddString(k)
	}
	return f
}

// checkGolden compares an encoding with testdata/name, after rewriting the
// file with it under -update, and returns the file's contents.
func checkGolden(t *testing.T, name string, got []byte) []byte {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the encoding differs from %s: the encoding, the sizing or the hashing changed; "+
			"filters written by earlier versions would no longer read the same", path)
	}
	return want
}

func TestGoldenEncoding(t *testing.T) {
	got, _ := goldenFilter().MarshalBinary()
	want := checkGolden(t, "filter-v3.golden", got)
	var f Filter
	if err := f.UnmarshalBinary(want); err != nil {
		t.Fatalf("UnmarshalBinary(golden) = %v", err)
	}
	for _, k := range keys("golden-", 50) {
		if !f.TestString(k) {
			t.Fatalf("golden filter: Test(%q) = false; want true", k)
		}
	}
	if f.Cap() != 100 || f.K() != 6 || f.p != 0.01 {
		t.Errorf("golden filter: Cap %d, K %d, p %v; want 100, 6, 0.01", f.Cap(), f.K(), f.p)
	}
}

func TestEncodingRoundTrip(t *testing.T) {
	for _, f := range []*Filter{goldenFilter(), New(200_000, 0.001), NewGeometry(Geometry{Blocks: 1, K: 1})} {
		for _, k := range keys("k", 1000) {
			f.AddString(k)
		}
		data, err := f.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var viaBytes Filter
		if err := viaBytes.UnmarshalBinary(data); err != nil {
			t.Fatalf("UnmarshalBinary = %v", err)
		}
		var buf bytes.Buffer
		n, err := f.WriteTo(&buf)
		if err != nil || n != int64(len(data)) || !bytes.Equal(buf.Bytes(), data) {
			t.Fatalf("WriteTo = %d, %v (equal to MarshalBinary: %v); want %d, nil", n, err, bytes.Equal(buf.Bytes(), data), len(data))
		}
		buf.WriteString("trailing")
		var viaReader Filter
		// OneByteReader makes ReadFrom cope with short reads.
		n, err = viaReader.ReadFrom(iotest.OneByteReader(&buf))
		if err != nil || n != int64(len(data)) {
			t.Fatalf("ReadFrom = %d, %v; want %d, nil", n, err, len(data))
		}
		if buf.String() != "trailing" {
			t.Errorf("ReadFrom read past the filter: %q left; want \"trailing\"", buf.String())
		}
		for _, g := range []*Filter{&viaBytes, &viaReader} {
			if !equalWords(f, g) || f.geom != g.geom || f.n != g.n || f.p != g.p {
				t.Fatal("decoded filter differs from the original")
			}
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	good, _ := goldenFilter().MarshalBinary()
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 0x10
		return b
	}
	withHeader := func(edit func(h []byte)) []byte {
		b := bytes.Clone(good)
		edit(b[:headerSize])
		return b
	}
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrCorrupt},
		{"short", good[:10], ErrCorrupt},
		{"foreign short", []byte("GIF89a"), ErrFormat},
		{"foreign", append([]byte("PK\x03\x04"), good[4:]...), ErrFormat},
		{"version 1", withHeader(func(h []byte) { h[4] = 1 }), ErrFormat},
		{"version 2", withHeader(func(h []byte) { h[4] = 2 }), ErrFormat},
		{"version 4", withHeader(func(h []byte) { h[4] = 4 }), ErrFormat},
		{"reserved", withHeader(func(h []byte) { h[6] = 1 }), ErrCorrupt},
		{"k 0", withHeader(func(h []byte) { h[5] = 0 }), ErrCorrupt},
		{"k 33", withHeader(func(h []byte) { h[5] = 33 }), ErrCorrupt},
		{"0 blocks", withHeader(func(h []byte) { binary.LittleEndian.PutUint64(h[8:], 0) }), ErrCorrupt},
		{"2^40 blocks", withHeader(func(h []byte) { binary.LittleEndian.PutUint64(h[8:], 1<<40) }), ErrCorrupt},
		{"more blocks than bytes", withHeader(func(h []byte) { binary.LittleEndian.PutUint64(h[8:], 1<<31) }), ErrCorrupt},
		{"p 2", withHeader(func(h []byte) { binary.LittleEndian.PutUint64(h[24:], 0x4000000000000000) }), ErrCorrupt},
		{"truncated", good[:len(good)-1], ErrCorrupt},
		{"trailing", append(bytes.Clone(good), 0), ErrCorrupt},
		{"flipped bit in blocks", flip(headerSize + 3), ErrCorrupt},
		{"flipped bit in n", flip(17), ErrCorrupt},
		{"flipped checksum", flip(len(good) - 1), ErrCorrupt},
	} {
		var f Filter
		if err := f.UnmarshalBinary(tc.data); !errors.Is(err, tc.want) {
			t.Errorf("%s: UnmarshalBinary = %v; want %v", tc.name, err, tc.want)
		}
		if tc.name == "trailing" {
			continue // ReadFrom reads exactly one filter and leaves the rest
		}
		if _, err := f.ReadFrom(bytes.NewReader(tc.data)); !errors.Is(err, tc.want) {
			t.Errorf("%s: ReadFrom = %v; want %v", tc.name, err, tc.want)
		}
		if f.words != nil {
			t.Errorf("%s: the filter changed on error", tc.name)
		}
	}
	// Every truncation of a valid stream is an error, never a panic.
	for i := range len(good) {
		var f Filter
		if _, err := f.ReadFrom(bytes.NewReader(good[:i])); !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrFormat) {
			t.Fatalf("ReadFrom(first %d bytes) = %v; want ErrCorrupt", i, err)
		}
	}
	// A reader's own error comes back as it is.
	boom := errors.New("disk on fire")
	var f Filter
	if _, err := f.ReadFrom(io.MultiReader(bytes.NewReader(good[:50]), iotest.ErrReader(boom))); !errors.Is(err, boom) {
		t.Errorf("ReadFrom with failing reader = %v; want %v", err, boom)
	}
}

// TestReadFromHugeHeaderAllocatesLittle checks that a header claiming a 256
// GiB filter followed by a few bytes costs about a chunk of memory, not the
// claimed size.
func TestReadFromHugeHeaderAllocatesLittle(t *testing.T) {
	good, _ := goldenFilter().MarshalBinary()
	h := bytes.Clone(good[:headerSize])
	binary.LittleEndian.PutUint64(h[8:], MaxBlocks)
	data := append(h, make([]byte, 4096)...)
	allocated := testing.AllocsPerRun(1, func() {
		var f Filter
		if _, err := f.ReadFrom(bytes.NewReader(data)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("ReadFrom(huge header, short body) = %v; want ErrCorrupt", err)
		}
	})
	if allocated > 20 {
		t.Errorf("ReadFrom made %v allocations", allocated)
	}
	// Bytes allocated: measure with a counting run.
	var before, after runtimeMem
	before.read()
	var f Filter
	_, _ = f.ReadFrom(bytes.NewReader(data))
	after.read()
	if d := after.total - before.total; d > 8<<20 {
		t.Errorf("ReadFrom(huge header, short body) allocated %d bytes; want at most a few MiB", d)
	}
}

type failWriter struct{ after int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.after < len(p) {
		n := max(w.after, 0)
		w.after = 0
		return n, errors.New("full")
	}
	w.after -= len(p)
	return len(p), nil
}

func TestWriteToErrors(t *testing.T) {
	f := New(100_000, 0.01)
	data, _ := f.MarshalBinary()
	for _, after := range []int{0, 10, headerSize + 100, len(data) - 3} {
		n, err := f.WriteTo(&failWriter{after: after})
		if err == nil || n != int64(after) {
			t.Errorf("WriteTo(writer failing after %d bytes) = %d, %v; want %d, error", after, n, err, after)
		}
	}
}

func FuzzUnmarshalBinary(f *testing.F) {
	good, _ := goldenFilter().MarshalBinary()
	f.Add(good)
	f.Add(good[:headerSize])
	f.Add([]byte("DKBF"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var a, b Filter
		errA := a.UnmarshalBinary(data)
		n, errB := b.ReadFrom(bytes.NewReader(data))
		if errA == nil {
			if errB != nil || n != int64(len(data)) {
				t.Fatalf("UnmarshalBinary accepted what ReadFrom rejected: %v", errB)
			}
			out, _ := a.MarshalBinary()
			if !bytes.Equal(out, data) {
				t.Fatal("accepted input does not re-encode to itself")
			}
			a.AddString("x")
			if !a.TestString("x") {
				t.Fatal("decoded filter lost a key")
			}
			return
		}
		if !errors.Is(errA, ErrCorrupt) && !errors.Is(errA, ErrFormat) {
			t.Fatalf("UnmarshalBinary error %v is neither ErrCorrupt nor ErrFormat", errA)
		}
		if errB == nil && n == int64(len(data)) {
			t.Fatal("ReadFrom accepted what UnmarshalBinary rejected")
		}
	})
}

func TestBlocksRoundTrip(t *testing.T) {
	f := goldenFilter()
	raw := f.AppendBlocks(nil)
	if len(raw) != int(f.Geometry().Blocks)*64 {
		t.Fatalf("AppendBlocks gave %d bytes; want %d", len(raw), f.Geometry().Blocks*64)
	}
	enc, _ := f.MarshalBinary()
	if !bytes.Equal(raw, enc[headerSize:len(enc)-sumSize]) {
		t.Error("AppendBlocks differs from the blocks in MarshalBinary")
	}
	g := NewGeometry(f.Geometry())
	// A prefix that ends mid-word, as a Redis string may.
	cut := len(raw) - 61
	if err := g.SetBlocks(raw[:cut]); err != nil {
		t.Fatal(err)
	}
	want := NewGeometry(f.Geometry())
	padded := append(bytes.Clone(raw[:cut]), make([]byte, 61)...)
	if err := want.SetBlocks(padded); err != nil {
		t.Fatal(err)
	}
	if !equalWords(g, want) {
		t.Error("SetBlocks of a prefix differs from SetBlocks of the zero-padded blocks")
	}
	if err := g.SetBlocks(append(raw, 0)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("SetBlocks(too long) = %v; want ErrCorrupt", err)
	}
}

func TestTextAndJSON(t *testing.T) {
	f := New(1000, 0.01)
	for i := range 500 {
		f.AddString(strconv.Itoa(i))
	}
	doc := struct {
		Seen *Filter `json:"seen"`
	}{f}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	doc.Seen = new(Filter)
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("json round trip: %v", err)
	}
	if doc.Seen.Geometry() != f.Geometry() || doc.Seen.Cap() != 1000 {
		t.Fatalf("decoded geometry %+v, cap %d; want %+v, 1000", doc.Seen.Geometry(), doc.Seen.Cap(), f.Geometry())
	}
	for i := range 500 {
		if !doc.Seen.TestString(strconv.Itoa(i)) {
			t.Fatalf("key %d lost in the JSON round trip", i)
		}
	}
	for _, c := range []struct {
		text string
		want error
	}{
		{"not base64!", ErrFormat},
		{"REtCRg", ErrFormat}, // "DKBF" without its padding
		{"REtCRg==", ErrCorrupt},
		{"", ErrCorrupt},
	} {
		g := New(10, 0.01)
		if err := g.UnmarshalText([]byte(c.text)); !errors.Is(err, c.want) {
			t.Errorf("UnmarshalText(%q) = %v; want %v", c.text, err, c.want)
		}
		if g.Geometry() != Size(10, 0.01) {
			t.Errorf("UnmarshalText(%q) changed the filter on error", c.text)
		}
	}
}

func FuzzUnmarshalText(f *testing.F) {
	good, _ := goldenFilter().MarshalText()
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte("REtCRg=="))
	f.Add([]byte("not base64!"))
	f.Fuzz(func(t *testing.T, text []byte) {
		var a Filter
		err := a.UnmarshalText(text)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrFormat) {
				t.Fatalf("UnmarshalText error %v is neither ErrCorrupt nor ErrFormat", err)
			}
			return
		}
		out, _ := a.MarshalText()
		var b Filter
		if err := b.UnmarshalText(out); err != nil || b.Geometry() != a.Geometry() {
			t.Fatalf("re-encoding of accepted text does not decode: %v", err)
		}
	})
}

func TestAppendBinary(t *testing.T) {
	f := goldenFilter()
	want, _ := f.MarshalBinary()
	got, err := f.AppendBinary([]byte("prefix"))
	if err != nil || string(got[:6]) != "prefix" || !bytes.Equal(got[6:], want) {
		t.Errorf("AppendBinary(prefix) = %q..., %v; want prefix and then MarshalBinary's bytes", got[:min(len(got), 10)], err)
	}
}
