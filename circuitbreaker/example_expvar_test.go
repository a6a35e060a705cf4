package circuitbreaker_test

import (
	"context"
	"errors"
	"expvar"
	"fmt"

	"github.com/distkit/distkit/circuitbreaker"
)

// Stats snapshots are plain structs, so publishing one on /debug/vars is a
// matter of an expvar.Func; Prometheus and OpenTelemetry read the same
// snapshot from a callback.
func ExampleBreaker_Stats_expvar() {
	breaker := circuitbreaker.New(circuitbreaker.WithConsecutiveFailures(3))
	expvar.Publish("payments_breaker", expvar.Func(func() any { return breaker.Stats() }))

	for range 3 {
		_, _ = circuitbreaker.Execute(context.Background(), breaker, func(context.Context) (int, error) {
			return 0, errors.New("upstream down")
		})
	}
	fmt.Println(expvar.Get("payments_breaker"))
	// Output:
	// {"State":"open","ConsecutiveFailures":3,"Calls":0,"Failures":0,"SlowCalls":0,"Trips":1}
}
