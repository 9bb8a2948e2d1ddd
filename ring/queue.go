package ring

import (
	"sync/atomic"

	"github.com/ipn-project/ipn/shm"
)

// queue is one port's ring of slot references: many producers (senders in
// any process), one consumer (the port's receiver).
//
// Each cell is one 64-bit word: the high half is the position it holds (or,
// before first use, that position minus the capacity), the low half slot+1.
// A producer publishes with a single compare-and-swap on the cell, from the
// value of the lap before to the new position and slot, so a producer
// killed at any instruction leaves the cell either unpublished or complete,
// never half-written; the shared tail is only a hint that any producer
// advances on another's behalf. The consumer never writes cells: it only
// advances head, so producers and consumer do not fight over cell lines,
// and producers read head only once per ring's worth of messages.
type queue struct {
	head  *atomic.Uint64 // consumer
	tail  *atomic.Uint64 // producers
	cells []atomic.Uint64
	mask  uint64
	limit uint64 // most entries pending; below capacity only in lossy rings
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

func fullCell(pos uint64, slot uint32) uint64 { return uint64(uint32(pos))<<32 | uint64(slot) + 1 }

// pushSpins bounds a push's retries on a ring whose cells make no sense.
const pushSpins = 1 << 20

// producerView is one producer's private view of a ring it pushes to.
type producerView struct {
	head uint64 // the consumer's head, refreshed only when the ring looks full
	tail uint64 // where this producer expects to publish next
	n    uint64 // pushes since it last moved the shared tail
}

// tailEvery is how many pushes a producer makes between stores of the
// shared tail. A lone producer, the common case, then pays for the tail
// once per tailEvery messages; other producers start from a tail that lags
// by at most that many positions per producer and step over published
// cells, as they would anyway after a producer died mid-push.
const tailEvery = 8

// push appends slot. It reports false when the ring holds limit entries.
// Safe for concurrent use by any number of producers, each with its own
// view.
func (q *queue) push(slot uint32, pv *producerView) bool {
	capacity := q.mask + 1
	pos := max(pv.tail, q.tail.Load())
	for i := 0; i < pushSpins; i++ {
		c := &q.cells[pos&q.mask]
		v := c.Load()
		switch d := int32(uint32(v>>32) - uint32(pos)); {
		case d == -int32(capacity): // holds the lap before: free once consumed
			if pos-pv.head >= q.limit {
				pv.head = q.head.Load()
				if pv.head > pos {
					// Others published and the consumer consumed pos since
					// we read the cell: our view is stale, look again.
					pos = max(pos+1, q.tail.Load())
					continue
				}
				if pos-pv.head >= q.limit {
					pv.tail = pos
					return false
				}
			}
			if c.CompareAndSwap(v, fullCell(pos, slot)) {
				pv.tail = pos + 1
				if pv.n++; pv.n >= tailEvery {
					pv.n = 0
					advanceTail(q.tail, pos+1)
				}
				return true
			}
		case d >= 0: // pos is published: step over it
			pos++
		default: // our view is from an earlier life of the ring: start over
			pos = q.tail.Load()
		}
	}
	return false // damaged: count it as a drop rather than spin forever
}

// advanceTail moves the shared tail forward to pos, never back.
func advanceTail(tail *atomic.Uint64, pos uint64) {
	for {
		t := tail.Load()
		if t >= pos || tail.CompareAndSwap(t, pos) {
			return
		}
	}
}

// at returns the slot published at pos, if any. Consumer and observers.
func (q *queue) at(pos uint64) (uint32, bool) {
	v := q.cells[pos&q.mask].Load()
	if uint32(v>>32) != uint32(pos) || uint32(v) == 0 {
		return 0, false
	}
	return uint32(v) - 1, true
}

// len returns the number of entries published and not consumed.
func (q *queue) len() int {
	head := q.head.Load()
	n := 0
	for n <= int(q.mask) {
		if _, ok := q.at(head + uint64(n)); !ok {
			break
		}
		n++
	}
	return n
}

// drain consumes every published entry, for a consumer that is gone.
func (q *queue) drain() {
	q.head.Add(uint64(q.len()))
}

// contains reports whether slot is published and not yet consumed. A
// consumer records a view of a slot before it advances head past it.
func (q *queue) contains(slot uint32) bool {
	head := uint32(q.head.Load())
	for i := range q.cells {
		v := q.cells[i].Load()
		if uint32(v) == slot+1 && int32(uint32(v>>32)-head) >= 0 {
			return true
		}
	}
	return false
}
