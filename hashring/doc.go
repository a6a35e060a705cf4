// Package hashring maps keys to nodes so that few keys move when nodes come
// and go: for sharded caches, partitioned queues and stateful routers.
//
// Four Pickers share one method, Lookup(key) (node, ok). All hash keys with
// xxhash, look up without locks or allocations, and give the same answer in
// every process and version for the same members (a Placement: for the
// same sequence of changes). Membership changes build a new snapshot and
// publish it atomically, so lookups never wait for them.
//
//   - Ring: consistent hashing with virtual nodes and multi-probe lookups;
//     weights, LookupN for replicas, bounded loads through Bounded. Joins
//     move keys only to the new node, leaves only the leaving node's keys.
//     Pick it by default. About 20 ns per lookup, 264 KiB for 100 nodes.
//   - Table: a Maglev lookup table, one hash and one load per lookup, and
//     no node above 1-3% over the average; a join or leave also moves
//     about 0.1-0.2% of keys between other nodes, and a change rebuilds the
//     table in under 1 ms for 100 nodes. Pick it for the hottest paths
//     with stable membership.
//   - Placement: AnchorHash, jump hash's speed and balance in a few KiB,
//     with any node free to leave. Pick it when nodes are numbered shards
//     and the capacity is known; its mapping depends on the order of
//     changes, so every process must apply the same ones.
//   - Rendezvous: weighted highest-random-weight hashing, exact and
//     stateless but O(nodes) per lookup; a reference for small clusters.
//
// Bounded (Mirrokni, Thorup and Zadimoghaddam) caps every node at
// ⌈c·average⌉ of the keys placed through Acquire and Release, for
// connections and sessions that come and go. Monitoring: each Picker's Stats
// counts members and changes (lookups count nothing); Bounded.Stats gives
// loads and keys acquired, forwarded past a full owner, released, refused.
package hashring
