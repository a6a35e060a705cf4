// Package suitetest checks that a conformance suite fails against broken
// implementations.
//
// A conformance suite that passes against every backend proves nothing about
// what it would catch. A suite's own test names implementations that each
// break one promise, and runs the suite against each of them in a child
// process (the test binary run again), so that the suite's failures stay out
// of the parent's result: the parent asserts that the child failed and that
// its output names the subtests expected to catch the fault.
//
//	func TestBroken(t *testing.T) {
//		if name, ok := suitetest.Variant(); ok {
//			locktest.Run(t, broken[name]) // the child
//			return
//		}
//		suitetest.Run(t, suitetest.Case{Name: "never-excludes", Fail: []string{"TryLockExcludes"}})
//	}
//
// Under go test -cover the children write their coverage counters to the
// parent's coverage directory, so the failure branches of the suite that
// only a broken implementation reaches count towards the profile.
package suitetest
