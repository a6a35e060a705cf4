package circuitbreaker

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestTransportPerHostBreakers(t *testing.T) {
	var hits atomic.Int64
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer bad.Close()
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer good.Close()

	tr := NewTransport(nil, WithConsecutiveFailures(3), WithOpenDuration(time.Hour))
	client := &http.Client{Transport: tr}
	for range 10 {
		resp, err := client.Get(bad.URL)
		if err == nil {
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("status = %d; want 503 passed through", resp.StatusCode)
			}
			resp.Body.Close()
		} else if !errors.Is(err, ErrOpen) {
			t.Errorf("Get(bad) = %v; want ErrOpen once open", err)
		}
	}
	if hits.Load() != 3 {
		t.Errorf("the failing server saw %d requests; want 3", hits.Load())
	}
	resp, err := client.Get(good.URL)
	if err != nil {
		t.Fatalf("Get(good) = %v; want the other host unaffected", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ok" {
		t.Errorf("body = %q", body)
	}
	badHost := strings.TrimPrefix(bad.URL, "http://")
	if s := tr.Breaker(badHost).State(); s != Open || tr.Breaker(badHost).Name() != badHost {
		t.Errorf("breaker for %s: %v; want open and named after the host", badHost, s)
	}
	// A cancelled request counts as neither.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", good.URL, strings.NewReader("x"))
	if _, err := client.Do(req); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled request: %v", err)
	}
	goodHost := strings.TrimPrefix(good.URL, "http://")
	if s := tr.Breaker(goodHost).Stats(); s.ConsecutiveFailures != 0 {
		t.Errorf("cancelled request counted: %+v", s)
	}
	// A custom failure rule.
	tr2 := NewTransport(http.DefaultTransport, WithConsecutiveFailures(1)).
		WithFailureStatus(func(r *http.Response) bool { return r.StatusCode == 200 })
	resp, err = (&http.Client{Transport: tr2}).Get(good.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if tr2.Breaker(goodHost).State() != Open {
		t.Error("custom failure rule ignored")
	}
	req, _ = http.NewRequest("POST", good.URL, strings.NewReader("body"))
	if _, err := tr2.RoundTrip(req); !errors.Is(err, ErrOpen) {
		t.Errorf("RoundTrip when open = %v; want ErrOpen", err)
	}
}

type panicky struct{}

func (panicky) RoundTrip(*http.Request) (*http.Response, error) { panic("transport bug") }

func TestTransportPanicCountsAsFailure(t *testing.T) {
	tr := NewTransport(panicky{}, WithConsecutiveFailures(1))
	req, _ := http.NewRequest("GET", "http://example.invalid/", nil)
	func() {
		defer func() {
			if recover() != "transport bug" {
				t.Error("the panic did not continue")
			}
		}()
		tr.RoundTrip(req)
	}()
	if s := tr.Breaker("example.invalid").State(); s != Open {
		t.Errorf("State after a panicking round trip = %v; want open", s)
	}
}
