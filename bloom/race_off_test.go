//go:build !race

package bloom

// fprKeys is how many absent keys the false-positive tests try, fprN how many
// keys their filters hold, and [fprLo, fprHi]·p the rate they accept.
const (
	fprKeys, fprN = 1_000_000, 1_000_000
	fprLo, fprHi  = 0.8, 1.1
)
