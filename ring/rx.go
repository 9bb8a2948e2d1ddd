package ring

import (
	"math/bits"
	"time"
)

// Inbound flow, one message, inside a receive step (rxSteps odd):
//
//  1. look at the logs of the senders in the logs set, out-of-band logs
//     first, round-robin from the sender after the one read last;
//  2. read the entry at our position: sequence, fields, sequence again. An
//     entry not for us (not in its recipient set, or composed before our
//     port was opened) is passed over; a slot or length out of range is
//     skipped and counted; a log whose sequences make no sense is skipped
//     until its port changes, and counted;
//  3. for a view that outlives the step (RecvView), record (sender, slot)
//     in one of our view words before our position passes the entry: the
//     sender sees the one or the other, so it frees the slot only after
//     Release;
//  4. copy out (Recv) or hand out a View (RecvView), then move our
//     position past the entry, in our own object;
//  5. in a lossless network, wake the sender if it waits for room, once per
//     wait.

// rxSource is what the receiver remembers of one sender's logs.
type rxSource struct {
	tv  *txView
	pos [2]uint64 // next positions on its data and OOB logs
	bad bool      // its log made no sense: skipped until it changes
	// History (a sender opened before us): data entries composed before
	// our port was opened and before histEnd are read as history; mark is
	// the first entry composed after, once seen: the sender keeps the
	// History entries before it for us.
	histEnd uint64
	mark    uint64
	marked  bool
}

// rxState is the receiver's private state.
type rxState struct {
	own       *rxView
	src       []rxSource // by sender
	openGen   uint32     // the network generation our port was opened at
	next      int        // sender to look at first
	viewsFree uint64     // bit k set: view word k is free
	spin      spinner
	armed     bool     // the sleep sequence is odd
	woke      []uint64 // by sender: the wait sequence we last woke
}

func (r *rxState) init(n *Network, p int, own *rxView) {
	r.spin.init()
	r.own = own
	r.src = make([]rxSource, n.g.Ports)
	r.woke = make([]uint64, n.g.Ports)
	r.openGen = n.ports[p].openGen.Load()
	r.viewsFree = 1<<n.g.Views - 1
	if n.g.Views == 64 {
		r.viewsFree = ^uint64(0)
	}
}

// Info describes a received message.
type Info struct {
	Len    int  // length of the message
	Origin int  // port that sent it
	Hop    int  // hop count it carried
	OOB    bool // it came on the out-of-band log
}

// View is a received message read in place. Data is valid until Release.
type View struct {
	Data []byte
	Info
	tv   *txView
	slot uint32
	k    int
}

func (p *Port) beginRx() { p.rxSteps.Add(1) }
func (p *Port) endRx()   { p.rxSteps.Add(1) }

// source returns what we know of sender s's logs, starting afresh when its
// port changed incarnation.
func (p *Port) source(s int) *rxSource {
	r := &p.rx
	src := &r.src[s]
	tv := p.n.peers[s].tx.Load()
	if tv == src.tv {
		return src
	}
	*src = rxSource{tv: tv}
	r.woke[s] = 0
	if tv == nil {
		return src
	}
	// A sender opened before us may have entries for us already: start a
	// log's length back and pass over what was composed before our time.
	// One opened after us has nothing we have not been sent.
	if int32(p.n.ports[s].openGen.Load()-r.openGen) <= 0 {
		for k, t := range []uint64{tv.dataTail.Load(), tv.oobTail.Load()} {
			c := [2]uint64{tv.data.capacity(), tv.oob.capacity()}[k]
			src.pos[k] = t - min(t, c)
		}
		if p.n.g.History > 0 {
			p.findHistory(src)
		}
	}
	r.own.position(s, false).Store(src.pos[0])
	r.own.position(s, true).Store(src.pos[1])
	return src
}

// findHistory finds where the history of a sender opened before us ends:
// at its first entry composed after our port was opened, or at its tail
// if there is none yet; we start History entries before it.
func (p *Port) findHistory(src *rxSource) {
	lg := &src.tv.data
	tail := src.tv.dataTail.Load()
	end := tail
	for pos := src.pos[0]; pos != tail; pos++ {
		if p.postJoin(lg, pos) {
			end, src.mark, src.marked = pos, pos, true
			break
		}
	}
	src.histEnd = end
	src.pos[0] = max(src.pos[0], end-min(end, uint64(p.n.g.History)))
}

