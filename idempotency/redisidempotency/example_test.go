package redisidempotency_test

import (
	"context"
	"fmt"
	"net/http"

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
