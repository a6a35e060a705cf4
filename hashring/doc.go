// Package hashring maps keys to nodes so that few keys move when nodes come
// and go: for sharded caches, partitioned queues and stateful routers.
package hashring
