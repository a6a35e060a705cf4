// Package redisqueue provides a queue.Queue shared between processes through
// Redis (6.2 or later; Cluster, Sentinel and single nodes alike).
//
// Every operation is one Lua script, so one round trip whatever the batch
// size, and is atomic on the server. A queue's keys share one hash tag, so a
// queue lives in one Cluster slot; distinct queues spread over the cluster.
// Times come from the Redis server's clock. Messages whose visibility
// expired are redelivered (or dead-lettered) by the next Receive of any
// consumer, so no janitor process is needed; an idle Receive blocks on a
// notification list and picks up a new message within milliseconds.
//
// What Redis keeps, the queue keeps: with appendonly yes and appendfsync
// always, every Enqueue, Ack and Nack that returned nil survives a crash or
// restart of Redis. With less durable settings a Redis crash may lose recent
// messages, or bring back recently acked ones.
//
// A Queue implements queue.AckReceiver, which queue.Worker uses to ack a
// message and receive the next one in a single round trip. Topic fans
// messages out to the queues subscribed to it. Errors are the sentinels of
// package queue, or wrap an error from go-redis.
package redisqueue
