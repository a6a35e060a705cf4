package bloom

import "github.com/cespare/xxhash/v2"

// An Unsync is a Filter for use by one goroutine at a time: its Add and Test
// use plain loads and stores instead of atomic ones, which makes an insert
// about a fifth cheaper (BenchmarkFilterAdd: no locked instructions). It
// is not safe for concurrent use; to share the keys once the adding is done,
// share &u.Filter, whose methods are safe for concurrent use.
//
// Its other methods (Union, MarshalBinary, EstimatedCount...) are those of
// Filter, with the same results.
type Unsync struct {
	Filter
}

// NewUnsync returns an empty Unsync sized as New(n, p) would. It panics as New
// does.
func NewUnsync(n int, p float64) *Unsync { return &Unsync{*New(n, p)} }

// Add adds key to u. It does not allocate.
func (u *Unsync) Add(key []byte) { u.AddHash(xxhash.Sum64(key)) }

// AddString adds key to u without copying it.
func (u *Unsync) AddString(key string) { u.AddHash(xxhash.Sum64String(key)) }

// Test reports whether key may be in u. It does not allocate.
func (u *Unsync) Test(key []byte) bool { return u.TestHash(xxhash.Sum64(key)) }

// TestString is Test for a string key, without copying it.
func (u *Unsync) TestString(key string) bool { return u.TestHash(xxhash.Sum64String(key)) }

// TestAndAdd adds key to u and reports whether it tested true before.
func (u *Unsync) TestAndAdd(key []byte) bool { return u.TestAndAddHash(xxhash.Sum64(key)) }

// TestAndAddString is TestAndAdd for a string key, without copying it.
func (u *Unsync) TestAndAddString(key string) bool {
	return u.TestAndAddHash(xxhash.Sum64String(key))
}

// AddHash adds the key whose hash (see Hash) is h.
func (u *Unsync) AddHash(h uint64) { u.addHash(h) }

func (u *Unsync) addHash(h uint64) bool {
	b := u.block(h)
	if u.geom.K == 6 {
		w0, w1 := words6(h)
		m0, m1 := masks6(h)
		miss := m0&^b[w0] | m1&^b[w1]
		b[w0] |= m0
		b[w1] |= m1
		return miss != 0
	}
	w0, s := wordSteps(h)
	var miss uint64
	if k := u.geom.K; k <= fieldsPerMix {
		y := h * mix
		for j := range wordsPerKey(k) {
			m, w := groupMask(y, j, k), &b[(w0+uint32(j)*s)&7]
			miss |= m &^ *w
			*w |= m
			y <<= 3 * 6
		}
		return miss != 0
	}
	// Bit by bit, as Filter.missing, so that addHash calls nothing.
	bw := walk(h)
	for i := range u.geom.K {
		w, m := &b[wordOf(w0, s, i)], uint64(1)<<bw.next(i)
		miss |= m &^ *w
		*w |= m
	}
	return miss != 0
}

// TestHash reports whether the key whose hash (see Hash) is h may be in u.
func (u *Unsync) TestHash(h uint64) bool {
	b := u.block(h)
	if u.geom.K == 6 {
		w0, w1 := words6(h)
		m0, m1 := masks6(h)
		return m0&^b[w0]|m1&^b[w1] == 0
	}
	w0, s := wordSteps(h)
	var miss uint64
	if k := u.geom.K; k <= fieldsPerMix {
		y := h * mix
		for j := range wordsPerKey(k) {
			miss |= groupMask(y, j, k) &^ b[(w0+uint32(j)*s)&7]
			y <<= 3 * 6
		}
		return miss == 0
	}
	bw := walk(h)
	for i := range u.geom.K {
		miss |= 1 << bw.next(i) &^ b[wordOf(w0, s, i)]
	}
	return miss == 0
}

// TestAndAddHash adds the key whose hash is h and reports whether it tested
// true before.
func (u *Unsync) TestAndAddHash(h uint64) bool { return !u.addHash(h) }
