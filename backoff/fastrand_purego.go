//go:build purego

package backoff

import "math/rand/v2"

// fastUint64 returns a pseudo-random value whose high 63 bits are uniform
// (the lowest bit is 0). With the purego tag it draws from math/rand/v2's
// per-thread ChaCha8 generator, without linking to the runtime.
func fastUint64() uint64 { return rand.Uint64() &^ 1 }
