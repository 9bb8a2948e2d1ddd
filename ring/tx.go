package ring

import (
	"math/bits"
	"time"

	"github.com/ipn-project/ipn/shm"
)

// MaxHops is the hop limit: a message whose hop count passed it is
// dropped and counted by its sender, so that forwarders in a cycle cannot
// make it loop forever (SPEC P3).
const MaxHops = 16

// Outbound flow, one message, all of it in the sender's own memory:
//
//  1. alloc: take a slot of our own pool from the private free list; when
//     it is empty, look for slots whose entry every recipient has passed
//     (retired), lazily, now that we need one.
//  2. fill: the payload is written into the slot once (Send copies, the
//     zero-copy caller writes Tx.Buf in place).
//  3. submit, inside the send step (txSteps odd):
//     a. past the hop limit: drop it, count it, give the slot back;
//     b. if the network generation moved, map the ports that appeared;
//     c. dispatch names recipients (Delivery.To) and variants
//        (Delivery.Variant: a slot of its own, published at once);
//     d. publish: keep the recipients that are live readers, not us, and
//        (lossy) whose backlog on our log is below Pool, counting a drop
//        against each other one; write the entry, its sequence last;
//     e. wake each recipient that announced it sleeps, once per sleep.

// slotUse is what the sender remembers of the entry that uses a slot.
type slotUse struct {
	pos  uint64 // log position of the entry
	to   uint64 // its recipients
	hist uint64 // receivers that joined after it and read it as history
	gen  uint32 // network generation it was composed at
	oob  bool
}

// txState is the sender's private state.
type txState struct {
	own   *txView
	free  []uint32    // slots nobody holds
	busy  [2][]uint32 // published slots of the data and OOB logs, oldest first
	use   []slotUse   // by slot
	inUse []bool      // by slot: published and not yet found retired
	cells [2][]uint32 // by log cell: slot+1 of the entry it holds, 0 if none
	tail  [2]uint64   // next positions of the data and OOB logs
	held  int         // slots allocated and not yet submitted or aborted
	armed bool        // ArmWrite made the wait sequence odd
	// By recipient: its position on our data log as last loaded, the
	// incarnation that position belongs to, and the sleep sequence we last
	// woke (we cannot clear its flag, so we remember).
	seen     []uint64
	floor    []uint64 // where a receiver new to us starts reading our log
	seenRx   []*rxView
	woke     []uint64
	spin     spinner
	delivery Delivery // handed to dispatch policies, see SubmitWith
	// History and stall limit: the network generation joiners were last
	// looked for at, and by receiver the port generation marked as a
	// history reader and the one reported stalled.
	markGen  uint32
	histGen  []uint32
	stallGen []uint32
}

func (t *txState) init(g shm.Geometry, own *txView) {
	t.spin.init()
	t.own = own
	if own == nil {
		return
	}
	t.free = make([]uint32, g.Slots)
	for i := range t.free {
		t.free[i] = uint32(g.Slots - 1 - i)
	}
	t.busy = [2][]uint32{make([]uint32, 0, g.Slots), make([]uint32, 0, g.Slots)}
	t.use = make([]slotUse, g.Slots)
	t.inUse = make([]bool, g.Slots)
	t.cells = [2][]uint32{make([]uint32, g.LogCap), make([]uint32, g.OOBCap)}
	t.tail = [2]uint64{own.dataTail.Load(), own.oobTail.Load()}
	t.seen = make([]uint64, g.Ports)
	t.floor = make([]uint64, g.Ports)
	t.seenRx = make([]*rxView, g.Ports)
	t.woke = make([]uint64, g.Ports)
	t.histGen = make([]uint32, g.Ports)
	t.stallGen = make([]uint32, g.Ports)
}

// Tx is a slot taken for filling in place. Write the message into Buf
// (MTU bytes), then Submit or Abort it.
type Tx struct {
	Buf  []byte
	slot uint32
}

func (p *Port) beginTx() { p.txSteps.Add(1) }
func (p *Port) endTx()   { p.txSteps.Add(1) }

