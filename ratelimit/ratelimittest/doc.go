// Package ratelimittest checks that a ratelimit.Limiter keeps the contract
// every implementation shares.
//
// A backend's test calls Run with a function that builds a fresh limiter for
// a Limit. The suite uses real time, since a remote backend keeps its own
// clock: its limits refill in a fraction of a second and its bounds tolerate
// a scheduler that runs late, so the whole suite takes a few seconds.
package ratelimittest
