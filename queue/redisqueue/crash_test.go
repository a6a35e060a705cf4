package redisqueue_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/distkit/distkit/internal/redistest"
	"github.com/distkit/distkit/queue"
	"github.com/distkit/distkit/queue/redisqueue"
	"github.com/redis/go-redis/v9"
)

// The crash test re-executes the test binary as worker processes; these
// variables tell a child what to do.
const (
	envChild = "DISTKIT_QUEUE_CHILD" // the child's log file
	envAddr  = "DISTKIT_QUEUE_ADDR"  // the Redis unix socket
	envName  = "DISTKIT_QUEUE_NAME"  // the queue
	envMode  = "DISTKIT_QUEUE_MODE"  // "work" or "hold"
)

const crashVisibility = time.Second

// TestCrashChild is the worker process of TestCrash; run by itself it skips.
// In "work" mode it receives batches and acks each message, logging
// "p BODY" before the ack and "a BODY" after a successful one, "z BODY"
// after an ack refused with ErrNotHeld. In "hold" mode it receives one
// message, prints its body and holds it until killed.
func TestCrashChild(t *testing.T) {
	logPath := os.Getenv(envChild)
	if logPath == "" {
		t.Skip("run by TestCrash")
	}
	rdb := redis.NewClient(&redis.Options{Network: "unix", Addr: os.Getenv(envAddr), DisableIdentity: true})
	q := redisqueue.New(rdb, os.Getenv(envName), redisqueue.WithMaxAttempts(1000))
	ctx := context.Background()
	if os.Getenv(envMode) == "hold" {
		ds, err := q.Receive(ctx, 1, crashVisibility)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println(string(ds[0].Body))
		select {}
	}
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			buf := make([]byte, 0, 64)
			for {
				ds, err := q.Receive(ctx, 8, crashVisibility)
				if err != nil {
					time.Sleep(10 * time.Millisecond) // Redis restarting
					continue
				}
				for _, d := range ds {
					f.Write(append(append(append(buf[:0], "p "...), d.Body...), '\n'))
					err := q.Ack(ctx, d.Receipt)
					tag := "a "
					switch {
					case errors.Is(err, queue.ErrNotHeld):
						tag = "z "
					case err != nil:
						continue // unknown outcome: the message may come back
					}
					f.Write(append(append(append(buf[:0], tag...), d.Body...), '\n'))
				}
			}
		})
	}
	wg.Wait()
}

func startChild(t *testing.T, addr, name, mode, logPath string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), envChild+"="+logPath, envAddr+"="+addr, envName+"="+name, envMode+"="+mode)
	cmd.Stderr = os.Stderr
	if mode == "hold" {
		return cmd
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: starts worker processes")
	}
	t.Run("killed workers", func(t *testing.T) { crash(t, false) })
	t.Run("killed workers and redis restarts", func(t *testing.T) { crash(t, true) })
}

