//go:build race

package hashring

// raceEnabled: the race detector slows lookups about tenfold, so the
// quality tests use fewer keys under it (see testKeys).
const raceEnabled = true
