package shmring

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/ipn-project/ipn/bench/harness"
)

// ringTx is the producer of a ShmRing. One goroutine at a time.
//
// Send flow: wait until the slowest consumer has freed the slot (reading the
// tails only when the cached minimum says the ring may be full), write the
// length word and the payload into the slot, then publish with an atomic
// store of head.
type ringTx struct {
	mem    []byte
	l      ringLayout
	head   *atomic.Uint64
	closed *atomic.Uint64
	tails  []*atomic.Uint64

	next    uint64 // sequence of the next message, = head
	minTail uint64 // slowest tail when last read
}

var _ harness.Sender = (*ringTx)(nil)

func newRingTx(mem []byte, l ringLayout) (*ringTx, error) {
	t := &ringTx{mem: mem, l: l}
	var err error
	if t.head, err = word64(mem, offHead); err != nil {
		return nil, err
	}
	if t.closed, err = word64(mem, offClosed); err != nil {
		return nil, err
	}
	for i := range int(l.consumers) {
		w, err := word64(mem, l.tailOff(i))
		if err != nil {
			return nil, err
		}
		t.tails = append(t.tails, w)
	}
	t.next = t.head.Load()
	t.minTail = t.next
	return t, nil
}

func (t *ringTx) Send(p []byte) error {
	if uint64(len(p)) > t.l.slotSize {
		return fmt.Errorf("message of %d bytes, slots hold %d", len(p), t.l.slotSize)
	}
	if t.next-t.minTail >= t.l.Slots {
		if err := t.waitRoom(); err != nil {
			return err
		}
	}
	off := t.l.slotOff(t.next)
	binary.LittleEndian.PutUint64(t.mem[off:], uint64(len(p)))
	copy(t.mem[off+slotLenSize:], p)
	t.next++
	t.head.Store(t.next)
	return nil
}

// waitRoom waits until every consumer is less than a full ring behind.
func (t *ringTx) waitRoom() error {
	var b backoff
	for {
		m := t.next
		for i, tail := range t.tails {
			v := tail.Load()
			if v > t.next {
				return fmt.Errorf("%w: consumer %d tail %d ahead of head %d", errDamaged, i, v, t.next)
			}
			m = min(m, v)
		}
		t.minTail = m
		if t.next-m < t.l.Slots {
			return nil
		}
		b.wait()
	}
}

// Close marks the end of the stream and unmaps the ring.
func (t *ringTx) Close() error {
	if t.mem == nil {
		return nil
	}
	t.closed.Store(1)
	t.head, t.closed, t.tails = nil, nil, nil
	mem := t.mem
	t.mem = nil
	return unix.Munmap(mem)
}
