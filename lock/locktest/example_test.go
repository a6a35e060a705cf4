package locktest_test

import (
	"testing"

	"github.com/distkit/distkit/lock"
	"github.com/distkit/distkit/lock/locktest"
)

// A backend's test runs the suite with a function that returns Lockers on one
// shared store per subtest; here the store is an in-memory Local.
func ExampleRun() {
	var t *testing.T // the *testing.T of a TestXxx function
	stores := map[string]*lock.Local{}
	locktest.Run(t, func(t *testing.T) lock.Locker {
		if l, ok := stores[t.Name()]; ok {
			return l
		}
		stores[t.Name()] = lock.NewLocal()
		return stores[t.Name()]
	})
}
