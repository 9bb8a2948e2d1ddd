package ring

import (
	"time"

	"github.com/ipn-project/ipn/shm"
)

// Outbound flow, one message:
//
//  1. alloc: take a free slot by flipping its holders word from 0 to our
//     bit, one compare-and-swap; the slot is now ours and attributable.
//  2. fill: the payload is written into the slot once (Send copies, the
//     zero-copy caller writes Tx.Buf in place).
//  3. submit, inside the send step (txSeq odd):
//     a. keep only recipients that are live readers, never ourselves;
//     b. write the slot's meta (length, origin, hop);
//     c. add every recipient's bit to holders before any can see the slot;
//     d. push the slot on each recipient's ring; a full ring drops the
//        message for that recipient: clear its bit, count a drop;
//     e. wake each recipient that sleeps;
//     f. drop our own bit; the last holder to drop frees the slot.

// txState is the sender's private state.
type txState struct {
	// hist holds the slots we took, oldest at hpos once it has wrapped.
	// Receivers release a stream's slots in the order it sent them, so the
	// oldest is the next to come free, and one we took a few sends ago is
	// likely free already and still in cache.
	hist   []uint32
	hpos   int
	cursor int // next-fit scan position
	held   int // slots allocated and not yet submitted or aborted
	// oldFirst: the last allocation found the oldest slot free and the
	// recent one busy (a full pool), so try the oldest first.
	oldFirst bool
	spin     spinner
	rings    []producerView // data ring of port r at r, its OOB ring at Ports+r
	delivery Delivery       // handed to dispatch policies, see SubmitWith
}

const (
	histMax  = 4096
	histNear = 16 // a slot this many sends old is retried first
)

const noSlot = ^uint32(0)

func (t *txState) init(g shm.Geometry) {
	t.spin.init()
	t.hist = make([]uint32, min(g.Slots, histMax))
	for i := range t.hist {
		t.hist[i] = noSlot
	}
}

// ago returns the slot taken k sends ago (1 <= k <= len(hist)).
func (t *txState) ago(k int) uint32 {
	return t.hist[(t.hpos-k+len(t.hist))%len(t.hist)]
}

func (t *txState) record(s uint32) {
	t.hist[t.hpos] = s
	if t.hpos++; t.hpos == len(t.hist) {
		t.hpos = 0
	}
}

// Tx is a slot taken for filling in place. Write the message into Buf
// (MTU bytes), then Submit or Abort it.
type Tx struct {
	Buf  []byte
	slot uint32
}

// claim flips slot s's holders word from 0 to our bit.
func (p *Port) claim(s uint32) bool {
	if s == noSlot {
		return false
	}
	h := p.n.slots[s].holders
	return h.Load() == 0 && h.CompareAndSwap(0, p.bit)
}

// alloc takes a free slot: one taken a few sends ago (hot in cache), else
// the oldest we took (the next a stream frees), else the first free one
// found scanning on from where the last scan stopped.
func (p *Port) alloc() (uint32, bool) {
	t := &p.tx
	near, old := t.ago(min(histNear, len(t.hist))), t.hist[t.hpos]
	if t.oldFirst {
		near, old = old, near
	}
	if p.claim(near) {
		t.record(near)
		return near, true
	}
	if p.claim(old) {
		t.oldFirst = !t.oldFirst
		t.record(old)
		return old, true
	}
	for range p.n.slots {
		s := uint32(t.cursor)
		if t.cursor++; t.cursor == len(p.n.slots) {
			t.cursor = 0
		}
		if p.claim(s) {
			t.record(s)
			return s, true
		}
	}
	return 0, false
}

// roomLikely polls whether a waiting sender should try again: whether a
// few of the slots it took longest ago are free, so that it resumes with
// room for several messages instead of trading one slot at a time with the
// receiver. One load, for spinning; without history it tries the scan.
func (p *Port) roomLikely() bool {
	t := &p.tx
	s := t.hist[(t.hpos+len(t.hist)/4)%len(t.hist)]
	if s == noSlot {
		s = uint32(t.cursor)
	}
	return p.n.slots[s].holders.Load() == 0
}