// postJoin reports whether entry pos of lg is published and was composed
// after our port was opened.
func (p *Port) postJoin(lg *logView, pos uint64) bool {
	c := lg.entry(pos)
	seq := c[wSeq].Load()
	tag := c[wTag].Load()
	return seq == pos+1 && c[wSeq].Load() == seq && int32(uint32(tag)-p.rx.openGen) >= 0
}

// entry is an entry found for us.
type entry struct {
	src  *rxSource
	s    int
	k    int
	pos  uint64
	slot uint32
	hist bool // read as history (see rxSource)
	info Info
}

// scan looks for the next entry for us on log k of sender s, passing over
// entries that are not. It stores how far it passed in our object.
func (p *Port) scan(s, k int, e *entry) bool {
	src := p.source(s)
	if src.tv == nil || src.bad {
		return false
	}
	tv, own := src.tv, p.rx.own
	lg := &tv.data
	if k == 1 {
		lg = &tv.oob
	}
	capacity := lg.capacity()
	pos, start := src.pos[k], src.pos[k]
	found := false
	for i := uint64(0); i < capacity; i++ {
		c := lg.entry(pos)
		seq := c[wSeq].Load()
		if seq != pos+1 {
			if seq <= pos {
				break // not published yet, or being written
			}
			if (seq-1-pos)%capacity != 0 {
				own.bad.Add(1)
				src.bad = true
				break
			}
			// The log wrapped over what we had not read: lost.
			own.lost.Add(1)
			pos = seq - capacity
			continue
		}
		meta, to, tag := c[wMeta].Load(), c[wTo].Load(), c[wTag].Load()
		if c[wSeq].Load() != seq {
			continue // rewritten while we read it: look again
		}
		preJoin := int32(uint32(tag)-p.rx.openGen) < 0
		if k == 0 && !preJoin && !src.marked {
			src.mark, src.marked = pos, true
		}
		hist := k == 0 && preJoin && pos < src.histEnd
		if !hist && (to&p.bit == 0 || preJoin) {
			pos++
			continue
		}
		n, slot := int(uint32(meta)), uint32(meta>>32)
		if int(slot) >= tv.nslots || n > tv.mtu {
			own.bad.Add(1)
			pos++
			continue
		}
		*e = entry{src: src, s: s, k: k, pos: pos, slot: slot, hist: hist,
			info: Info{Len: n, Origin: s, Hop: int(uint8(tag >> 32)), OOB: k == 1}}
		found = true
		break
	}
	if pos != start {
		src.pos[k] = pos
		own.position(s, k == 1).Store(pos)
	}
	return found
}

// still reports whether the entry found still holds its slot for us, once
// read: a lossy sender may reuse the cell, and the slot, once it wrapped
// over it; a history entry is kept only while it is among the sender's
// last History entries or the sender marked it for us; and a receiver
// lossy for itself holds an entry of a lossless network only while it is
// less than Pool entries behind the sender's tail.
func (p *Port) still(e *entry) bool {
	g := p.n.g
	if !g.Lossless() {
		lg := &e.src.tv.data
		if e.k == 1 {
			lg = &e.src.tv.oob
		}
		if lg.entry(e.pos)[wSeq].Load() != e.pos+1 {
			return false
		}
	}
	if e.k == 1 || !e.hist && (!g.Lossless() || !p.n.lossyRx(p.id)) {
		return true
	}
	behind := e.src.tv.dataTail.Load() - e.pos
	if !e.hist {
		return behind < uint64(g.Pool)
	}
	return behind <= uint64(g.History) || p.histMarked(e)
}

// histMarked reports whether the sender marked history entry e for us: it
// is one of the History entries before the sender's first entry composed
// after our port was opened.
func (p *Port) histMarked(e *entry) bool {
	src, h := e.src, uint64(p.n.g.History)
	if !src.marked {
		tail := src.tv.dataTail.Load()
		for pos := e.pos + 1; pos != tail && pos-e.pos <= h; pos++ {
			if p.postJoin(&src.tv.data, pos) {
				src.mark, src.marked = pos, true
				break
			}
		}
	}
	return src.marked && e.pos+h >= src.mark
}