// retired reports whether slot s, published, is held by nobody: every
// recipient of its entry has passed it, or lost it (a lossy log wrapped
// over it), or is gone, and none holds a view of it. Inside a send step.
//
// Two rules of this package's streaming options keep a slot longer or free
// it sooner (see the package doc): the last History entries of the data log
// are kept whoever has passed them, and a receiver that is lossy for itself
// on a lossless network holds an entry only while it is less than Pool
// entries behind the tail.
func (p *Port) retired(s uint32) bool {
	t := &p.tx
	u := &t.use[s]
	g := p.n.g
	k, capacity := 0, t.own.data.capacity()
	if u.oob {
		k, capacity = 1, t.own.oob.capacity()
	}
	behind := t.tail[k] - u.pos
	if k == 0 && behind <= uint64(g.History) {
		return false
	}
	overwritten := !g.Lossless() && behind > capacity
	readers := p.n.readers.Load()
	key := viewKey(p.id, s)
	for w := u.to; w != 0; w &= w - 1 {
		r := bits.TrailingZeros64(w)
		if !p.n.live(r, u.gen) {
			continue // gone, or a new incarnation the entry was not for
		}
		rv := p.n.peers[r].rx.Load()
		if rv == nil {
			continue
		}
		passedOver := overwritten || k == 0 && behind >= uint64(g.Pool) && p.n.lossyRx(r)
		if !passedOver && readers&(1<<r) != 0 && rv.position(p.id, u.oob).Load() <= u.pos {
			return false
		}
		if rv.holds(key) {
			return false
		}
	}
	for w := u.hist; w != 0; w &= w - 1 {
		r := bits.TrailingZeros64(w)
		cp := &p.n.ports[r]
		if cp.state.Load() != shm.PortLive || cp.gen.Load() != t.histGen[r] {
			continue // gone
		}
		rv := p.n.peers[r].rx.Load()
		if rv == nil {
			return false // not mapped here yet: keep it for the joiner
		}
		if !overwritten && rv.position(p.id, false).Load() <= u.pos || rv.holds(key) {
			return false
		}
	}
	return true
}

// markJoiners makes every receiver that may be sent entries composed at
// network generation gen and was not before a history reader of the last
// History entries of the data log: they stay referenced until it passes
// them. Inside a send step, before the entry composed at gen is published.
func (p *Port) markJoiners(gen uint32) {
	t := &p.tx
	t.markGen = gen
	h := uint64(p.n.g.History)
	if h == 0 {
		return
	}
	for w := p.n.readers.Load() & p.n.portMask &^ p.bit; w != 0; w &= w - 1 {
		r := bits.TrailingZeros64(w)
		pg := p.n.ports[r].gen.Load()
		if t.histGen[r] == pg || !p.n.live(r, gen) {
			continue
		}
		t.histGen[r] = pg
		for i := len(t.busy[0]) - 1; i >= 0; i-- {
			u := &t.use[t.busy[0][i]]
			if t.tail[0]-u.pos > h {
				break
			}
			u.hist |= 1 << r
		}
	}
}

// reclaimSlots moves every retired slot to the free list.
func (p *Port) reclaimSlots() {
	t := &p.tx
	for k := range t.busy {
		keep := t.busy[k][:0]
		for _, s := range t.busy[k] {
			if p.retired(s) {
				t.inUse[s] = false
				t.free = append(t.free, s)
			} else {
				keep = append(keep, s)
			}
		}
		t.busy[k] = keep
	}
}

// logRoom reports whether log k can take an entry without overwriting one
// a recipient has not passed; only lossless logs ask.
func (p *Port) logRoom(k int) bool {
	t := &p.tx
	capacity := t.own.data.capacity()
	if k == 1 {
		capacity = t.own.oob.capacity()
	}
	if len(t.busy[k]) == 0 || t.tail[k]-t.use[t.busy[k][0]].pos < capacity {
		return true
	}
	p.reclaimSlots()
	return len(t.busy[k]) == 0 || t.tail[k]-t.use[t.busy[k][0]].pos < capacity
}