// allocWait takes a slot, waiting in a lossless network until one is free
// or the deadline passes. A zero deadline waits forever; wait false never
// waits.
func (p *Port) allocWait(wait bool, deadline time.Time) (uint32, error) {
	if p.tx.held >= p.n.g.TxHolds {
		return 0, ErrTooManyViews
	}
	if p.closed.Load() {
		return 0, ErrPortClosed
	}
	if p.n.writers.Load()&p.bit == 0 {
		return 0, ErrNotWriter
	}
	if s, ok := p.alloc(); ok {
		p.tx.held++
		return s, nil
	}
	if !p.n.g.Lossless() {
		p.pv.noSlot.Add(1)
		return 0, ErrAgain
	}
	p.pv.blocked.Add(1)
	if !wait {
		return 0, ErrAgain
	}
	e := p.n.tx[p.id].Load()
	if e == nil {
		return 0, ErrAgain
	}
	for {
		if p.tx.spin.until(p.roomLikely) {
			if s, ok := p.alloc(); ok {
				p.tx.held++
				return s, nil
			}
		}
		// Announce, then look again: a slot freed between the two is
		// seen by the second look; one freed after is announced to us.
		p.n.txWaiters.Or(p.bit)
		if s, ok := p.alloc(); ok {
			p.tx.held++
			return s, nil
		}
		if err := e.Wait(deadline); err != nil {
			return 0, err
		}
		if p.closed.Load() {
			return 0, ErrPortClosed
		}
		if p.n.writers.Load()&p.bit == 0 {
			return 0, ErrNotWriter
		}
	}
}

// Alloc takes a slot for a zero-copy send, waiting for one in a lossless
// network until deadline (zero: forever).
func (p *Port) Alloc(deadline time.Time) (Tx, error) {
	s, err := p.allocWait(true, deadline)
	if err != nil {
		return Tx{}, err
	}
	return Tx{Buf: p.n.slots[s].payload, slot: s}, nil
}

// TryAlloc is Alloc that never waits: ErrAgain when no slot is free.
func (p *Port) TryAlloc() (Tx, error) {
	s, err := p.allocWait(false, time.Time{})
	if err != nil {
		return Tx{}, err
	}
	return Tx{Buf: p.n.slots[s].payload, slot: s}, nil
}

// Abort gives back a slot taken with Alloc without sending it.
func (p *Port) Abort(t Tx) {
	p.tx.held--
	p.n.release(t.slot, p.bit)
}

// Submit sends the first n bytes of t.Buf to the ports in the bitmap to,
// with hop depth hop. It returns how many ports the message was queued to;
// the others (rings full) counted a drop. The slot is given up either way.
func (p *Port) Submit(t Tx, n int, to uint64, hop int) (int, error) {
	return p.submit(t, n, to, hop, 0)
}

// SubmitOOB is Submit on the recipients' out-of-band rings, which their
// receivers read before any data.
func (p *Port) SubmitOOB(t Tx, n int, to uint64) (int, error) {
	return p.submit(t, n, to, 0, metaOOB)
}

func (p *Port) submit(t Tx, n int, to uint64, hop int, flags uint64) (int, error) {
	if err := p.beginSubmit(t, n); err != nil {
		return 0, err
	}
	p.writeMeta(t.slot, n, hop, flags)
	delivered := p.fanout(t.slot, to&p.n.Readers()&^p.bit, flags)
	p.endSubmit(t, n)
	return delivered, nil
}

// writeMeta records a message's length, origin and hop in its slot.
func (p *Port) writeMeta(s uint32, n, hop int, flags uint64) {
	p.n.slots[s].meta.Store(packMeta(n, p.id, hop, flags))
}

