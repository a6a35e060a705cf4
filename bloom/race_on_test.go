//go:build race

package bloom

// The race detector makes each atomic operation tens of times slower, so
// under it the false-positive tests use 20k keys and, with so few, check the
// rate only loosely; the normal run uses 1M and the bounds of the issue.
const (
	fprKeys, fprN = 20_000, 20_000
	fprLo, fprHi  = 0.5, 1.6
)
