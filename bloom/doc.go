// Package bloom provides Bloom filters: sets that answer "possibly present"
// or "definitely absent" in a fixed, small amount of memory, for questions
// such as "have we seen this URL?".
//
// A Filter is cache-line blocked: each key picks one 512-bit block with the
// high half of one 64-bit xxhash, and sets K bits inside it at positions cut
// from one product of that hash, so Add and Test touch one cache line.
// New(n, p) sizes it for n keys at false-positive rate p. A classic filter
// needs -ln p / (ln 2)² bits per key (9.59 at 1%, 14.38 at 0.1%); blocking
// costs accuracy, as blocks hold a Poisson-distributed number of keys, so New
// sizes by the Poisson block model (see Size) and aims at 0.97 p: about 10.3
// bits per key and K = 6 at 1%, 16.0 and K = 9 at 0.1%. The tests measure
// the rate over 1M absent keys at 0.96 to 1.01 p.
//
// Filter is safe for concurrent use (atomic OR on the words); Unsync is the
// same filter for one goroutine at a time, with plain stores. Scalable grows
// by adding stages, each twice as large as the last at a tighter rate, when
// its expected count is passed, keeping the overall rate below p. Filters of
// equal Geometry combine with Union and Intersect. Filters and Scalables
// encode (MarshalBinary; MarshalText, in base64 for JSON) in versioned,
// checksummed formats that decoders check before trusting (ErrCorrupt,
// ErrFormat). Package redisbloom keeps a Filter in Redis.
//
// A Bloom filter never forgets a key and cannot delete one; past its capacity
// its false-positive rate climbs (Scalable avoids that).
//
// Monitoring: a filter keeps no counters, so that Add and Test stay a few
// nanoseconds. Filter.EstimatedCount against Cap, and FillRatio, say how
// full it is (each reads every word); Scalable has Count, Cap and Stages.
// Package redisbloom's Filter.Stats counts round trips and keys.
package bloom
