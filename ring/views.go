package ring

import (
	"sync/atomic"

	"github.com/ipn-project/ipn/shm"
)

// Typed views of a network's objects, made once when an object is mapped.
// The words of another party's object are read only; what they hold is
// checked by whoever reads it.

// ctlPort is one port's record in the control object.
type ctlPort struct {
	state, gen, pid, roles, openGen *atomic.Uint32
}

// logView is a publish log: cap entries of four words.
type logView struct {
	words []atomic.Uint64
	mask  uint64
}

func newLog(o *shm.Object, off, capacity int) logView {
	return logView{words: o.Uint64s(off, 4*capacity), mask: uint64(capacity - 1)}
}

// entry returns the four words of the cell that holds position pos.
func (l *logView) entry(pos uint64) []atomic.Uint64 {
	i := 4 * (pos & l.mask)
	return l.words[i : i+4 : i+4]
}

func (l *logView) capacity() uint64 { return l.mask + 1 }

// entry fields (words of a cell).
const (
	wSeq  = shm.EntSeq / 8
	wMeta = shm.EntMeta / 8
	wTo   = shm.EntTo / 8
	wTag  = shm.EntTag / 8
)

// Tag flags of an entry.
const tagOOB = 1

func packTag(gen uint32, hop int, flags uint64) uint64 {
	return uint64(gen) | uint64(uint8(hop))<<32 | flags<<40
}

// txView is a sender's tx object: its logs, pool and counters.
type txView struct {
	obj  *shm.Object
	port int
	gen  uint32

	dataTail, oobTail, wait                *atomic.Uint64
	sent, sentB, blocked, noSlot, hopDrops *atomic.Uint64
	drops                                  []atomic.Uint64 // data drops by recipient, then OOB drops
	data, oob                              logView
	slots                                  []byte
	stride, nslots, mtu                    int

	held atomic.Int32 // views this process holds on its slots (private)
}

func newTxView(o *shm.Object, g shm.Geometry, port int, gen uint32) *txView {
	l := shm.LayoutOf(g)
	u := o.Uint64
	return &txView{
		obj: o, port: port, gen: gen,
		dataTail: u(shm.TxDataTail), oobTail: u(shm.TxOOBTail), wait: u(shm.TxWait),
		sent: u(shm.TxSent), sentB: u(shm.TxSentB), blocked: u(shm.TxBlocked),
		noSlot: u(shm.TxNoSlot), hopDrops: u(shm.TxHopDrops),
		drops:  o.Uint64s(shm.TxDrops, 2*g.Ports),
		data:   newLog(o, l.DataLog, g.LogCap),
		oob:    newLog(o, l.OOBLog, g.OOBCap),
		slots:  o.Bytes(l.Slots, g.Slots*l.SlotStride),
		stride: l.SlotStride, nslots: g.Slots, mtu: g.MTU,
	}
}

// payload returns slot s's payload, MTU bytes; s must be in range.
func (t *txView) payload(s uint32) []byte {
	o := int(s) * t.stride
	return t.slots[o : o+t.mtu : o+t.mtu]
}

// rxView is a receiver's rx object: its positions, views and counters.
type rxView struct {
	obj  *shm.Object
	port int
	gen  uint32

	sleep                               *atomic.Uint64
	received, recvB, oobRecv, bad, lost *atomic.Uint64
	views                               []atomic.Uint64
	pos                                 []atomic.Uint64 // 8 words per sender: data, OOB
}

func newRxView(o *shm.Object, g shm.Geometry, port int, gen uint32) *rxView {
	l := shm.LayoutOf(g)
	u := o.Uint64
	return &rxView{
		obj: o, port: port, gen: gen,
		sleep: u(shm.RxSleep), received: u(shm.RxReceived), recvB: u(shm.RxRecvB),
		oobRecv: u(shm.RxOOBRecv), bad: u(shm.RxBad), lost: u(shm.RxLost),
		views: o.Uint64s(shm.RxViews, g.Views),
		pos:   o.Uint64s(l.Positions, 8*g.Ports),
	}
}

// position returns r's read position on sender s's data or OOB log.
// holds reports whether the receiver holds a view of the slot whose view
// key is key.
func (r *rxView) holds(key uint64) bool {
	for i := range r.views {
		if r.views[i].Load() == key {
			return true
		}
	}
	return false
}

func (r *rxView) position(s int, oob bool) *atomic.Uint64 {
	i := 8 * s
	if oob {
		i++
	}
	return &r.pos[i]
}

// viewKey is what a view record of sender s's slot holds.
func viewKey(s int, slot uint32) uint64 { return uint64(s+1)<<32 | uint64(slot) }

// peer is what this process has mapped of one port: the objects of its
// current incarnation that this process's roles need, and its eventfds.
type peer struct {
	tx    atomic.Pointer[txView]
	rx    atomic.Pointer[rxView]
	rxEvt atomic.Pointer[Eventfd] // wakes the port's receiver
	txEvt atomic.Pointer[Eventfd] // wakes the port's sender waiting for room
}

type atomicEventfd = atomic.Pointer[Eventfd]
