// Package readme holds a test that keeps the Go snippets of the Markdown
// files in the repository honest: each is either copied from a compiled
// Example function, which the test finds and compares, or marked as a sketch
// that needs modules distkit does not import, which the test parses.
package readme
