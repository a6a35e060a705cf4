package backoff

import (
	"net/http"
	"strings"
	"time"
)

// maxRetryAfterSeconds bounds a Retry-After in seconds so that the
// duration cannot overflow (about 292 years fit; a day is plenty, but we
// keep what the server said up to the overflow point).
const maxRetryAfterSeconds = int64(1<<63-1) / int64(time.Second)

// ParseRetryAfter reads the value of an HTTP Retry-After header (RFC 9110
// section 10.2.3): either delay-seconds ("120") or an HTTP-date ("Wed, 21
// Oct 2015 07:28:00 GMT", and the obsolete RFC 850 and asctime forms), which
// is turned into a delay from now. A date in the past gives 0. It reports
// false for an empty or malformed value; surrounding spaces are ignored.
// Huge second counts are clamped to the largest time.Duration.
func ParseRetryAfter(value string, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(value)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		var n int64
		for i := 0; i < len(v); i++ {
			c := v[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			if n > maxRetryAfterSeconds {
				continue // keep validating; the result is clamped
			}
			n = n*10 + int64(c-'0')
		}
		if n > maxRetryAfterSeconds {
			return time.Duration(1<<63 - 1), true
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		d = 0
	}
	return d, true
}
