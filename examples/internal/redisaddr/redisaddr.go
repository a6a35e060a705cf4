// Package redisaddr connects the examples to the Redis server named by their
// -redis flag.
package redisaddr

import (
	"strings"

	"github.com/redis/go-redis/v9"
)

// Client returns a client for addr: host:port, or the path of a unix socket
// (anything containing a slash). Context deadlines bound every command, so a
// stopped server fails a call when its context ends.
func Client(addr string) *redis.Client {
	network := "tcp"
	if strings.Contains(addr, "/") {
		network = "unix"
	}
	return redis.NewClient(&redis.Options{Network: network, Addr: addr, ContextTimeoutEnabled: true})
}
