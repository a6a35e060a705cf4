//go:build race

package bloom

// The race detector makes each atomic operation tens of times slower, so
// under it the false-positive tests use fewer keys; the normal run uses 1M.
const fprKeys, fprN = 100_000, 100_000
