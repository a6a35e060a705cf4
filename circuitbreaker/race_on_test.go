//go:build race

package circuitbreaker

// raceEnabled: under the race detector sync.Pool drops items on purpose.
const raceEnabled = true
