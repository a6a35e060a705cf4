// Package circuitbreaker stops calling a dependency that keeps failing, and
// probes it before trusting it again.
//
// A Breaker is closed (calls pass), open (calls fail fast with ErrOpen) or
// half-open (a bounded number of probe calls pass; the rest get
// ErrTooManyRequests). It trips from closed to open on any of the rules it is
// given: consecutive failures, a failure rate over the last N calls (a count
// window) or the last T (a time window in buckets), and a slow-call rate over
// the same window, each window with a minimum number of calls. After the
// open duration, fixed or growing by a backoff.Policy on repeated trips, it
// lets probes through and closes when enough of them succeed.
//
// By default an error that matches context.Canceled counts as neither
// success nor failure (the caller gave up, the dependency did not fail), and
// context.DeadlineExceeded counts as a failure (a slow dependency is what a
// breaker should notice); WithClassifier changes that. A call that panics
// counts as a failure, and the panic continues.
//
// A call rejected while the breaker is open gets an *OpenError: it matches
// ErrOpen and says, through its RetryAfter method, when probes resume.
// backoff.Retry honours that method, so retries through a breaker wait for
// the probe instead of spending their attempts on rejections.
//
// Execute wraps one call; Allow splits it in two for streams and middleware;
// Transport wraps an http.RoundTripper with one Breaker per host. A closed
// breaker's success costs two atomic loads (plus an atomic add with a
// window, whose buckets a timer moves, so no call reads the clock); an open
// one's rejection, one load. Monitoring: Breaker.Stats reports the state,
// the window's counts and the trips; WithOnStateChange each transition.
package circuitbreaker
