package suitetest

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// EnvVar is the environment variable through which the parent tells a child
// which variant to run.
const EnvVar = "DISTKIT_SUITETEST_VARIANT"

// childTimeout ends a child whose suite hangs on a broken implementation.
const childTimeout = time.Minute

// childParallel is how many parallel subtests a child runs at once. The
// suites' subtests spend their time waiting on timers, not on a core.
const childParallel = 8

// slots bounds the children running at once, across all of a binary's tests.
var slots = make(chan struct{}, 2)

// A Case is a broken implementation, named for the child, and the subtests
// of the suite that must report it.
type Case struct {
	// Name selects the implementation in the child, through Variant. It is
	// also the name of the parent's subtest for the case.
	Name string
	// Fail lists the suite's subtests, relative to the test that runs the
	// suite ("TryLockExcludes", not "TestBroken/TryLockExcludes"), that must
	// fail. Others may fail too.
	Fail []string
	// Suite runs the suite against the broken implementation; Run calls it
	// in the child.
	Suite func(t *testing.T)
}

// Variant reports the name of the broken implementation the current process
// runs, and false if it is not a child started by Run.
func Variant() (name string, ok bool) {
	return os.LookupEnv(EnvVar)
}

// Run runs the current test again in a child process for each case, with
// Variant reporting the case's Name, and fails unless the child fails and
// reports each subtest of the case's Fail. In the child, Run calls the
// Suite of the case Variant names instead. The child runs only t (selected by
// its name), runs up to eight parallel subtests at once, and is stopped after
// a minute. Cases are parallel subtests of t; at most two children of one
// test binary run at a time. A child's output is logged only when the check
// fails, without its coverage summary.
func Run(t *testing.T, cases ...Case) {
	if name, ok := Variant(); ok {
		for _, c := range cases {
			if c.Name == name {
				c.Suite(t)
				return
			}
		}
		t.Fatalf("suitetest: no case %q", name)
	}
	test := t.Name()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			slots <- struct{}{}
			out, err := runChild(test, c.Name)
			<-slots
			if err := check(test, out, err, c.Fail); err != nil {
				t.Errorf("variant %s: %v\nchild output:\n%s", c.Name, err, quote(out))
			}
		})
	}
}

// runChild runs test in a child process with variant selected, and returns
// its combined output and the error from running it.
func runChild(test, variant string) ([]byte, error) {
	levels := strings.Split(test, "/")
	for i, l := range levels {
		levels[i] = "^" + regexp.QuoteMeta(l) + "$"
	}
	args := []string{
		"-test.run=" + strings.Join(levels, "/"),
		"-test.timeout=" + childTimeout.String(),
		"-test.parallel=" + strconv.Itoa(childParallel),
	}
	if f := flag.Lookup("test.gocoverdir"); f != nil && f.Value.String() != "" {
		args = append(args, "-test.gocoverdir="+f.Value.String())
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), EnvVar+"="+variant)
	return cmd.CombinedOutput()
}

// check reports what is wrong with the output and exit error of a child that
// ran test: it must have failed, and reported each subtest of fail.
func check(test string, out []byte, err error, fail []string) error {
	var exit *exec.ExitError
	switch {
	case err == nil:
		return errors.New("the suite passed; want it to fail")
	case !errors.As(err, &exit):
		return fmt.Errorf("running the child: %w", err)
	}
	var missing []string
	for _, sub := range fail {
		if !strings.Contains(string(out), "--- FAIL: "+test+"/"+sub+" (") {
			missing = append(missing, sub)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the suite failed (%v) but not in %s", err, strings.Join(missing, ", "))
	}
	return nil
}

// quote indents the child's output so that tools reading the parent's do not
// take its result lines for the parent's, and drops its coverage lines,
// which go test would otherwise count as the parent's.
func quote(out []byte) string {
	var b strings.Builder
	for line := range strings.Lines(string(out)) {
		if strings.HasPrefix(line, "coverage:") {
			continue
		}
		b.WriteString("\t| ")
		b.WriteString(line)
	}
	return b.String()
}
