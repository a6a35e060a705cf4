//go:build !race

package bloom

// fprKeys is how many absent keys the false-positive tests try, and fprN how
// many keys their filters hold.
const fprKeys, fprN = 1_000_000, 1_000_000
