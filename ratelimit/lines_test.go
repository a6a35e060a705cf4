package ratelimit

import (
	"hash/maphash"
	"strconv"
	"sync"
	"testing"
	"unsafe"
)

func TestLineIsOneCacheLine(t *testing.T) {
	if n := unsafe.Sizeof(line{}); n != 64 {
		t.Errorf("line is %d bytes; want 64, one cache line", n)
	}
	for n := 1; n <= 1<<12; n *= 2 {
		if p := uintptr(unsafe.Pointer(&newLineArray(n).b[0])); p%64 != 0 {
			t.Errorf("an array of %d lines starts at %#x; want a cache line boundary", n, p)
		}
	}
}

// oneShard returns a Local with a single shard and no practical cap.
func oneShard(limit Limit) *Local {
	l := NewLocal(limit, WithMaxKeys(1))
	l.perCap = 1 << 20
	return l
}

// where reports whether key is in its line, and whether in the overflow
// table, of a one-shard Local.
func where(l *Local, key string) (inLine, inOver bool) {
	h := fix(maphash.String(l.seed, key))
	s := &l.shards[0]
	return s.arr.Load().of(h).find(h) >= 0, s.over.find(overflowHash(h)) >= 0
}

func TestLocalGrowsKeepingEveryKey(t *testing.T) {
	l := oneShard(PerSecond(1))
	const n = 1000
	for i := range n {
		if d, _ := l.AllowAt(t0, strconv.Itoa(i)); !d.Allowed {
			t.Fatalf("first event of key %d denied", i)
		}
	}
	s := &l.shards[0]
	if got, want := len(s.arr.Load().b), 512; got != want {
		t.Errorf("%d keys in %d lines; want %d", n, got, want)
	}
	if s.over.n == 0 {
		t.Errorf("no key of %d in the overflow table; want some, with %d slots per line", n, lineSlots)
	}
	inLines := 0
	for i := range n {
		k := strconv.Itoa(i)
		b, o := where(l, k)
		if b == o {
			t.Fatalf("key %s: in its line %v, in the overflow table %v; want exactly one", k, b, o)
		}
		if b {
			inLines++
		}
		if d, _ := l.AllowAt(t0, k); d.Allowed {
			t.Errorf("second event of key %s at the same instant allowed; its state was lost", k)
		}
	}
	if got, want := l.Stats(), (LocalStats{Keys: n, Allowed: n, Denied: n}); got != want {
		t.Errorf("Stats = %+v; want %+v", got, want)
	}
	if inLines < n*8/10 {
		t.Errorf("%d of %d keys in their line; want most", inLines, n)
	}
}

func TestLocalOverflowKeyMovesBackToItsLine(t *testing.T) {
	l := oneShard(PerSecond(1).WithBurst(3))
	var over string
	for i := 0; over == ""; i++ {
		k := strconv.Itoa(i)
		l.AllowAt(t0, k)
		if _, o := where(l, k); o {
			over = k
		}
	}
	// Free a slot of its line, as a drop would.
	h := fix(maphash.String(l.seed, over))
	s := &l.shards[0]
	b := s.arr.Load().of(h)
	b.h[0] = 0
	s.n--
	if d, _ := l.AllowAt(t0, over); !d.Allowed || d.Remaining != 1 {
		t.Errorf("second event of %s = %+v; want allowed with 1 remaining", over, d)
	}
	if inB, inO := where(l, over); !inB || inO {
		t.Errorf("after a slot freed up: %s in its line %v, in the overflow table %v; want moved to the line", over, inB, inO)
	}
	if d, _ := l.AllowAt(t0, over); !d.Allowed || d.Remaining != 0 {
		t.Errorf("third event of %s = %+v; want allowed with 0 remaining", over, d)
	}
}