func crash(t *testing.T, restartRedis bool) {
	const total, workers = 20000, 3
	srv := redistest.StartServer(t, redistest.WithAppendOnly(restartRedis))
	rdb := srv.Client()
	name := "crash"
	q := redisqueue.New(rdb, name, redisqueue.WithMaxAttempts(1000))
	dir := t.TempDir()
	ctx := t.Context()

	var (
		mu    sync.Mutex
		procs []*exec.Cmd
		logs  []string
		kills int
	)
	spawn := func(i int) {
		p := filepath.Join(dir, fmt.Sprintf("w%d.log", len(logs)))
		logs = append(logs, p)
		procs[i] = startChild(t, srv.Addr(), name, "work", p)
	}
	mu.Lock()
	procs = make([]*exec.Cmd, workers)
	for i := range workers {
		spawn(i)
	}
	mu.Unlock()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range procs {
			p.Process.Kill()
			p.Wait()
		}
	}()

	// The producer enqueues in batches while workers die; a batch whose
	// outcome is unknown (Redis restarting) is sent again, and the dedup ID
	// drops what already got in.
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		for i := 0; i < total; i += 500 {
			batch := make([]queue.Message, 500)
			for j := range batch {
				id := fmt.Sprintf("m%05d", i+j)
				batch[j] = queue.Message{Body: []byte(id), DedupID: id}
			}
			for q.Enqueue(ctx, batch...) != nil && ctx.Err() == nil {
				time.Sleep(10 * time.Millisecond)
			}
		}
	}()

	// Chaos: SIGKILL a random worker every 50-300ms and start a new one; once,
	// freeze a worker past its visibility timeout so that its acks come too
	// late; with restartRedis, kill and restart Redis twice.
	stopChaos := make(chan struct{})
	chaosDone := make(chan struct{})
	go func() {
		defer close(chaosDone)
		for n := 0; ; n++ {
			select {
			case <-stopChaos:
				return
			case <-time.After(time.Duration(50+rand.IntN(250)) * time.Millisecond):
			}
			mu.Lock()
			i := rand.IntN(workers)
			switch {
			case n == 5:
				p := procs[i]
				p.Process.Signal(syscall.SIGSTOP)
				time.AfterFunc(crashVisibility+500*time.Millisecond, func() { p.Process.Signal(syscall.SIGCONT) })
			case restartRedis && (n == 4 || n == 12):
				srv.Restart()
			default:
				procs[i].Process.Kill()
				procs[i].Wait()
				kills++
				spawn(i)
			}
			mu.Unlock()
		}
	}()

	<-produced
	// Keep killing for a while after the last enqueue, and until there were
	// at least ten kills, then let the workers drain the queue.
	time.Sleep(500 * time.Millisecond)
	for {
		mu.Lock()
		k := kills
		mu.Unlock()
		if k >= 10 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(stopChaos)
	<-chaosDone
	deadline := time.Now().Add(45 * time.Second)
	for {
		c, err := q.Len(ctx)
		if err == nil && c == (queue.Counts{}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue not drained: %+v, %v", c, err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	mu.Lock()
	for _, p := range procs {
		p.Process.Kill()
		p.Wait()
	}
	procs = nil
	mu.Unlock()

	processed := make(map[string]int)
	acked := make(map[string]int)
	zombies := 0
	for _, p := range logs {
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue // killed before it opened its log
		}
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			tag, body, ok := strings.Cut(sc.Text(), " ")
			if !ok || len(body) != 6 {
				continue // a line cut by SIGKILL
			}
			switch tag {
			case "p":
				processed[body]++
			case "a":
				acked[body]++
			case "z":
				zombies++
			}
		}
		f.Close()
	}
	dups, missingAck := 0, 0
	for i := range total {
		id := fmt.Sprintf("m%05d", i)
		switch {
		case processed[id] == 0:
			t.Errorf("message %s never processed", id)
		case acked[id] > 1:
			t.Errorf("message %s acked %d times; want once", id, acked[id])
		case acked[id] == 0:
			missingAck++ // acked by a worker killed before it could log it
		}
		dups += max(processed[id]-1, 0)
	}
	if len(processed) != total {
		t.Errorf("%d distinct messages processed; want %d", len(processed), total)
	}
	if missingAck > kills*4*8 {
		t.Errorf("%d messages gone from the queue without a logged ack after %d kills; want at most a batch per killed goroutine", missingAck, kills)
	}
	t.Logf("%d messages, %d worker kills, %d duplicate deliveries (%.2f%%), %d late acks refused with ErrNotHeld, %d acks lost with their worker",
		total, kills, dups, 100*float64(dups)/total, zombies, missingAck)
}

// TestRedeliveryAfterKill measures how long a message held by a SIGKILLed
// worker process takes to reach an idle receiver: its visibility timeout
// plus at most a second.
func TestRedeliveryAfterKill(t *testing.T) {
	srv := redistest.StartServer(t)
	q := redisqueue.New(srv.Client(), "held")
	if err := q.Enqueue(t.Context(), queue.Message{Body: []byte("m00001")}); err != nil {
		t.Fatal(err)
	}
	cmd := startChild(t, srv.Addr(), "held", "hold", "-")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "m00001\n" {
		t.Fatalf("child said %q, %v", line, err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	killed := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	ds, err := q.Receive(ctx, 1, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	lat := time.Since(killed)
	if ds[0].Attempt != 2 || lat > crashVisibility+time.Second {
		t.Errorf("redelivered as attempt %d after %v; want attempt 2 within %v", ds[0].Attempt, lat, crashVisibility+time.Second)
	}
	t.Logf("redelivered %v after SIGKILL with a %v visibility timeout", lat, crashVisibility)
}
