//go:build !purego

package backoff

import (
	_ "unsafe" // for go:linkname
)

// cheaprand64 is the runtime's per-thread wyrand generator: a few
// instructions on state owned by the calling thread, so no lock, no atomic
// instruction and no shared cache line. The runtime prefers that other
// packages use math/rand/v2, but keeps this symbol linkable with this
// signature for compatibility (go.dev/issue/67401). Building with the
// purego tag uses math/rand/v2 instead.
//
//go:linkname cheaprand64 runtime.cheaprand64
func cheaprand64() int64

// fastUint64 returns a pseudo-random value whose high 63 bits are uniform
// (the lowest bit is 0). It is the default source of the jitter policies.
//
// Quality: wyrand passes the usual statistical batteries but is not
// cryptographically secure; each runtime thread's state is seeded from the
// runtime's random seed at start, so processes, and goroutines within a
// process, draw decorrelated sequences, which is what jitter needs.
// math/rand/v2's global functions (a ChaCha8 generator per thread) give
// cryptographic quality that jitter does not need, at two to three times
// the cost; a shared atomic counter (SplitMix) costs an atomic add on a
// cache line every goroutine writes.
func fastUint64() uint64 { return uint64(cheaprand64()) << 1 }