// alloc takes a free slot of our pool. Inside a send step.
func (p *Port) alloc() (uint32, bool) {
	t := &p.tx
	if len(t.free) == 0 {
		p.reclaimSlots()
		if len(t.free) == 0 {
			return 0, false
		}
	}
	if p.n.g.Lossless() && !p.logRoom(0) {
		return 0, false
	}
	s := t.free[len(t.free)-1]
	t.free = t.free[:len(t.free)-1]
	return s, true
}

func (p *Port) allocStep() (uint32, bool) {
	p.beginTx()
	s, ok := p.alloc()
	p.endTx()
	return s, ok
}

// roomLikely polls whether a waiting sender should try again: whether the
// oldest slot it published is retired. For spinning.
func (p *Port) roomLikely() bool {
	t := &p.tx
	if len(t.busy[0]) == 0 {
		return true
	}
	p.beginTx()
	ok := p.retired(t.busy[0][0])
	p.endTx()
	return ok
}

func (p *Port) canSend() error {
	if p.closed.Load() {
		return ErrPortClosed
	}
	if p.tx.own == nil || p.n.writers.Load()&p.bit == 0 {
		return ErrNotWriter
	}
	return nil
}

// allocWait takes a slot, waiting in a lossless network until one is free
// or the deadline passes. A zero deadline waits forever; wait false never
// waits.
func (p *Port) allocWait(wait bool, deadline time.Time) (uint32, error) {
	if p.tx.held >= p.n.g.TxHolds {
		return 0, ErrTooManyViews
	}
	if err := p.canSend(); err != nil {
		return 0, err
	}
	own := p.tx.own
	if s, ok := p.allocStep(); ok {
		p.took()
		return s, nil
	}
	if !p.n.g.Lossless() {
		p.dropAll()
		return 0, ErrAgain
	}
	own.blocked.Add(1)
	if !wait {
		return 0, ErrAgain
	}
	e := p.n.peers[p.id].txEvt.Load()
	if e == nil {
		return 0, ErrAgain
	}
	var st stallWatch
	st.init(p)
	start := time.Now()
	defer func() { p.waited.Add(int64(time.Since(start))) }()
	for {
		if p.tx.spin.until(p.roomLikely) {
			if s, ok := p.allocStep(); ok {
				p.took()
				return s, nil
			}
		}
		// Announce, then look again: a slot freed between the two is seen
		// by the second look; one freed after is announced to us. Each
		// sleep has a value of its own: a receiver wakes each value once.
		p.announce()
		if s, ok := p.allocStep(); ok {
			p.took()
			return s, nil
		}
		err := e.Wait(st.until(deadline))
		if err == ErrTimeout && st.timer(deadline) {
			st.check(p)
			err = nil
		}
		if err != nil {
			p.unarm()
			return 0, err
		}
		if err := p.canSend(); err != nil {
			p.unarm()
			return 0, err
		}
	}
}

// dropAll counts a message that found no slot: against the sender, and
// against every port that would have received it from a hub.
func (p *Port) dropAll() {
	own := p.tx.own
	own.noSlot.Add(1)
	for w := p.n.Readers() &^ p.bit; w != 0; w &= w - 1 {
		own.drops[bits.TrailingZeros64(w)].Add(1)
	}
}

// took counts a slot held and ends an announced wait.
func (p *Port) took() {
	p.tx.held++
	p.unarm()
}

// announce makes the wait sequence odd, with a value no receiver has woken
// yet.
func (p *Port) announce() {
	if p.tx.armed {
		p.tx.own.wait.Add(2)
	} else {
		p.tx.own.wait.Add(1)
		p.tx.armed = true
	}
}

// unarm ends an announced wait: the wait sequence is even again.
func (p *Port) unarm() {
	if p.tx.armed {
		p.tx.own.wait.Add(1)
		p.tx.armed = false
	}
}

