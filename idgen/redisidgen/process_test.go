package redisidgen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/distkit/distkit/idgen"
	"github.com/distkit/distkit/internal/redistest"
	"github.com/redis/go-redis/v9"
)

const holderEnv = "REDISIDGEN_TEST_HOLDER"

// TestMain lets the test binary act as a lease holder for
// TestStoppedProcessStopsIssuing.
func TestMain(m *testing.M) {
	if sock := os.Getenv(holderEnv); sock != "" {
		os.Exit(holder(sock))
	}
	os.Exit(m.Run())
}

// holder leases a worker ID and prints "worker N", then one line per Next:
// "id N" or "lost", until its lease is lost for good.
func holder(sock string) int {
	rdb := redis.NewClient(&redis.Options{Network: "unix", Addr: sock, DisableIdentity: true})
	l, err := Acquire(context.Background(), rdb, WithTTL(ttl), WithMaxLead(lead))
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	fmt.Println("worker", l.Worker())
	for !l.Lost() {
		id, err := l.Next()
		switch {
		case errors.Is(err, idgen.ErrLeaseLost):
			fmt.Println("lost")
		case err != nil:
			fmt.Println("error", err)
			return 1
		default:
			fmt.Println("id", int64(id))
		}
		time.Sleep(time.Millisecond)
	}
	fmt.Println("lost for good")
	return 0
}

// TestStoppedProcessStopsIssuing stops a holding process with SIGSTOP until
// its lease expires and another process takes its worker ID, then resumes
// it: its first Next after the resume must fail, and no ID is issued twice.
func TestStoppedProcessStopsIssuing(t *testing.T) {
	srv := redistest.StartServer(t)
	rdb := srv.Client()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holderEnv+"="+srv.Addr())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Kill()
		cmd.Wait()
	})
	lines := make(chan string, 1<<16)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func() string {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("holder exited")
			}
			return l
		case <-time.After(10 * time.Second):
			t.Fatal("holder silent for 10s")
		}
		return ""
	}
	seen := map[int64]bool{}
	record := func(line string) bool {
		v, ok := strings.CutPrefix(line, "id ")
		if !ok {
			return false
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("holder printed %q", line)
		}
		seen[n] = true
		return true
	}
	first := next()
	w, ok := strings.CutPrefix(first, "worker ")
	if !ok {
		t.Fatalf("holder said %q; want its worker", first)
	}
	for range 20 {
		if line := next(); !record(line) {
			t.Fatalf("holder said %q; want an ID", line)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	for len(lines) > 0 { // IDs issued before the stop
		record(<-lines)
	}
	var b *Lease
	eventually(t, 3*ttl, "the stopped holder's worker was never taken over", func() bool {
		l, err := Acquire(t.Context(), rdb, WithTTL(ttl), WithMaxLead(lead))
		if err != nil {
			t.Fatal(err)
		}
		if strconv.FormatInt(l.Worker(), 10) == w {
			b = l
			return true
		}
		l.Close()
		return false
	})
	defer b.Close()
	var bIDs []idgen.ID
	for range 1000 {
		id, err := b.Next()
		if err != nil {
			t.Fatal(err)
		}
		bIDs = append(bIDs, id)
	}
	if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	// After the resume: at most IDs already printed before the stop, then
	// only "lost" until the holder learns the lease is gone for good.
	for {
		line := next()
		if line == "lost for good" {
			break
		}
		if record(line) {
			continue
		}
		if line != "lost" {
			t.Fatalf("resumed holder said %q", line)
		}
	}
	for n := range seen {
		if idgen.ID(n) >= bIDs[0] {
			t.Fatalf("stopped holder issued %v, not below its successor's first ID %v", n, bIDs[0])
		}
	}
	if len(seen) < 20 {
		t.Fatalf("holder issued %d IDs; want at least 20", len(seen))
	}
}
