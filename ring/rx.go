package ring

import (
	"time"

	"github.com/ipn-project/ipn/shm"
)

// Inbound flow, one message, inside a receive step (rxSeq odd):
//
//  1. peek the out-of-band ring, then the data ring;
//  2. for a view that outlives the step (RecvView), record the slot in one
//     of the port's view words before popping the cell: at every instant
//     the reference is in the ring or in a view word, which is what lets a
//     reclaim tell a delivered message from a lost one. A copying receive
//     (Recv) finishes inside the step, which the reclaim waits out instead;
//  3. copy out (Recv) or hand out a View (RecvView);
//  4. on release: clear the view word, then drop our bit from holders.

// rxState is the receiver's private state.
type rxState struct {
	viewsFree uint64 // bit k set: view word k is free
	spin      spinner
	// Next positions to read in the data and OOB rings; the shared heads
	// follow them, for producers and the coordinator.
	dataHead, oobHead uint64
}

func (r *rxState) init(g shm.Geometry, pv *portView) {
	r.dataHead, r.oobHead = pv.data.head.Load(), pv.oob.head.Load()
	r.viewsFree = 1<<g.Views - 1
	if g.Views == 64 {
		r.viewsFree = ^uint64(0)
	}
	r.spin.init()
}

// Info describes a received message.
type Info struct {
	Len    int  // length of the message
	Origin int  // port that sent it
	Hop    int  // hop depth it carried
	OOB    bool // it came on the out-of-band ring
}

// View is a received message read in place. Data is valid until Release.
type View struct {
	Data []byte
	Info
	slot uint32
	k    int
}

// take moves the next message off a ring, into view word k unless k is
// negative. It must run inside a receive step.
func (p *Port) take(k int) (uint32, Info, bool, error) {
	pv, r := p.pv, &p.rx
	q, head, oob := &pv.oob, &r.oobHead, true
	s, ok := q.at(*head)
	if !ok {
		q, head, oob = &pv.data, &r.dataHead, false
		if s, ok = q.at(*head); !ok {
			return 0, Info{}, false, nil
		}
	}
	if int(s) >= len(p.n.slots) {
		return 0, Info{}, false, p.n.damaged("port %d ring holds slot %d of %d", p.id, s, len(p.n.slots))
	}
	if k >= 0 {
		pv.views[k].Store(uint64(s) + 1)
	}
	*head++
	q.head.Store(*head)
	meta := p.n.slots[s].meta.Load()
	info := Info{Len: int(uint32(meta)), Origin: int(uint8(meta >> 32)), Hop: int(uint8(meta >> 40)), OOB: oob}
	if info.Len > p.n.g.MTU {
		p.drop(s, k)
		return 0, Info{}, false, p.n.damaged("slot %d length %d exceeds MTU %d", s, info.Len, p.n.g.MTU)
	}
	if !oob {
		pv.recvB.Add(uint64(info.Len))
	}
	return s, info, true, nil
}

// drop clears view word k, if any, and our reference to slot s.
func (p *Port) drop(s uint32, k int) {
	if k >= 0 {
		p.pv.views[k].Store(0)
	}
	p.n.release(s, p.bit)
}

func (p *Port) canRecv() error {
	if p.closed.Load() {
		return ErrPortClosed
	}
	if p.n.readers.Load()&p.bit == 0 {
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
	pv := p.pv
	pv.rxSeq.Add(1)
	s, info, ok, err := p.take(-1)
	n := 0
	if ok {
		n = copy(b, p.n.slots[s].payload[:info.Len])
		p.drop(s, -1)
		if n < info.Len {
			err = ErrTruncated
		}
	}
	pv.rxSeq.Add(1)
	if !ok && err == nil {
		err = ErrAgain
	}
	return n, info, err
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
	k := trailingZeros(p.rx.viewsFree)
	if k == 64 {
		return View{}, ErrTooManyViews
	}
	pv := p.pv
	pv.rxSeq.Add(1)
	s, info, ok, err := p.take(k)
	pv.rxSeq.Add(1)
	if err != nil {
		return View{}, err
	}
	if !ok {
		return View{}, ErrAgain
	}
	p.rx.viewsFree &^= 1 << k
	return View{Data: p.n.slots[s].payload[:info.Len], Info: info, slot: s, k: k}, nil
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
	p.pv.rxSeq.Add(1)
	p.drop(v.slot, v.k)
	p.pv.rxSeq.Add(1)
	p.rx.viewsFree |= 1 << v.k
}

// pending reports whether a message waits on either ring.
func (p *Port) pending() bool {
	if _, ok := p.pv.data.at(p.rx.dataHead); ok {
		return true
	}
	_, ok := p.pv.oob.at(p.rx.oobHead)
	return ok
}

// Pending reports whether a message waits, without taking it.
func (p *Port) Pending() bool { return p.pending() }

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
	e := p.n.rx[p.id].Load()
	if e == nil {
		return ErrAgain
	}
	pv := p.pv
	pv.sleep.Store(1)
	if p.pending() || p.canRecv() != nil {
		pv.sleep.Store(0)
		return nil
	}
	if !deadline.IsZero() && !time.Now().Before(deadline) {
		pv.sleep.Store(0)
		return ErrTimeout
	}
	err := e.Wait(deadline)
	pv.sleep.Store(0)
	return err
}

// ReadyFD returns the eventfd that becomes readable when the port's receiver
// sleeps and a message arrives; see Arm.
func (p *Port) ReadyFD() int {
	if e := p.n.rx[p.id].Load(); e != nil {
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
	if e := p.n.rx[p.id].Load(); e != nil {
		e.Drain()
	}
	p.pv.sleep.Store(1)
	if p.pending() {
		p.pv.sleep.Store(0)
		return true
	}
	return false
}

// Disarm ends an external poll begun with Arm, consuming the wake-up.
func (p *Port) Disarm() {
	p.pv.sleep.Store(0)
	if e := p.n.rx[p.id].Load(); e != nil {
		e.Drain()
	}
}

// OOBPending reports whether an out-of-band message waits (poll's
// priority-readable).
func (p *Port) OOBPending() bool {
	_, ok := p.pv.oob.at(p.rx.oobHead)
	return ok
}
