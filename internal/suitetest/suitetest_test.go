package suitetest

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// TestRun runs itself as the child: the variant "broken" fails one subtest
// of two, which Run must see.
func TestRun(t *testing.T) {
	Run(t, Case{Name: "broken", Fail: []string{"Breaks"}, Suite: func(t *testing.T) {
		t.Run("Holds", func(t *testing.T) {})
		t.Run("Breaks", func(t *testing.T) { t.Error("broken on purpose") })
	}})
}

// TestRunInSubtest checks that a child started from a subtest runs that
// subtest alone.
func TestRunInSubtest(t *testing.T) {
	t.Run("Suite", func(t *testing.T) {
		if _, ok := Variant(); ok {
			t.Error("broken on purpose")
			return
		}
		out, err := runChild(t.Name(), "any")
		if err == nil || !strings.Contains(string(out), "--- FAIL: TestRunInSubtest/Suite (") || strings.Contains(string(out), "Other") {
			t.Errorf("child of %s = %v; want it to fail in that subtest alone; output:\n%s", t.Name(), err, quote(out))
		}
	})
	t.Run("Other", func(t *testing.T) {
		if _, ok := Variant(); ok {
			t.Error("the child ran a test outside the one that started it")
		}
	})
}

func TestCheck(t *testing.T) {
	const out = `--- FAIL: TestX (0.10s)
    --- FAIL: TestX/A (0.00s)
        x_test.go:1: wrong
    --- PASS: TestX/B (0.00s)
    --- FAIL: TestX/A/Deeper (0.00s)
FAIL
`
	exit := &exec.ExitError{}
	for _, c := range []struct {
		name string
		err  error
		fail []string
		ok   bool
	}{
		{"fails where expected", exit, []string{"A"}, true},
		{"fails in a nested subtest", exit, []string{"A", "A/Deeper"}, true},
		{"nothing expected", exit, nil, true},
		{"passed", nil, []string{"A"}, false},
		{"did not run", errors.New("exec: not found"), nil, false},
		{"passes a subtest expected to fail", exit, []string{"A", "B"}, false},
		{"prefix of a name", exit, []string{"Deeper"}, false},
	} {
		err := check("TestX", []byte(out), c.err, c.fail)
		if (err == nil) != c.ok {
			t.Errorf("%s: check = %v; want ok %v", c.name, err, c.ok)
		}
	}
}

func TestQuote(t *testing.T) {
	got := quote([]byte("--- FAIL: TestX/A (0.00s)\ncoverage: 12.5% of statements\nFAIL"))
	if want := "\t| --- FAIL: TestX/A (0.00s)\n\t| FAIL"; got != want {
		t.Errorf("quote = %q; want %q", got, want)
	}
}

func TestVariantInParent(t *testing.T) {
	if _, ok := Variant(); ok {
		t.Skip("running as a child")
	}
	t.Setenv(EnvVar, "x")
	if name, ok := Variant(); !ok || name != "x" {
		t.Errorf("Variant = %q, %v with %s=x; want x, true", name, ok, EnvVar)
	}
}