// lose counts an entry read too late to be valid and passes it.
func (p *Port) lose(e *entry) {
	p.rx.own.lost.Add(1)
	e.src.pos[e.k] = e.pos + 1
	p.rx.own.position(e.s, e.k == 1).Store(e.pos + 1)
}

// next finds the next entry for us: out-of-band logs first, then data,
// round-robin over the senders. Inside a receive step.
func (p *Port) nextEntry(e *entry) bool {
	logs := p.n.logs.Load() & p.n.portMask &^ p.bit
	start := p.rx.next
	for k := 1; k >= 0; k-- {
		for w := bits.RotateLeft64(logs, -start); w != 0; w &= w - 1 {
			s := (bits.TrailingZeros64(w) + start) & 63
			if p.scan(s, k, e) {
				p.rx.next = (s + 1) % len(p.rx.src)
				return true
			}
		}
	}
	return false
}

// passed moves our position past the entry and wakes its sender if it
// waits for room.
func (p *Port) passed(e *entry) {
	e.src.pos[e.k] = e.pos + 1
	p.rx.own.position(e.s, e.k == 1).Store(e.pos + 1)
	own := p.rx.own
	if e.k == 1 {
		own.oobRecv.Add(1)
	} else {
		own.received.Add(1)
		own.recvB.Add(uint64(e.info.Len))
	}
	p.wakeTx(e.s, e.src.tv)
}

// wakeTx wakes sender s if it announced it waits for room, once per wait.
func (p *Port) wakeTx(s int, tv *txView) {
	if !p.n.g.Lossless() {
		return
	}
	w := tv.wait.Load()
	if w&1 == 0 || w == p.rx.woke[s] {
		return
	}
	p.rx.woke[s] = w
	if e := p.n.peers[s].txEvt.Load(); e != nil {
		e.Signal()
	}
}

func (p *Port) canRecv() error {
	if p.closed.Load() {
		return ErrPortClosed
	}
	if p.rx.own == nil || p.n.readers.Load()&p.bit == 0 {
		return ErrNotReader
	}
	return nil
}

// TryRecv copies the next message into b without waiting: ErrAgain when
// none is pending. A message longer than b fills b and returns ErrTruncated.
func (p *Port) TryRecv(b []byte) (int, Info, error) {
	if err := p.canRecv(); err != nil {
		return 0, Info{}, err
	}
	p.beginRx()
	p.n.refreshIfNeeded()
	var e entry
	for p.nextEntry(&e) {
		n := copy(b, e.src.tv.payload(e.slot)[:e.info.Len])
		if !p.still(&e) {
			p.lose(&e)
			continue
		}
		p.passed(&e)
		p.endRx()
		if n < e.info.Len {
			return n, e.info, ErrTruncated
		}
		return n, e.info, nil
	}
	p.endRx()
	return 0, Info{}, ErrAgain
}

// Recv copies the next message into b, waiting until deadline (zero:
// forever).
func (p *Port) Recv(b []byte, deadline time.Time) (int, Info, error) {
	for {
		n, info, err := p.TryRecv(b)
		if err != ErrAgain {
			return n, info, err
		}
		if err := p.waitRx(deadline); err != nil {
			return 0, Info{}, err
		}
	}
}

// TryRecvView returns the next message in place without waiting: ErrAgain
// when none is pending. Release the view when done with it.
func (p *Port) TryRecvView() (View, error) {
	if err := p.canRecv(); err != nil {
		return View{}, err
	}
	k := bits.TrailingZeros64(p.rx.viewsFree)
	if k == 64 {
		return View{}, ErrTooManyViews
	}
	own := p.rx.own
	p.beginRx()
	p.n.refreshIfNeeded()
	var e entry
	for p.nextEntry(&e) {
		own.views[k].Store(viewKey(e.s, e.slot))
		if !p.still(&e) {
			own.views[k].Store(0)
			p.lose(&e)
			continue
		}
		p.passed(&e)
		e.src.tv.held.Add(1)
		p.endRx()
		p.rx.viewsFree &^= 1 << k
		return View{Data: e.src.tv.payload(e.slot)[:e.info.Len], Info: e.info, tv: e.src.tv, slot: e.slot, k: k}, nil
	}
	p.endRx()
	return View{}, ErrAgain
}

// RecvView is TryRecvView waiting until deadline (zero: forever).
func (p *Port) RecvView(deadline time.Time) (View, error) {
	for {
		v, err := p.TryRecvView()
		if err != ErrAgain {
			return v, err
		}
		if err := p.waitRx(deadline); err != nil {
			return View{}, err
		}
	}
}

