package idgen

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

func threadCPU() time.Duration {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 3, uintptr(unsafe.Pointer(&ts)), 0) // CLOCK_THREAD_CPUTIME_ID
	return time.Duration(ts.Nano())
}

type clockOnly struct{ base time.Time }

func (c *clockOnly) Next() (ID, error) { return ID(time.Since(c.base)), nil }
func (c *clockOnly) Close() error      { return nil }

type addOnly struct {
	_ [64]byte
	n atomic.Uint64
	_ [64]byte
}

func (c *addOnly) Next() (ID, error) { return ID(c.n.Add(1)), nil }
func (c *addOnly) Close() error      { return nil }

type casOnly struct {
	_ [64]byte
	n atomic.Uint64
	_ [64]byte
}

func (c *casOnly) Next() (ID, error) {
	for {
		o := c.n.Load()
		if c.n.CompareAndSwap(o, o+1) {
			return ID(o + 1), nil
		}
	}
}
func (c *casOnly) Close() error { return nil }

// TestHarness measures ns/op only from rounds where every goroutine had a
// core to itself the whole time.
func TestHarness(t *testing.T) {
	if os.Getenv("IDGEN_HARNESS") == "" {
		t.Skip()
	}
	type gen interface {
		Next() (ID, error)
		Close() error
	}
	variants := []struct {
		name string
		mk   func(coarse bool) gen
	}{
		{"old", func(c bool) gen { s, _ := newOld(1, WithCoarseClock(c), WithMaxLead(time.Hour)); return s }},
		{"new", func(c bool) gen { s, _ := New(1, WithCoarseClock(c), WithMaxLead(time.Hour)); return s }},
		{"nopad", func(c bool) gen { s, _ := newNopad(1, WithCoarseClock(c), WithMaxLead(time.Hour)); return s }},
		{"pad128", func(c bool) gen { s, _ := newPad128(1, WithCoarseClock(c), WithMaxLead(time.Hour)); return s }},
	}
	rounds := 10
	res := map[string][]float64{}
	tried := map[string]int{}
	for r := 0; r < rounds; r++ {
		for _, coarse := range []bool{false, true} {
			for _, v := range variants {
				for _, k := range []int{1, 2} {
					name := fmt.Sprintf("coarse=%v/%s/cpu=%d", coarse, v.name, k)
					g := v.mk(coarse)
					g.Next()
					ops := 500000
					if coarse {
						ops = 2000000
					}
					var wg sync.WaitGroup
					cpus := make([]time.Duration, k)
					start := make(chan struct{})
					var ready sync.WaitGroup
					ready.Add(k)
					for i := range k {
						wg.Go(func() {
							runtime.LockOSThread()
							defer runtime.UnlockOSThread()
							ready.Done()
							<-start
							c0 := threadCPU()
							for range ops {
								g.Next()
							}
							cpus[i] = threadCPU() - c0
						})
					}
					ready.Wait()
					t0 := time.Now()
					close(start)
					wg.Wait()
					wall := time.Since(t0)
					g.Close()
					tried[name]++
					var sum time.Duration
					for _, c := range cpus {
						sum += c
					}
					fmt.Printf("SAMPLE %s %.2f %.3f\n", name, float64(wall.Nanoseconds())/float64(k*ops), float64(sum)/float64(wall)/float64(k))
					if float64(sum) >= 0.97*float64(k)*float64(wall) {
						res[name] = append(res[name], float64(wall.Nanoseconds())/float64(k*ops))
					}
				}
			}
		}
	}
	var names []string
	for n := range tried {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		v := res[n]
		slices.Sort(v)
		if len(v) == 0 {
			t.Logf("%-28s kept 0/%d", n, tried[n])
			continue
		}
		t.Logf("%-28s kept %2d/%d min %6.2f p25 %6.2f med %6.2f", n, len(v), tried[n], v[0], v[len(v)/4], v[len(v)/2])
	}
}
