package ring

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Eventfd is a Linux eventfd used as a wake-up line between processes. Any
// number of goroutines may Signal; one goroutine at a time may Wait.
//
// The descriptor is non-blocking and waited on through Go's runtime poller,
// so a sleeping receiver parks a goroutine, not a thread, and deadlines work.
// It joins the poller only when first waited on: a process holds every
// port's eventfds but waits on its own alone, and an eventfd in a process's
// epoll set wakes that process's poller at every Signal, whoever it is for.
type Eventfd struct {
	fd   int
	once sync.Once // makes f, or marks the eventfd closed before it had one
	f    *os.File  // for waiting, through the poller
	buf  [8]byte
}

// eventOne is the 8-byte counter increment that every Signal writes.
var eventOne = [8]byte{1}

// NewEventfd creates an eventfd.
func NewEventfd() (*Eventfd, error) {
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("ring: eventfd: %w", err)
	}
	return wrapEventfd(fd), nil
}

// EventfdFromFD adopts fd, an eventfd received from another process, and
// makes it non-blocking.
func EventfdFromFD(fd int) (*Eventfd, error) {
	if err := unix.SetNonblock(fd, true); err != nil {
		return nil, fmt.Errorf("ring: eventfd %d: %w", fd, err)
	}
	return wrapEventfd(fd), nil
}

func wrapEventfd(fd int) *Eventfd { return &Eventfd{fd: fd} }

// file returns the eventfd as a file of the poller, nil once closed.
func (e *Eventfd) file() *os.File {
	e.once.Do(func() { e.f = os.NewFile(uintptr(e.fd), "eventfd") })
	return e.f
}

// FD returns the descriptor, for poll/select/epoll and for handing over.
func (e *Eventfd) FD() int { return e.fd }

// Signal adds one to the counter, waking a waiter.
func (e *Eventfd) Signal() {
	// The only failure is EAGAIN on a counter at its maximum, which still
	// wakes the waiter, so there is nothing to report.
	unix.Write(e.fd, eventOne[:])
}

// Wait blocks until the counter is non-zero, then resets it. A zero
// deadline waits forever.
func (e *Eventfd) Wait(deadline time.Time) error {
	f := e.file()
	if f == nil {
		return fmt.Errorf("ring: eventfd wait: %w", os.ErrClosed)
	}
	if err := f.SetReadDeadline(deadline); err != nil {
		return fmt.Errorf("ring: eventfd wait: %w", err)
	}
	if _, err := f.Read(e.buf[:]); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return ErrTimeout
		}
		return fmt.Errorf("ring: eventfd wait: %w", err)
	}
	return nil
}

// Drain resets the counter without waiting.
func (e *Eventfd) Drain() { unix.Read(e.fd, e.buf[:]) }

// Close closes the descriptor.
func (e *Eventfd) Close() error {
	unused := false
	e.once.Do(func() { unused = true }) // no file from now on
	if unused {
		return unix.Close(e.fd)
	}
	return e.f.Close()
}