// Release gives back a view. Its Data must not be used afterwards.
func (p *Port) Release(v View) {
	if v.tv == nil || p.rx.viewsFree&(1<<v.k) != 0 {
		return // not a view, or released already
	}
	p.rx.own.views[v.k].Store(0)
	p.rx.viewsFree |= 1 << v.k
	p.wakeTx(v.Origin, v.tv)
	v.tv.held.Add(-1)
}

// pending reports whether an entry waits on a log we read, for us or not
// (TryRecv passes over those that are not), or whether the network changed
// (TryRecv maps the senders that appeared).
func (p *Port) pending() bool {
	if p.n.netGen.Load() != p.n.seen.Load() {
		return true
	}
	p.beginRx()
	ok := p.pendingIn(0) || p.pendingIn(1)
	p.endRx()
	return ok
}

func (p *Port) pendingIn(k int) bool {
	logs := p.n.logs.Load() & p.n.portMask &^ p.bit
	for w := logs; w != 0; w &= w - 1 {
		s := bits.TrailingZeros64(w)
		src := p.source(s)
		if src.tv == nil || src.bad {
			continue
		}
		lg := &src.tv.data
		if k == 1 {
			lg = &src.tv.oob
		}
		if lg.entry(src.pos[k])[wSeq].Load() > src.pos[k] {
			return true
		}
	}
	return false
}

// Pending reports whether a message may wait, without taking it.
func (p *Port) Pending() bool {
	p.n.refreshIfNeeded()
	return p.pending()
}

// OOBPending reports whether an out-of-band message may wait (poll's
// priority-readable).
func (p *Port) OOBPending() bool {
	p.n.refreshIfNeeded()
	p.beginRx()
	ok := p.pendingIn(1)
	p.endRx()
	return ok
}

// WaitRx waits until a message may be pending, the port stops being a
// reader or is closed, or the deadline passes (zero: no deadline). A
// Signal on the port's receive eventfd also ends it, which lets a caller
// cancel the wait.
func (p *Port) WaitRx(deadline time.Time) error { return p.waitRx(deadline) }

// waitRx returns once a message may be pending, the port stops being a
// reader, or the deadline passes. It spins first, within an adaptive
// budget, so a receiver that keeps up costs senders no system call; then it
// announces that it sleeps, looks once more, and sleeps on its eventfd.
func (p *Port) waitRx(deadline time.Time) error {
	if p.rx.spin.until(p.pending) {
		return nil
	}
	e := p.n.peers[p.id].rxEvt.Load()
	if e == nil {
		return ErrAgain
	}
	p.sleep(true)
	defer p.sleep(false)
	if p.pending() || p.canRecv() != nil {
		return nil
	}
	if !deadline.IsZero() && !time.Now().Before(deadline) {
		return ErrTimeout
	}
	return e.Wait(deadline)
}

// sleep makes the sleep sequence odd (announce) or even again.
func (p *Port) sleep(on bool) {
	if p.rx.own != nil && p.rx.armed != on {
		p.rx.own.sleep.Add(1)
		p.rx.armed = on
	}
}

// ReadyFD returns the eventfd that becomes readable when the port's receiver
// sleeps and a message arrives; see Arm.
func (p *Port) ReadyFD() int {
	if e := p.n.peers[p.id].rxEvt.Load(); e != nil {
		return e.FD()
	}
	return -1
}

// Arm prepares the port for an external poll on ReadyFD: it announces the
// receiver sleeps and reports whether a message is already pending (then do
// not poll). Call Disarm after the poll returns.
func (p *Port) Arm() (pending bool) {
	// Consume stale wake-ups first, so the descriptor turns readable only
	// for what comes after the announcement.
	if e := p.n.peers[p.id].rxEvt.Load(); e != nil {
		e.Drain()
	}
	p.n.refreshIfNeeded()
	p.sleep(true)
	if p.pending() {
		p.sleep(false)
		return true
	}
	return false
}

// Disarm ends an external poll begun with Arm, consuming the wake-up.
func (p *Port) Disarm() {
	p.sleep(false)
	if e := p.n.peers[p.id].rxEvt.Load(); e != nil {
		e.Drain()
	}
}
