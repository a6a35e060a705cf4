package queue

import "time"

// LocalStats is a snapshot of a Local's counters since NewLocal. A message
// counts again on each delivery, so Delivered may exceed Enqueued.
type LocalStats struct {
	// Enqueued counts messages Enqueue added, not those it dropped as
	// duplicates.
	Enqueued uint64
	// Deduplicated counts messages Enqueue dropped because their DedupID
	// was enqueued within the dedup window.
	Deduplicated uint64
	// Blocked counts Enqueue calls that waited for room (WithBlock(true)),
	// whether they got it or their ctx ended.
	Blocked uint64
	// Full counts Enqueue calls that returned ErrFull.
	Full uint64
	// Delivered counts deliveries: messages returned by Receive, each
	// redelivery again.
	Delivered uint64
	// Acked counts messages deleted by Ack.
	Acked uint64
	// Nacked counts messages given back by Nack, those dead-lettered on
	// their last attempt included.
	Nacked uint64
	// Expired counts deliveries whose visibility timeout passed before they
	// were settled: the message was made ready again, or dead-lettered on
	// its last attempt. The Local notices an expiry at the next call that
	// looks at the queue (Stats is one).
	Expired uint64
	// Dead counts messages moved to the dead-letter queue, by Nack or by
	// expiry on their last attempt.
	Dead uint64
	// Redriven counts dead messages moved back by Redrive.
	Redriven uint64
}

// Stats returns a snapshot of the Local's counters; Len gives the current
// number of messages in each state. It acts on deadlines that have passed,
// as every call does, and is safe to call concurrently.
func (l *Local) Stats() LocalStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.promote(time.Now())
	return l.stats
}
