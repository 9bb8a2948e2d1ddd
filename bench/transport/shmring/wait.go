package shmring

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// How a spinning side of the bare ring waits: re-check at once for a while,
// then yield the goroutine, then yield the thread. runtime.Gosched alone
// does not give the CPU to another process, and a ring whose sender and
// receivers outnumber the cores must not starve them.
const (
	spinPolls    = 128
	goschedPolls = 128
)

// backoff is the state of one wait. Declare it inside the wait loop so that
// every wait starts by spinning. One goroutine at a time.
type backoff struct{ n int }

// wait is called each time a poll found nothing to do.
func (b *backoff) wait() {
	b.n++
	switch {
	case b.n <= spinPolls:
	case b.n <= spinPolls+goschedPolls:
		runtime.Gosched()
	default:
		unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
	}
}
