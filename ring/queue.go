package ring

import (
	"sync/atomic"

	"ipn/shm"
)

// queue is one port's ring of slot references: many producers (senders in
// any process), one consumer (the port's receiver).
//
// Each cell is one 64-bit word that a producer publishes with a single
// compare-and-swap: the high half is the position the cell holds or waits
// for, the low half is slot+1 when full and 0 when empty. Because claiming
// and publishing are one step, a producer killed at any instruction leaves
// the cell either empty or full, never half-written; the shared tail is only
// a hint that any producer advances on another's behalf. The consumer owns
// head and is the only one to empty cells.
type queue struct {
	head  *atomic.Uint64 // consumer
	tail  *atomic.Uint64 // producers
	cells []atomic.Uint64
	mask  uint64
	limit uint64 // most entries pending; below len(cells) only in lossy rings
}

func newQueue(s *shm.Segment, off, capacity, limit int) queue {
	return queue{
		head:  s.Uint64(off + shm.RingHead),
		tail:  s.Uint64(off + shm.RingTail),
		cells: s.Uint64s(off+shm.RingCells, capacity),
		mask:  uint64(capacity - 1),
		limit: uint64(limit),
	}
}

func fullCell(pos uint64, slot uint32) uint64 { return shm.EmptyCell(pos) | uint64(slot) + 1 }

// push appends slot. It reports false when the ring holds limit entries.
// Safe for concurrent use by any number of producers.
func (q *queue) push(slot uint32) bool {
	capacity := q.mask + 1
	for {
		pos := q.tail.Load()
		c := &q.cells[pos&q.mask]
		v := c.Load()
		d := int32(uint32(v>>32) - uint32(pos))
		switch {
		case d == 0 && uint32(v) == 0: // empty, waiting for pos
			if q.limit < capacity && pos-q.head.Load() >= q.limit {
				return false
			}
			if c.CompareAndSwap(v, fullCell(pos, slot)) {
				q.tail.CompareAndSwap(pos, pos+1)
				return true
			}
		case d < 0: // still holds the previous lap
			if uint32(v) != 0 {
				return false
			}
			// An empty cell of an earlier lap under a later tail cannot
			// happen; reload rather than trust this tail.
		default: // pos is published (and maybe consumed): help tail past it
			q.tail.CompareAndSwap(pos, pos+1)
		}
	}
}

// peek returns the slot at the head, if any. Consumer only.
func (q *queue) peek() (slot uint32, pos uint64, ok bool) {
	pos = q.head.Load()
	v := q.cells[pos&q.mask].Load()
	if v>>32 != uint64(uint32(pos)) || uint32(v) == 0 {
		return 0, pos, false
	}
	return uint32(v) - 1, pos, true
}

// pop empties the head cell, making it wait for the next lap. Consumer only.
func (q *queue) pop(pos uint64) {
	q.cells[pos&q.mask].Store(shm.EmptyCell(pos + q.mask + 1))
	q.head.Store(pos + 1)
}

// nonEmpty reports whether a message waits at the head.
func (q *queue) nonEmpty() bool {
	_, _, ok := q.peek()
	return ok
}

// len returns the number of entries published and not consumed.
func (q *queue) len() int {
	head := q.head.Load()
	n := 0
	for pos := head; pos < head+q.mask+1; pos++ {
		v := q.cells[pos&q.mask].Load()
		if v>>32 != uint64(uint32(pos)) || uint32(v) == 0 {
			break
		}
		n++
	}
	return n
}

// contains reports whether any full cell references slot.
func (q *queue) contains(slot uint32) bool {
	for i := range q.cells {
		v := q.cells[i].Load()
		if uint32(v) == slot+1 {
			return true
		}
	}
	return false
}