// Alloc takes a slot for a zero-copy send, waiting for one in a lossless
// network until deadline (zero: forever).
func (p *Port) Alloc(deadline time.Time) (Tx, error) {
	s, err := p.allocWait(true, deadline)
	if err != nil {
		return Tx{}, err
	}
	return Tx{Buf: p.tx.own.payload(s), slot: s}, nil
}

// TryAlloc is Alloc that never waits: ErrAgain when no slot is free.
func (p *Port) TryAlloc() (Tx, error) {
	s, err := p.allocWait(false, time.Time{})
	if err != nil {
		return Tx{}, err
	}
	return Tx{Buf: p.tx.own.payload(s), slot: s}, nil
}

// Abort gives back a slot taken with Alloc without sending it.
func (p *Port) Abort(t Tx) {
	p.tx.held--
	p.tx.free = append(p.tx.free, t.slot)
}

// Submit sends the first n bytes of t.Buf to the ports in the set to, with
// hop count hop. It returns how many ports the message was queued to; the
// others counted a drop. The slot is given up either way.
func (p *Port) Submit(t Tx, n int, to uint64, hop int) (int, error) {
	return p.submit(t, n, hop, to, nil, false)
}

// SubmitOOB is Submit on the out-of-band log, which receivers read before
// any data.
func (p *Port) SubmitOOB(t Tx, n int, to uint64) (int, error) {
	return p.submit(t, n, 0, to, nil, true)
}

// SubmitWith sends the first n bytes of t.Buf, letting dispatch decide who
// receives what (a dispatch policy). It returns how many deliveries were
// queued.
func (p *Port) SubmitWith(t Tx, n, hop int, dispatch func(*Delivery)) (int, error) {
	return p.submit(t, n, hop, 0, dispatch, false)
}

// submit is the one send path: every send and submit ends here.
func (p *Port) submit(t Tx, n, hop int, to uint64, dispatch func(*Delivery), oob bool) (int, error) {
	if n < 0 || n > p.n.g.MTU {
		p.Abort(t)
		return 0, ErrMsgSize
	}
	if err := p.canSend(); err != nil {
		p.Abort(t)
		return 0, err
	}
	p.tx.held--
	own := p.tx.own
	if hop > MaxHops {
		own.hopDrops.Add(1)
		p.tx.free = append(p.tx.free, t.slot)
		return 0, ErrHopLimit // unwrapped: a drop allocates nothing
	}
	p.beginTx()
	p.n.refreshIfNeeded()
	// The generation is read before the readers: a port opened after this
	// load is not a recipient of this entry, on both sides (see live).
	gen := p.n.netGen.Load()
	if gen != p.tx.markGen {
		p.markJoiners(gen)
	}
	// The port's own Delivery, reused: one given to a function value would
	// escape to the heap on every message.
	d := &p.tx.delivery
	*d = Delivery{p: p, slot: t.slot, n: n, hop: hop, gen: gen}
	if dispatch != nil {
		dispatch(d)
	} else {
		d.To(to)
	}
	delivered := d.delivered + p.publish(t.slot, n, hop, d.to, gen, oob)
	own.sent.Add(1)
	own.sentB.Add(uint64(n))
	p.endTx()
	return delivered, nil
}

