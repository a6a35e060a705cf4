package benchmarks

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time this process has used, in user and system
// mode. The machines these benchmarks run on are shared, so the workloads
// report CPU time per operation (cpu-ns/op) next to wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
