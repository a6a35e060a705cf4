// The test in this file checks every Go snippet of the repository's Markdown
// files against its source.
package readme

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// root is the repository root, seen from this package's directory.
const root = "../.."

var (
	// snippetRE finds a Go block with the HTML comment just before it:
	// <!-- example: path/file_test.go ExampleName --> or <!-- sketch -->.
	// Text may stand between the comment and the block, but no other block.
	snippetRE = regexp.MustCompile("(?s)(?:<!-- (example: (\\S+) (\\S+)|sketch) -->(?:[^`]|`[^`]|``[^`])*?)?```go\n(.*?)```")
)

func TestMarkdownGoSnippets(t *testing.T) {
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && path != root) {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".md") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	snippets := 0
	for _, file := range files {
		md, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range snippetRE.FindAllSubmatch(md, -1) {
			snippets++
			line := 1 + bytes.Count(md[:bytes.Index(md, m[0])], []byte("\n"))
			rel, _ := filepath.Rel(root, file)
			where := rel + ":" + strconv.Itoa(line)
			code := string(m[4])
			switch {
			case len(m[2]) > 0:
				body, err := exampleBody(filepath.Join(root, string(m[2])), string(m[3]))
				if err != nil {
					t.Errorf("%s: %v", where, err)
				} else if got, want := normalize(code), normalize(body); got != want {
					t.Errorf("%s differs from %s:\nsnippet:\n%s\nexample:\n%s", where, m[3], got, want)
				}
			case len(m[1]) > 0: // sketch
				src := "package p\nfunc _() {\n" + code + "\n}\n"
				if _, err := parser.ParseFile(token.NewFileSet(), where, src, 0); err != nil {
					t.Errorf("%s: sketch does not parse as Go statements: %v", where, err)
				}
			default:
				t.Errorf("%s: Go snippet without <!-- example: FILE NAME --> or <!-- sketch --> before it", where)
			}
		}
	}
	if snippets == 0 {
		t.Fatal("found no Go snippets in the Markdown files")
	}
}

// exampleBody returns the source of the body of the function name in file,
// without its braces.
func exampleBody(file, name string) (string, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, parser.ParseComments)
	if err != nil {
		return "", err
	}
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == name && fn.Body != nil {
			start := fset.Position(fn.Body.Lbrace).Offset + 1
			end := fset.Position(fn.Body.Rbrace).Offset
			return string(src[start:end]), nil
		}
	}
	return "", &notFoundError{file, name}
}

type notFoundError struct{ file, name string }

func (e *notFoundError) Error() string { return e.file + " has no func " + e.name }

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