// publish writes the entry for slot s, n bytes, to the recipients in to
// that may take it, and wakes those that sleep. It returns how many it was
// published to; with none, the slot is free again, unless the network
// keeps history: then the entry is published for receivers that join
// later. Inside a send step.
func (p *Port) publish(s uint32, n, hop int, to uint64, gen uint32, oob bool) int {
	t, own, g := &p.tx, p.tx.own, p.n.g
	k, lg, tail, limit := 0, &own.data, own.dataTail, uint64(g.Pool)
	if oob {
		k, lg, tail, limit = 1, &own.oob, own.oobTail, uint64(g.OOBCap)
	}
	pos := t.tail[k]
	to &= p.n.portMask &^ p.bit
	if g.Lossless() && oob && !p.logRoom(1) {
		own.noSlot.Add(1)
		to = 0
	}
	kept := uint64(0)
	for w := to; w != 0; w &= w - 1 {
		r := bits.TrailingZeros64(w)
		rv := p.n.peers[r].rx.Load()
		if rv == nil {
			own.drops[k*g.Ports+r].Add(1)
			continue
		}
		if (!g.Lossless() || !oob && p.n.lossyRx(r)) && !p.backlogOK(r, rv, pos, limit, oob) {
			own.drops[k*g.Ports+r].Add(1)
			continue
		}
		kept |= 1 << r
	}
	if kept == 0 && (oob || g.History == 0) {
		t.free = append(t.free, s)
		return 0
	}
	var flags uint64
	if oob {
		flags = tagOOB
	}
	if !g.Lossless() {
		p.evict(k, pos)
	}
	c := lg.entry(pos)
	c[wSeq].Store(0)
	c[wMeta].Store(uint64(uint32(n)) | uint64(s)<<32)
	c[wTo].Store(kept)
	c[wTag].Store(packTag(gen, hop, flags))
	c[wSeq].Store(pos + 1)
	t.tail[k] = pos + 1
	tail.Store(pos + 1)
	t.use[s] = slotUse{pos: pos, to: kept, gen: gen, oob: oob}
	t.inUse[s] = true
	t.cells[k][pos&lg.mask] = s + 1
	t.busy[k] = append(t.busy[k], s)
	for w := kept; w != 0; w &= w - 1 {
		r := bits.TrailingZeros64(w)
		p.wakeRx(r)
	}
	return bits.OnesCount64(kept)
}

// evict counts the entry a lossy log is about to wrap over, if one of its
// recipients had not passed it: a drop against that recipient. The log has
// twice as many cells as the pool has slots, so the entry's slot has
// almost always been found retired already, and this costs nothing.
func (p *Port) evict(k int, pos uint64) {
	t := &p.tx
	cell := &t.cells[k][pos&uint64(len(t.cells[k])-1)]
	if *cell == 0 {
		return
	}
	s := *cell - 1
	*cell = 0
	u := &t.use[s]
	old := pos - uint64(len(t.cells[k]))
	if !t.inUse[s] || u.pos != old || u.oob != (k == 1) {
		return
	}
	readers := p.n.readers.Load()
	for w := u.to; w != 0; w &= w - 1 {
		r := bits.TrailingZeros64(w)
		rv := p.n.peers[r].rx.Load()
		if rv == nil || readers&(1<<r) == 0 || !p.n.live(r, u.gen) {
			continue
		}
		if rv.position(p.id, k == 1).Load() <= old {
			t.own.drops[k*p.n.g.Ports+r].Add(1)
		}
	}
}

// backlogOK reports whether recipient r has fewer than limit entries of
// ours pending at position pos. The position is loaded again only when the
// one seen last says the backlog is full.
func (p *Port) backlogOK(r int, rv *rxView, pos, limit uint64, oob bool) bool {
	t := &p.tx
	if oob {
		return pos-rv.position(p.id, true).Load() < limit
	}
	if t.seenRx[r] != rv {
		// A receiver new to us has not looked at our log yet: its backlog
		// starts where it will start reading, not at its zero position.
		t.seenRx[r], t.seen[r], t.woke[r] = rv, rv.position(p.id, false).Load(), 0
		t.floor[r] = pos - min(pos, uint64(p.n.g.History))
	}
	if pos-max(t.seen[r], t.floor[r]) < limit {
		return true
	}
	t.seen[r] = rv.position(p.id, false).Load()
	return pos-max(t.seen[r], t.floor[r]) < limit
}

// wakeRx wakes port r's receiver if it announced it sleeps and we have not
// woken it for that sleep yet.
func (p *Port) wakeRx(r int) {
	pe := &p.n.peers[r]
	rv := pe.rx.Load()
	if rv == nil {
		return
	}
	z := rv.sleep.Load()
	if z&1 == 0 || z == p.tx.woke[r] && p.tx.seenRx[r] == rv {
		return
	}
	p.tx.woke[r] = z
	if p.tx.seenRx[r] != rv {
		p.tx.seenRx[r], p.tx.seen[r] = rv, rv.position(p.id, false).Load()
	}
	if e := pe.rxEvt.Load(); e != nil {
		e.Signal()
	}
}

