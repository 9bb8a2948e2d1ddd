package shmring

import (
	"encoding/binary"
	"fmt"
	"io"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/ipn-project/ipn/bench/harness"
)

// ringRx is consumer i of a ShmRing. One goroutine at a time.
//
// Recv flow: release the slot returned last time (atomic store of tail),
// wait until head is past next (spin, then yield; io.EOF once the producer
// closed and nothing is left), check the length word, return the payload in
// place.
type ringRx struct {
	mem    []byte
	l      ringLayout
	head   *atomic.Uint64
	closed *atomic.Uint64
	tail   *atomic.Uint64

	next  uint64 // sequence of the next message to return
	avail uint64 // head when last read
	held  bool   // the slot of next-1 was returned and is not released
}

var _ harness.Receiver = (*ringRx)(nil)

func newRingRx(mem []byte, l ringLayout, i int) (*ringRx, error) {
	if i < 0 || uint64(i) >= l.consumers {
		return nil, fmt.Errorf("consumer %d of a ring for %d", i, l.consumers)
	}
	r := &ringRx{mem: mem, l: l}
	var err error
	if r.head, err = word64(mem, offHead); err != nil {
		return nil, err
	}
	if r.closed, err = word64(mem, offClosed); err != nil {
		return nil, err
	}
	if r.tail, err = word64(mem, l.tailOff(i)); err != nil {
		return nil, err
	}
	r.next = r.tail.Load()
	r.avail = r.next
	return r, nil
}

func (r *ringRx) Recv() ([]byte, error) {
	if r.held {
		r.tail.Store(r.next)
		r.held = false
	}
	if r.next == r.avail {
		if err := r.waitData(); err != nil {
			return nil, err
		}
	}
	off := r.l.slotOff(r.next)
	n := binary.LittleEndian.Uint64(r.mem[off:])
	if n > r.l.slotSize {
		return nil, fmt.Errorf("%w: slot of sequence %d holds %d bytes, at most %d", errDamaged, r.next, n, r.l.slotSize)
	}
	r.next++
	r.held = true
	start := off + slotLenSize
	end := start + int(n)
	return r.mem[start:end:end], nil
}

// waitData waits until the producer has published past next.
func (r *ringRx) waitData() error {
	var b backoff
	for {
		h := r.head.Load()
		if h != r.next {
			if h < r.next || h-r.next > r.l.Slots {
				return fmt.Errorf("%w: head %d, consumer at %d, %d slots", errDamaged, h, r.next, r.l.Slots)
			}
			r.avail = h
			return nil
		}
		if r.closed.Load() != 0 && r.head.Load() == r.next {
			return io.EOF
		}
		b.wait()
	}
}

// Close releases the last slot and unmaps the ring.
func (r *ringRx) Close() error {
	if r.mem == nil {
		return nil
	}
	if r.held {
		r.tail.Store(r.next)
		r.held = false
	}
	r.head, r.closed, r.tail = nil, nil, nil
	mem := r.mem
	r.mem = nil
	return unix.Munmap(mem)
}
