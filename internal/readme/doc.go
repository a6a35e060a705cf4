// Package readme holds a test that keeps the root README's Go example in step
// with the compiled Example function it was copied from.
package readme
