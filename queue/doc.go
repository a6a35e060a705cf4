// Package queue provides an at-least-once work queue with visibility
// timeouts, delays, retries and dead letters.
//
// A producer Enqueues messages; a consumer Receives up to N of them with a
// visibility timeout, during which no other consumer receives them, and then
// Acks each one it finished, Nacks one it failed (to be redelivered after a
// delay), or Extends its visibility while it is still working. Every
// Delivery carries a Receipt with a fencing token: once the visibility
// timeout has passed, or the message was acked, nacked or redelivered, the
// receipt is void and Ack, Nack and Extend return ErrNotHeld.
//
// Delivery is at least once. A message is delivered again when its consumer
// does not ack it within its visibility timeout: the consumer crashed, was
// paused (GC, SIGSTOP, a slow disk) past the timeout, or acked too late, or
// the ack was lost on the network after the queue applied it but before the
// consumer heard so (the consumer then sees an error, not success). Handlers
// must therefore be idempotent. A message that has been delivered
// MaxAttempts times without an ack moves to the dead-letter queue, where it
// can be listed, inspected and redriven.
//
// Messages are served first in, first out; one ready again (after a delay,
// a nack or an expired timeout) joins the back. A DedupID drops a second
// message with the same ID within a window.
//
// Local is the in-memory Queue, bounded, with back pressure; package
// redisqueue shares queues between processes through Redis. Worker runs a
// handler over any Queue with heartbeats, retries and graceful shutdown.
// Topic fans messages out to queues; queuetest is the conformance suite.
// Monitoring: Local.Stats counts messages enqueued, delivered, acked, nacked,
// expired, dead-lettered and redriven, and Worker.Stats what handlers did.
package queue