// beginSubmit checks a message and enters the send step, or gives its slot
// back. The step sequence, odd inside (see Network.Synchronize), also
// counts the messages sent: two steps each.
func (p *Port) beginSubmit(t Tx, n int) error {
	if n < 0 || n > p.n.g.MTU {
		p.Abort(t)
		return ErrMsgSize
	}
	if p.n.writers.Load()&p.bit == 0 {
		p.Abort(t)
		return ErrNotWriter
	}
	p.tx.held--
	p.pv.txSeq.Add(1)
	return nil
}

// endSubmit drops the sender's own reference and leaves the send step.
func (p *Port) endSubmit(t Tx, n int) {
	p.pv.sentB.Add(uint64(n))
	p.n.release(t.slot, p.bit)
	p.pv.txSeq.Add(1)
}

// fanout queues slot s to the ports in to. The slot's meta must be written
// already (writeMeta): a reclaim reads the origin there once recipients'
// bits are set.
func (p *Port) fanout(s uint32, to uint64, flags uint64) int {
	sl := &p.n.slots[s]
	if to == 0 {
		return 0
	}
	sl.holders.Or(to)
	delivered := 0
	for w := to; w != 0; w &= w - 1 {
		r := trailingZeros(w)
		rp := &p.n.ports[r]
		q, drops, view := &rp.data, rp.drops, &p.tx.rings[r]
		if flags&metaOOB != 0 {
			q, drops, view = &rp.oob, rp.oobDrops, &p.tx.rings[len(p.n.ports)+r]
		}
		if !q.push(s, view) {
			sl.holders.And(^(uint64(1) << r))
			drops.Add(1)
			continue
		}
		delivered++
		p.n.wakeRx(r)
	}
	return delivered
}

// Send copies b into a slot and submits it to the ports in to. In a
// lossless network it waits for a free slot until deadline (zero: forever);
// in a lossy one a message that finds no slot is dropped and counted.
func (p *Port) Send(b []byte, to uint64, hop int, deadline time.Time) (int, error) {
	return p.send(b, to, hop, true, deadline)
}

// TrySend is Send that never waits: ErrAgain when a lossless network is
// full.
func (p *Port) TrySend(b []byte, to uint64, hop int) (int, error) {
	return p.send(b, to, hop, false, time.Time{})
}

func (p *Port) send(b []byte, to uint64, hop int, wait bool, deadline time.Time) (int, error) {
	t, ok, err := p.fill(b, wait, deadline)
	if !ok {
		return 0, err
	}
	return p.submit(t, len(b), to, hop, 0)
}

// fill takes a slot and copies b into it. ok is false when there is
// nothing to submit: an error, or, in a lossy network with no slot free, a
// drop already counted.
func (p *Port) fill(b []byte, wait bool, deadline time.Time) (Tx, bool, error) {
	if len(b) > p.n.g.MTU {
		return Tx{}, false, ErrMsgSize
	}
	s, err := p.allocWait(wait, deadline)
	if err != nil {
		if err == ErrAgain && !p.n.g.Lossless() {
			return Tx{}, false, nil
		}
		return Tx{}, false, err
	}
	copy(p.n.slots[s].payload, b)
	return Tx{slot: s}, true, nil
}

// WriteFD returns the eventfd that becomes readable when a slot is freed
// after ArmWrite; see ArmWrite.
func (p *Port) WriteFD() int {
	if e := p.n.tx[p.id].Load(); e != nil {
		return e.FD()
	}
	return -1
}

// ArmWrite prepares an external poll for room to send: it reports whether
// a send would not wait now (then do not poll); otherwise the port is
// announced among the senders waiting for a slot, and WriteFD turns
// readable when one is freed. Lossy networks never make a sender wait.
func (p *Port) ArmWrite() (writable bool) {
	if !p.n.g.Lossless() {
		return true
	}
	if e := p.n.tx[p.id].Load(); e != nil {
		e.Drain()
	}
	p.n.txWaiters.Or(p.bit)
	return p.n.FreeSlots() > 0
}
