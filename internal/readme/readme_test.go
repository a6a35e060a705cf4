// The test in this file compares the README's example with its source.
package readme

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// exampleRE finds the README's Go block that follows the "## Example" heading.
var exampleRE = regexp.MustCompile("(?s)## Example\n.*?```go\n(.*?)```")

func TestREADMEExampleMatchesExampleMiddleware(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := exampleRE.FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no Go block after its \"## Example\" heading")
	}
	src, err := os.ReadFile("../../ratelimit/example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, body, ok := strings.Cut(string(src), "func ExampleMiddleware() {\n")
	if !ok {
		t.Fatal("ratelimit/example_test.go has no ExampleMiddleware")
	}
	body, _, _ = strings.Cut(body, "\n}\n")
	if got, want := normalize(string(m[1])), normalize(body); got != want {
		t.Errorf("README example differs from ExampleMiddleware:\nREADME:\n%s\nExampleMiddleware:\n%s", got, want)
	}
}

// normalize drops indentation and blank lines.
func normalize(s string) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}
