package queue

import "time"

// An entry is one message in a Local queue.
type entry struct {
	id       string
	body     []byte
	headers  map[string]string
	enqueued time.Time
	attempt  int
	token    uint64
	due      time.Time // delayed: ready at; in flight: visibility deadline
	state    uint8
	idx      int // index in timerHeap, -1 when absent
}

const (
	stateReady uint8 = iota
	stateDelayed
	stateInFlight
	stateDead
)

// A timerHeap is a min-heap of entries by due time, for delayed messages
// and visibility deadlines alike. It is not safe for concurrent use.
type timerHeap []*entry

func (h *timerHeap) push(e *entry) {
	e.idx = len(*h)
	*h = append(*h, e)
	h.up(e.idx)
}

func (h *timerHeap) remove(e *entry) {
	i := e.idx
	if i < 0 {
		return
	}
	last := len(*h) - 1
	if i != last {
		h.swap(i, last)
	}
	(*h)[last] = nil
	*h = (*h)[:last]
	e.idx = -1
	if i != last {
		if !h.down(i) {
			h.up(i)
		}
	}
}

func (h *timerHeap) fix(e *entry) {
	if !h.down(e.idx) {
		h.up(e.idx)
	}
}

func (h timerHeap) less(i, j int) bool { return h[i].due.Before(h[j].due) }

func (h timerHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx = i
	h[j].idx = j
}

func (h timerHeap) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !h.less(j, i) {
			break
		}
		h.swap(i, j)
		j = i
	}
}

func (h timerHeap) down(i0 int) bool {
	i, n := i0, len(h)
	for {
		j := 2*i + 1
		if j >= n {
			break
		}
		if r := j + 1; r < n && h.less(r, j) {
			j = r
		}
		if !h.less(j, i) {
			break
		}
		h.swap(i, j)
		i = j
	}
	return i > i0
}

// A fifo is a queue of entries in a slice that is compacted as it drains.
// It is not safe for concurrent use.
type fifo struct {
	buf  []*entry
	head int
}

func (f *fifo) len() int { return len(f.buf) - f.head }

func (f *fifo) push(e *entry) {
	if f.head > 0 && f.head == len(f.buf) {
		f.buf, f.head = f.buf[:0], 0
	} else if f.head > 1024 && f.head > len(f.buf)/2 {
		n := copy(f.buf, f.buf[f.head:])
		clear(f.buf[n:])
		f.buf, f.head = f.buf[:n], 0
	}
	f.buf = append(f.buf, e)
}

func (f *fifo) pop() *entry {
	e := f.buf[f.head]
	f.buf[f.head] = nil
	f.head++
	return e
}
