// Package redisbloom stores a blocked Bloom filter in Redis, so that a fleet
// of processes shares one set of seen keys (crawler workers deduplicating
// URLs, say). It needs no Redis module: the filter is a plain Redis string
// holding the same bytes as bloom.Filter's blocks, and each operation is one
// Lua script that touches, per key, the one 64-byte block bloom.Filter would.
//
// A Filter hashes keys exactly as bloom.Filter of the same (n, p) does, so a
// filter built in memory can be stored into Redis with Store, and one built
// in Redis fetched into memory with Fetch. Add, Test and TestAndAdd take one
// round trip each, and so do their batch forms for any number of keys.
//
// Redis keeps the filter only as well as it keeps any key: without
// persistence a restart empties it, and then keys test absent again. Errors
// are bloom.ErrIncompatible when the stored filter has another geometry, or
// wrap an error from Redis (a cancelled context among them).
//
// Monitoring: Filter.Stats counts round trips, keys added and tested, keys
// found present and errors, without a round trip; Fetch brings the filter
// into memory, where bloom.Filter's EstimatedCount and FillRatio say how
// full it is.
package redisbloom
