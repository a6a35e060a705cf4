package ratelimit

// A table maps 64-bit key hashes to theoretical arrival times: open
// addressing with linear probing and backward-shift deletion (so no
// tombstones). Keys are known by their hash alone, which keeps an entry at
// 16 bytes whatever the key's length and gives the garbage collector no
// pointers to scan. It is not safe for concurrent use.
type table struct {
	e    []entry // len is 0 or a power of two
	n    int     // occupied entries
	hand int     // where the next sweep starts
}

type entry struct {
	h   uint64 // the key's hash, never 0 when occupied; 0 marks a free slot
	tat int64
}

// fix makes a hash usable: 0 marks free slots.
func fix(h uint64) uint64 {
	if h == 0 {
		return 1
	}
	return h
}

// find returns the index of the entry for hash h, or -1.
func (t *table) find(h uint64) int {
	if len(t.e) == 0 {
		return -1
	}
	h = fix(h)
	mask := len(t.e) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		switch t.e[i].h {
		case h:
			return i
		case 0:
			return -1
		}
	}
}

// insert adds an entry for hash h, which must not be present.
func (t *table) insert(h uint64, tat int64) {
	if (t.n+1)*4 > len(t.e)*3 {
		t.grow()
	}
	h = fix(h)
	mask := len(t.e) - 1
	i := int(h) & mask
	for t.e[i].h != 0 {
		i = (i + 1) & mask
	}
	t.e[i] = entry{h: h, tat: tat}
	t.n++
}

func (t *table) grow() {
	old := t.e
	t.e = make([]entry, max(8, 2*len(old)))
	t.n = 0
	for _, e := range old {
		if e.h != 0 {
			t.insert(e.h, e.tat)
		}
	}
}

// del removes the entry at i, shifting back the entries after it that
// probed past i.
func (t *table) del(i int) {
	mask := len(t.e) - 1
	for j := (i + 1) & mask; t.e[j].h != 0; j = (j + 1) & mask {
		home := int(t.e[j].h) & mask
		// The entry at j may move to i unless its home lies in (i, j].
		stays := (i < home && home <= j) || (j < i && (home > i || home <= j))
		if !stays {
			t.e[i] = t.e[j]
			i = j
		}
	}
	t.e[i] = entry{}
	t.n--
}

// sweep looks at the next sweepSample slots after the hand, deletes the
// entries whose bucket is full again at now, and returns how many it
// deleted.
func (t *table) sweep(now int64) (deleted int) {
	if len(t.e) == 0 {
		return 0
	}
	mask := len(t.e) - 1
	i := t.hand & mask
	for range sweepSample {
		if e := &t.e[i]; e.h != 0 && e.tat <= now {
			t.del(i) // may shift another entry into i: look at i again
			deleted++
			continue
		}
		i = (i + 1) & mask
	}
	t.hand = i
	return deleted
}

// oldest returns, of the occupied slots among the next sweepSample after the
// hand (or the first occupied one beyond), the one with the earliest arrival
// time: the one nearest to full, whose state is worth least. It returns -1
// if the table is empty.
func (t *table) oldest() int {
	if t.n == 0 {
		return -1
	}
	mask := len(t.e) - 1
	victim := -1
	seen := 0
	for i := t.hand & mask; seen < sweepSample || victim < 0; i = (i + 1) & mask {
		seen++
		if e := &t.e[i]; e.h != 0 && (victim < 0 || e.tat < t.e[victim].tat) {
			victim = i
		}
	}
	return victim
}