// Send copies b into a slot and submits it to the ports in to. In a
// lossless network it waits for a free slot until deadline (zero: forever);
// in a lossy one a message that finds no slot is dropped and counted.
func (p *Port) Send(b []byte, to uint64, hop int, deadline time.Time) (int, error) {
	t, ok, err := p.fill(b, hop, true, deadline)
	if !ok {
		return 0, err
	}
	return p.submit(t, len(b), hop, to, nil, false)
}

// TrySend is Send that never waits: ErrAgain when a lossless network is
// full.
func (p *Port) TrySend(b []byte, to uint64, hop int) (int, error) {
	t, ok, err := p.fill(b, hop, false, time.Time{})
	if !ok {
		return 0, err
	}
	return p.submit(t, len(b), hop, to, nil, false)
}

// SendWith copies b into a slot and sends it with SubmitWith, waiting for a
// slot as Send does when wait is set, failing with ErrAgain as TrySend does
// otherwise.
func (p *Port) SendWith(b []byte, hop int, wait bool, deadline time.Time, dispatch func(*Delivery)) (int, error) {
	t, ok, err := p.fill(b, hop, wait, deadline)
	if !ok {
		return 0, err
	}
	return p.submit(t, len(b), hop, 0, dispatch, false)
}

// fill takes a slot and copies b into it. ok is false when there is
// nothing to submit: an error, or, in a lossy network with no slot free, a
// drop already counted.
func (p *Port) fill(b []byte, hop int, wait bool, deadline time.Time) (Tx, bool, error) {
	if len(b) > p.n.g.MTU {
		return Tx{}, false, ErrMsgSize
	}
	if hop > MaxHops && p.canSend() == nil {
		// Dropped before it takes a slot: it must not wait for one.
		p.tx.own.hopDrops.Add(1)
		return Tx{}, false, ErrHopLimit
	}
	s, err := p.allocWait(wait, deadline)
	if err != nil {
		if err == ErrAgain && !p.n.g.Lossless() {
			return Tx{}, false, nil
		}
		return Tx{}, false, err
	}
	copy(p.tx.own.payload(s), b)
	return Tx{slot: s}, true, nil
}

// WriteFD returns the eventfd that becomes readable when room to send may
// have come after ArmWrite; see ArmWrite.
func (p *Port) WriteFD() int {
	if e := p.n.peers[p.id].txEvt.Load(); e != nil {
		return e.FD()
	}
	return -1
}

// ArmWrite prepares an external poll for room to send: it reports whether
// a send would not wait now (then do not poll); otherwise the port is
// announced as waiting, and WriteFD turns readable when a receiver frees
// room. Lossy networks never make a sender wait.
func (p *Port) ArmWrite() (writable bool) {
	if !p.n.g.Lossless() || p.tx.own == nil {
		return true
	}
	if e := p.n.peers[p.id].txEvt.Load(); e != nil {
		e.Drain()
	}
	p.announce()
	p.beginTx()
	ok := len(p.tx.free) > 0 && p.logRoom(0)
	if !ok {
		p.reclaimSlots()
		ok = len(p.tx.free) > 0 && p.logRoom(0)
	}
	p.endTx()
	return ok
}

// FreeSlots counts the slots of the port's pool that nobody holds.
func (p *Port) FreeSlots() int {
	if p.tx.own == nil {
		return 0
	}
	p.beginTx()
	p.reclaimSlots()
	p.endTx()
	return len(p.tx.free)
}

// stallWatch is a lossless sender's watch on the receivers that keep it
// waiting, for the stall limit (shm.Geometry.StallMS): a receiver that has
// held the oldest entry for longer than the limit while the sender waits
// is reported to the coordinator (Network.SetStallReporter), which makes
// it lossy for itself. Only the blocked path pays for it.
type stallWatch struct {
	limit  time.Duration
	since  time.Time // when the oldest entry we wait on became the oldest
	oldest uint64    // its position
}