func TestLocalCountersFlush(t *testing.T) {
	l := oneShard(PerSecond(1))
	l.AllowAt(t0, "k")
	h := fix(maphash.String(l.seed, "k"))
	b := l.shards[0].arr.Load().of(h)
	b.allowed, b.denied = flushAt-1, flushAt-1
	l.AllowAt(t0.Add(1e9), "k")
	l.AllowAt(t0.Add(1e9), "k")
	// The allowed event flushed both counters; the denied one counted again.
	if b.allowed != 0 || b.denied != 1 {
		t.Errorf("line counters %d, %d after reaching %d; want flushed to 0, then 1 denial", b.allowed, b.denied, flushAt)
	}
	want := LocalStats{Keys: 1, Allowed: flushAt, Denied: flushAt}
	if got := l.Stats(); got != want {
		t.Errorf("Stats = %+v; want %+v", got, want)
	}
}

func TestLocalEvictsFromOtherLines(t *testing.T) {
	// With the cap reached and the new key's line empty, the victim comes
	// from another line, or from the overflow table.
	l := oneShard(PerSecond(1))
	for i := range 100 {
		l.AllowAt(t0, strconv.Itoa(i))
	}
	s := &l.shards[0]
	a := s.arr.Load()
	for i := 100; i < 400; i++ {
		k := "new" + strconv.Itoa(i)
		h := fix(maphash.String(l.seed, k))
		b := a.of(h)
		for j := range b.h {
			if b.h[j] != 0 {
				b.h[j] = 0
				s.n--
			}
		}
		l.perCap = l.Len()
		l.AllowAt(t0, k)
		if got := l.Len(); got != l.perCap {
			t.Fatalf("Len = %d after inserting %s at the cap; want %d", got, k, l.perCap)
		}
		if inB, _ := where(l, k); !inB {
			t.Fatalf("new key %s not in its emptied line", k)
		}
	}
	if st := l.Stats(); st.Evicted != 300 {
		t.Errorf("Stats = %+v; want 300 evicted, one per new key", st)
	}
}

func TestLocalEvictsTheNewKeyWhenTheSampleIsBusy(t *testing.T) {
	l := oneShard(PerSecond(1))
	for i := range 20 {
		l.AllowAt(t0, strconv.Itoa(i))
	}
	l.perCap = l.Len()
	s := &l.shards[0]
	a := s.arr.Load()
	// A new key whose line is empty, every other line held elsewhere,
	// and no key in the overflow table.
	var k string
	var b *line
	for i := 0; ; i++ {
		k = "new" + strconv.Itoa(i)
		h := fix(maphash.String(l.seed, k))
		if b = a.of(h); b.oldest() < 0 {
			break
		}
	}
	for s.over.n > 0 {
		s.over.del(s.over.oldest())
		s.n--
		l.perCap--
	}
	for i := range a.b {
		if c := &a.b[i]; c != b {
			c.mu.Lock()
			defer c.mu.Unlock()
		}
	}
	before := l.Len()
	if d, _ := l.AllowAt(t0, k); !d.Allowed {
		t.Errorf("first event of new key %s denied", k)
	}
	if got := l.Len(); got != before {
		t.Errorf("Len = %d after a new key at the cap; want %d", got, before)
	}
	if inB, inO := where(l, k); inB || inO {
		t.Errorf("new key %s remembered with every other key busy; want it not remembered", k)
	}
	s.mu.Lock()
	ev := s.evicted
	s.mu.Unlock()
	if ev != 1 {
		t.Errorf("evicted = %d; want 1", ev)
	}
}

func TestLocalConcurrentGrowth(t *testing.T) {
	l := oneShard(PerSecond(1).WithBurst(1 << 20))
	const writers, keys, hot = 4, 2000, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range keys {
				l.AllowAt(t0, strconv.Itoa(w)+"/"+strconv.Itoa(i))
				l.AllowAt(t0, "hot"+strconv.Itoa(i%hot))
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			l.Stats()
		}
	})
	wg.Wait()
	if got, want := l.Stats(), (LocalStats{Keys: writers*keys + hot, Allowed: 2 * writers * keys}); got != want {
		t.Errorf("Stats = %+v; want %+v", got, want)
	}
	for i := range hot {
		d, _ := l.AllowNAt(t0, "hot"+strconv.Itoa(i), 0)
		if want := 1<<20 - writers*keys/hot; d.Remaining != want {
			t.Errorf("hot key %d has %d remaining; want %d", i, d.Remaining, want)
		}
	}
}
