package bloom

import "errors"

var (
	// ErrIncompatible is returned by Union and Intersect when the two
	// filters differ in geometry, and by package redisbloom when a stored
	// filter has another geometry than the one asked for.
	ErrIncompatible = errors.New("bloom: incompatible filters")

	// ErrCorrupt is returned when decoding input that is truncated, damaged
	// (checksum mismatch) or inconsistent. The returned error wraps it with
	// what was wrong.
	ErrCorrupt = errors.New("bloom: corrupt encoding")

	// ErrFormat is returned when decoding input that is not a filter
	// encoding (wrong magic) or was written by a newer, unknown version.
	ErrFormat = errors.New("bloom: unknown encoding")
)
