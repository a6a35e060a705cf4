package lock_test

import (
	"testing"

	"github.com/distkit/distkit/lock"
	"github.com/distkit/distkit/lock/locktest"
)

func TestLocalConformance(t *testing.T) {
	locks := map[string]*lock.Local{}
	locktest.Run(t, func(t *testing.T) lock.Locker {
		// Lockers of one subtest share a store.
		if l, ok := locks[t.Name()]; ok {
			return l
		}
		l := lock.NewLocal()
		locks[t.Name()] = l
		return l
	})
}
