package redisidempotency_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/distkit/distkit/idempotency"
	"github.com/distkit/distkit/idempotency/redisidempotency"
)

// Every instance of a payment API shares its idempotency keys through Redis.
func ExampleNew() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	store := redisidempotency.New(rdb, redisidempotency.WithPrefix("payments:idem:"))

	pay := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	})
	http.Handle("POST /charges", idempotency.Middleware(store, idempotency.WithRequired(true))(pay))

	// Queue consumers use the same store.
	id, err := idempotency.Do(context.Background(), store, "msg-42", func(ctx context.Context) (string, error) {
		return "ch_1", nil
	})
	fmt.Println(id, err)
}

func ExampleStore_Stats() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	store := redisidempotency.New(rdb)
	store.Begin(context.Background(), "msg-42", "", time.Minute)
	// No round trip: the counters are the Store's own.
	st := store.Stats()
	fmt.Printf("round trips %d, failed %d\n", st.Begins+st.Completes+st.Releases, st.Errors)
}
