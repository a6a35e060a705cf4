// Package benchmarks runs distkit's hot paths beside the peer libraries users
// come from, in one go test -bench run, so that the ratios in README.md come
// from one machine under one load. It is a separate module so that the root
// module's go.mod never lists a peer library.
package benchmarks
