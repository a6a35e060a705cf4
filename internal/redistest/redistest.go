// Package redistest starts throwaway redis-server processes for tests.
//
// Each server listens only on a unix socket in a short temporary directory
// (no TCP port, persistence off unless asked for), so tests never touch a
// developer's Redis or port 6379. Start returns a client for a fresh server;
// StartServer returns the Server itself, with the fault controls the
// reliability tests use: Restart, Pause, Resume and Kill.
//
// Without redis-server on PATH the test is skipped with a message saying how
// to install it; with DISTKIT_REQUIRE_REDIS=1 in the environment (CI sets it)
// that is a failure instead.
package redistest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RequireEnv is the environment variable that turns a missing redis-server
// into a test failure instead of a skip.
const RequireEnv = "DISTKIT_REQUIRE_REDIS"

// startTimeout bounds how long a server may take to answer PING.
const startTimeout = 10 * time.Second

// A Server is a redis-server process owned by one test. Its methods are safe
// for concurrent use by multiple goroutines.
type Server struct {
	tb         testing.TB
	bin        string
	dir        string
	sock       string
	appendOnly bool

	mu   sync.Mutex
	cmd  *exec.Cmd     // nil while stopped; guarded by mu
	done chan struct{} // closed when cmd has exited; guarded by mu
}

// An Option configures a Server.
type Option func(*Server)

// WithAppendOnly turns the append-only file on (with appendfsync always) or
// off, so that data survives Restart. Default: off.
func WithAppendOnly(on bool) Option { return func(s *Server) { s.appendOnly = on } }

// Start starts a fresh redis-server for tb and returns a client connected to
// it. The client is closed and the server killed when tb ends.
func Start(tb testing.TB, opts ...Option) *redis.Client {
	tb.Helper()
	return StartServer(tb, opts...).Client()
}

// StartServer starts a fresh redis-server for tb and returns it. The server is
// killed and its directory removed when tb ends.
func StartServer(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "redistest: redis-server not found on PATH; install it to run this test " +
			"(Debian/Ubuntu: apt-get install redis-server, macOS: brew install redis)"
		if os.Getenv(RequireEnv) == "1" {
			tb.Fatalf("%s (%s=1 makes this a failure)", msg, RequireEnv)
		}
		tb.Skip(msg)
	}
	// Unix socket paths are capped near 100 bytes, so the directory is made
	// directly under the system temp dir rather than under tb.TempDir.
	dir, err := os.MkdirTemp("", "redistest")
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	s := &Server{tb: tb, bin: bin, dir: dir, sock: filepath.Join(dir, "redis.sock")}
	for _, o := range opts {
		o(s)
	}
	tb.Cleanup(func() {
		s.Kill()
		os.RemoveAll(dir)
	})
	if err := s.start(); err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	return s
}

// Addr returns the path of the server's unix socket.
func (s *Server) Addr() string { return s.sock }

// Options returns client options for the server, to adjust before
// redis.NewClient.
func (s *Server) Options() *redis.Options {
	return &redis.Options{
		Network:         "unix",
		Addr:            s.sock,
		DisableIdentity: true,
	}
}

// Client returns a new client connected to the server. It is closed when the
// test ends; it reconnects by itself after Restart.
func (s *Server) Client() *redis.Client {
	rdb := redis.NewClient(s.Options())
	s.tb.Cleanup(func() { rdb.Close() })
	return rdb
}

func (s *Server) start() error {
	args := []string{
		"--port", "0",
		"--unixsocket", s.sock,
		"--unixsocketperm", "700",
		"--dir", s.dir,
		"--save", "",
		"--daemonize", "no",
		"--loglevel", "warning",
		"--logfile", filepath.Join(s.dir, "redis.log"),
	}
	if s.appendOnly {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	cmd := exec.Command(s.bin, args...)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(done) }()

	rdb := redis.NewClient(&redis.Options{Network: "unix", Addr: s.sock, DisableIdentity: true, MaxRetries: -1})
	defer rdb.Close()
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			return fmt.Errorf("redis-server exited (%v): %s", waitErr, strings.TrimSpace(string(log)))
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := rdb.Ping(ctx).Err()
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			return fmt.Errorf("redis-server did not answer PING within %v: %w", startTimeout, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	return nil
}

// Kill stops the server with SIGKILL, as a crash would, and waits until its
// socket is gone. Data not in the append-only file is lost. Killing a stopped
// server does nothing.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd, s.done = nil, nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	<-done
	os.Remove(s.sock)
}

// Restart kills the server and starts it again on the same socket and
// directory. With WithAppendOnly(true) the data survives; otherwise the new
// server is empty. Clients reconnect by themselves.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Kill()
	if err := s.start(); err != nil {
		s.tb.Fatalf("redistest: restart: %v", err)
	}
}

// Pause stops the server process with SIGSTOP: connections stay open but
// nothing is answered until Resume.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume continues a server stopped by Pause.
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig os.Signal) {
	s.tb.Helper()
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd == nil {
		s.tb.Fatalf("redistest: signal %v: server is not running", sig)
	}
	if err := cmd.Process.Signal(sig); err != nil {
		s.tb.Fatalf("redistest: signal %v: %v", sig, err)
	}
}
