//go:build unix

package emulator_test

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user + system) the test process has
// used so far, so benchmarks can report CPU per operation, a figure that
// stays comparable on a machine shared with other work.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
