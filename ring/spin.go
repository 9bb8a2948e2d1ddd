package ring

import (
	"time"

	"golang.org/x/sys/unix"
)

// spinner decides how long a waiter polls shared memory before it sleeps on
// its eventfd. Polling costs CPU; sleeping costs two system calls and a
// scheduler round trip (tens of microseconds through Go's poller). So a
// waiter polls tightly for a moment, then polls between sched_yield calls,
// which hand the core to the peer it waits for when there are more
// runnable processes than cores, and sleeps once its time limit passes.
//
// The limit adapts: a wait that ends while polling raises it to a few times
// that wait, so an active pair pays no system call; a wait that ends asleep
// halves it, so an idle waiter soon stops burning a core.
type spinner struct {
	limit  time.Duration
	polls  int  // fixed budget of tight polls, when fixed
	fixed  bool // set by SetSpin: no yielding, no adapting
	yields int  // sched_yield calls made, for tests and stats
}

// Spin bounds.
const (
	tightPolls = 1024
	spinMin    = 2 * time.Microsecond
	spinMax    = 50 * time.Microsecond
)

func (s *spinner) init() { *s = spinner{limit: spinMin * 4} }

// until polls ready and reports whether it became true before the limit.
func (s *spinner) until(ready func() bool) bool {
	if s.fixed {
		for i := 0; i < s.polls; i++ {
			if ready() {
				return true
			}
		}
		return false
	}
	for i := 0; i < tightPolls; i++ {
		if ready() {
			return true
		}
	}
	start := time.Now()
	for {
		for i := 0; i < 16; i++ {
			if ready() {
				s.limit = min(max(s.limit, 4*time.Since(start)), spinMax)
				return true
			}
		}
		unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
		s.yields++
		if time.Since(start) > s.limit {
			s.limit = max(s.limit/2, spinMin)
			return false
		}
	}
}

// SetSpin fixes how many times the port polls shared memory before it
// sleeps, when receiving and when waiting for a free slot, without
// yielding: 0 sleeps at once. A negative budget restores the adaptive
// default. Call it before the port is used.
func (p *Port) SetSpin(budget int) {
	for _, s := range []*spinner{&p.rx.spin, &p.tx.spin} {
		s.init()
		if budget >= 0 {
			s.polls, s.fixed = budget, true
		}
	}
}
