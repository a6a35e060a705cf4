package idempotency_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/distkit/distkit/idempotency"
)

// A queue consumer charges a card once per message, however often the
// message is delivered.
func ExampleDo() {
	store := idempotency.NewLocal()
	charges := 0
	charge := func(ctx context.Context) (string, error) {
		charges++
		return fmt.Sprintf("ch_%d", charges), nil
	}
	for range 3 { // the same message, delivered three times
		id, err := idempotency.Do(context.Background(), store, "msg-42", charge)
		fmt.Println(id, err)
	}
	fmt.Println("charges:", charges)
	// Output:
	// ch_1 <nil>
	// ch_1 <nil>
	// ch_1 <nil>
	// charges: 1
}

// With WithWait(false), a caller that finds the key in progress elsewhere
// gets ErrInProgress at once instead of waiting, for a consumer that would
// rather redeliver later.
func ExampleWithWait() {
	store := idempotency.NewLocal()
	// Another consumer is charging msg-7 right now.
	store.Begin(context.Background(), "msg-7", "", time.Minute)

	_, err := idempotency.Do(context.Background(), store, "msg-7",
		func(context.Context) (int, error) { return 1, nil }, idempotency.WithWait(false))
	fmt.Println(errors.Is(err, idempotency.ErrInProgress))
	// Output: true
}

// A payment API replays the response of the first request to every retry
// with the same Idempotency-Key.
func ExampleMiddleware() {
	charges := 0
	pay := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		charges++
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":"ch_%d"}`, charges)
	})
	h := idempotency.Middleware(idempotency.NewLocal(), idempotency.WithRequired(true))(pay)

	for _, body := range []string{`{"amount":100}`, `{"amount":100}`, `{"amount":999}`} {
		r := httptest.NewRequest("POST", "/charges", strings.NewReader(body))
		r.Header.Set("Idempotency-Key", `"8e03978e-40d5-43e8-bc93-6894a57f9324"`)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		b, _ := io.ReadAll(w.Body)
		fmt.Println(w.Code, w.Header().Get("Idempotent-Replayed"), strings.Contains(string(b), "ch_1"))
	}
	fmt.Println("charges:", charges)
	// Output:
	// 201  true
	// 201 true true
	// 422  false
	// charges: 1
}

// A Store can be used directly: Begin, do the work, then Complete or
// Release.
func ExampleLocal() {
	store := idempotency.NewLocal(idempotency.WithCapacity(10_000))
	ctx := context.Background()

	claim, _ := store.Begin(ctx, "order-1", "fingerprint", time.Minute)
	fmt.Println("owned:", claim.Owned())
	store.Complete(ctx, "order-1", claim.Token, []byte("shipped"), 24*time.Hour)

	claim, _ = store.Begin(ctx, "order-1", "fingerprint", time.Minute)
	fmt.Println("done:", claim.Done, string(claim.Result))

	_, err := store.Begin(ctx, "order-1", "other request", time.Minute)
	fmt.Println(err)
	// Output:
	// owned: true
	// done: true shipped
	// idempotency: key reused with a different fingerprint
}

// Counters counts what a middleware did: serve Stats on /debug/vars, or
// read it from a metrics collector.
func ExampleCounters() {
	var counters idempotency.Counters
	pay := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) })
	h := idempotency.Middleware(idempotency.NewLocal(), idempotency.WithCounters(&counters))(pay)

	for _, body := range []string{`{"amount":100}`, `{"amount":100}`, `{"amount":999}`} {
		r := httptest.NewRequest("POST", "/charges", strings.NewReader(body))
		r.Header.Set("Idempotency-Key", `"8e03978e-40d5-43e8-bc93-6894a57f9324"`)
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	st := counters.Stats()
	fmt.Printf("executed %d, replayed %d, mismatched %d, store errors %d\n",
		st.Executed, st.Replayed, st.Mismatched, st.StoreErrors)
	// Output:
	// executed 1, replayed 1, mismatched 1, store errors 0
}

func ExampleLocal_Stats() {
	store := idempotency.NewLocal(idempotency.WithCapacity(1))
	ctx := context.Background()
	claim, _ := store.Begin(ctx, "order-1", "", time.Minute)
	store.Complete(ctx, "order-1", claim.Token, []byte("shipped"), time.Hour)
	store.Begin(ctx, "order-2", "", time.Minute) // evicts order-1 to make room
	_, err := store.Begin(ctx, "order-3", "", time.Minute)
	fmt.Println(err)
	fmt.Printf("%+v\n", store.Stats())
	// Output:
	// idempotency: store full
	// {Records:1 InProgress:1 Evicted:1 Full:1 LockExpired:0}
}