func (w *stallWatch) init(p *Port) {
	w.limit = time.Duration(p.n.g.StallMS) * time.Millisecond
	if w.limit <= 0 || p.n.stall.Load() == nil {
		w.limit = 0
		return
	}
	w.since, w.oldest = time.Now(), p.oldestPos()
}

// until is the deadline of the next wait: the caller's, or sooner, when
// the stall limit of the oldest entry runs out first.
func (w *stallWatch) until(deadline time.Time) time.Time {
	if w.limit == 0 {
		return deadline
	}
	d := w.since.Add(w.limit)
	if now := time.Now(); !d.After(now) {
		d = now.Add(max(w.limit/8, time.Millisecond)) // reported: look again soon
	}
	if deadline.IsZero() || d.Before(deadline) {
		return d
	}
	return deadline
}

// timer reports whether a wait that timed out ended on our deadline, not
// the caller's.
func (w *stallWatch) timer(deadline time.Time) bool {
	return w.limit > 0 && (deadline.IsZero() || time.Now().Before(deadline))
}

// check reports the receivers that held the oldest entry for longer than
// the limit, or starts the watch again if that entry is not the oldest
// any more.
func (w *stallWatch) check(p *Port) {
	if pos := p.oldestPos(); pos != w.oldest {
		w.since, w.oldest = time.Now(), pos
		return
	}
	if time.Since(w.since) < w.limit {
		return
	}
	p.beginTx()
	late := p.holders()
	p.endTx()
	report := p.n.stall.Load()
	for ; late != 0; late &= late - 1 {
		r := bits.TrailingZeros64(late)
		pg := p.n.ports[r].gen.Load()
		if p.tx.stallGen[r] != pg && (*report)(r) {
			p.tx.stallGen[r] = pg
		}
	}
}

// oldestPos is the position of the oldest entry of the data log whose slot
// is not yet free.
func (p *Port) oldestPos() uint64 {
	if len(p.tx.busy[0]) == 0 {
		return p.tx.tail[0]
	}
	return p.tx.use[p.tx.busy[0][0]].pos
}

// holders is the set of receivers, not lossy for themselves, that have not
// passed the oldest entry of the data log or hold a view of its slot.
// Inside a send step.
func (p *Port) holders() uint64 {
	t := &p.tx
	if len(t.busy[0]) == 0 {
		return 0
	}
	s := t.busy[0][0]
	u := &t.use[s]
	key := viewKey(p.id, s)
	var set uint64
	for w := u.to | u.hist; w != 0; w &= w - 1 {
		r := bits.TrailingZeros64(w)
		rv := p.n.peers[r].rx.Load()
		if rv == nil || p.n.ports[r].state.Load() != shm.PortLive || p.n.lossyRx(r) {
			continue
		}
		if rv.position(p.id, false).Load() <= u.pos || rv.holds(key) {
			set |= 1 << r
		}
	}
	return set
}

// SendStats are what a port's send side counted.
type SendStats struct {
	Sent, Bytes uint64
	// Dropped counts messages left out for a recipient (its backlog full,
	// or lossy with no slot), once per recipient.
	Dropped uint64
	NoSlot  uint64        // messages that found no slot at all
	Blocked uint64        // sends that found no room
	Waited  time.Duration // time sends waited for room (lossless)
}

// SendStats reads the port's send counters.
func (p *Port) SendStats() SendStats {
	own := p.tx.own
	if own == nil {
		return SendStats{}
	}
	st := SendStats{Sent: own.sent.Load(), Bytes: own.sentB.Load(), NoSlot: own.noSlot.Load(),
		Blocked: own.blocked.Load(), Waited: time.Duration(p.waited.Load())}
	for i := range own.drops {
		st.Dropped += own.drops[i].Load()
	}
	return st
}
