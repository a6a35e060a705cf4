package redistest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// recorder is a testing.TB whose Skip and Fatalf end only the goroutine
// that calls them and record why, so the tests below can watch StartServer
// give up.
type recorder struct {
	testing.TB

	mu       sync.Mutex
	skipped  string
	failed   string
	cleanups []func()
}

func (r *recorder) Helper() {}

func (r *recorder) Skip(args ...any) {
	r.mu.Lock()
	r.skipped = fmt.Sprint(args...)
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.failed = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *recorder) Cleanup(f func()) {
	r.mu.Lock()
	r.cleanups = append(r.cleanups, f)
	r.mu.Unlock()
}

// run calls f in a goroutine of its own, as a test body, then runs the
// cleanups f registered, last first.
func (r *recorder) run(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	<-done
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

// fakeServer puts an executable redis-server with the given script first on
// PATH.
func fakeServer(t *testing.T, script string) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "redis-server"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
}

func TestMissingServerSkips(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv(RequireEnv, "")
	r := &recorder{TB: t}
	r.run(func() { StartServer(r) })
	if !strings.Contains(r.skipped, "apt-get install redis-server") || r.failed != "" {
		t.Errorf("skipped %q, failed %q; want a skip with an install hint", r.skipped, r.failed)
	}
}

func TestMissingServerFailsWhenRequired(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv(RequireEnv, "1")
	r := &recorder{TB: t}
	r.run(func() { StartServer(r) })
	if !strings.Contains(r.failed, RequireEnv+"=1") || r.skipped != "" {
		t.Errorf("skipped %q, failed %q; want a failure naming %s", r.skipped, r.failed, RequireEnv)
	}
}

func TestServerThatExitsFails(t *testing.T) {
	fakeServer(t, "#!/bin/sh\nexit 3\n")
	r := &recorder{TB: t}
	r.run(func() { StartServer(r) })
	if !strings.Contains(r.failed, "redis-server exited") {
		t.Errorf("failed %q; want a failure saying the server exited", r.failed)
	}
}

func TestServerThatCannotStartFails(t *testing.T) {
	fakeServer(t, "#!/nonexistent/interpreter\n")
	r := &recorder{TB: t}
	r.run(func() { StartServer(r) })
	if !strings.Contains(r.failed, "start redis-server") {
		t.Errorf("failed %q; want a failure saying the server did not start", r.failed)
	}
}

func TestSignalStoppedServerFails(t *testing.T) {
	r := &recorder{TB: t}
	var dir string
	r.run(func() {
		s := StartServer(r)
		dir = s.dir
		s.Kill()
		s.Kill() // a second Kill does nothing
		s.Pause()
	})
	if r.skipped != "" {
		t.Skip(r.skipped)
	}
	if !strings.Contains(r.failed, "server is not running") {
		t.Errorf("failed %q; want a failure saying the server is not running", r.failed)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("server directory %s still there after cleanup (stat: %v)", dir, err)
	}
}
