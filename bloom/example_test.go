package bloom_test

import (
	"bytes"
	"fmt"

	"github.com/distkit/distkit/bloom"
)

func Example() {
	seen := bloom.New(1_000_000, 0.01)
	for _, url := range []string{"https://a.example/", "https://b.example/", "https://a.example/"} {
		if seen.TestAndAddString(url) {
			fmt.Println("skip", url)
			continue
		}
		fmt.Println("fetch", url)
	}
	fmt.Println(seen.K(), "bits set per key,", seen.Cap(), "keys")
	// Output:
	// fetch https://a.example/
	// fetch https://b.example/
	// skip https://a.example/
	// 6 bits set per key, 1000000 keys
}

func ExampleFilter_MarshalBinary() {
	f := bloom.New(1000, 0.01)
	f.AddString("alice")

	data, _ := f.MarshalBinary()
	var g bloom.Filter
	if err := g.UnmarshalBinary(data); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(g.TestString("alice"), g.TestString("bob"))

	// Damaged input is refused, never trusted.
	data[100] ^= 1
	fmt.Println(g.UnmarshalBinary(data))
	// Output:
	// true false
	// bloom: corrupt encoding: checksum mismatch
}

func ExampleFilter_WriteTo() {
	f := bloom.New(1000, 0.01)
	f.AddString("alice")

	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		fmt.Println(err)
		return
	}
	var g bloom.Filter
	if _, err := g.ReadFrom(&buf); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(g.TestString("alice"))
	// Output: true
}

func ExampleFilter_Union() {
	monday, tuesday := bloom.New(1000, 0.01), bloom.New(1000, 0.01)
	monday.AddString("alice")
	tuesday.AddString("bob")
	if err := monday.Union(tuesday); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(monday.TestString("alice"), monday.TestString("bob"))

	other := bloom.New(50_000, 0.01)
	fmt.Println(monday.Union(other))
	// Output:
	// true true
	// bloom: incompatible filters
}

func ExampleSize() {
	for _, p := range []float64{0.01, 0.001} {
		g := bloom.Size(1_000_000, p)
		fmt.Printf("p=%v: K=%d, %.1f bits per key\n", p, g.K, float64(g.Bits())/1e6)
	}
	// Output:
	// p=0.01: K=6, 10.3 bits per key
	// p=0.001: K=9, 16.0 bits per key
}

func ExampleScalable() {
	// Started small, it grows as keys arrive and keeps the rate below 1%.
	s := bloom.NewScalable(1000, 0.01)
	for i := range 100_000 {
		s.AddString(fmt.Sprint("user-", i))
	}
	fmt.Println(s.TestString("user-42"), s.Stages(), "stages")
	// Output: true 7 stages
}

func ExampleUnsync() {
	// Built by one goroutine, then shared read-only.
	u := bloom.NewUnsync(1000, 0.01)
	u.AddString("alice")
	shared := &u.Filter
	fmt.Println(shared.TestString("alice"))
	// Output: true
}

// A filter past its capacity answers "may be present" more often than sized
// for: compare EstimatedCount with Cap, or watch FillRatio (0.44 at capacity
// for p = 1%), to know when to build a bigger one.
func ExampleFilter_EstimatedCount() {
	f := bloom.New(1000, 0.01)
	for i := range 500 {
		f.AddString(fmt.Sprint("key-", i))
	}
	fmt.Printf("about %d of %d keys, %.0f%% of bits set\n", f.EstimatedCount(), f.Cap(), 100*f.FillRatio())
	// Output: about 491 of 1000 keys, 24% of bits set
}
