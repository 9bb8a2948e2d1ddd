package ring

import (
	"fmt"
	"sync/atomic"

	"github.com/ipn-project/ipn/shm"
)

// Network is the data plane of one network: typed views of its segment and
// the wake-up lines of its ports. It is safe for concurrent use.
type Network struct {
	seg *shm.Segment
	g   shm.Geometry
	l   shm.Layout

	readers   *atomic.Uint64
	writers   *atomic.Uint64
	txWaiters *atomic.Uint64
	state     *atomic.Uint32
	netGen    *atomic.Uint32

	ports []portView
	slots []slotView
	// portMask has a bit for each port: bitmaps read from shared memory are
	// masked with it before they index anything.
	portMask uint64

	// Wake-up lines per port: rx wakes a sleeping receiver, tx a sender
	// waiting for a free slot. Set by SetEventfds before ports are used.
	rx, tx []atomic.Pointer[Eventfd]
}

// portView holds the shared words of one port's record and rings.
type portView struct {
	state, gen, pid, roles *atomic.Uint32
	dataBase, oobBase      *atomic.Uint64

	txSeq, sentB, blocked, noSlot *atomic.Uint64
	rxSeq, recvB                  *atomic.Uint64
	sleep                         *atomic.Uint32
	drops, oobDrops, hopDrops     *atomic.Uint64
	views                         []atomic.Uint64

	data, oob queue
}

// slotView holds the shared words of one slot's header and its payload.
type slotView struct {
	holders *atomic.Uint64 // bit p: port p holds a reference
	meta    *atomic.Uint64 // length | origin<<32 | hop<<40 | flags<<48
	payload []byte
}

// Meta flags of a slot.
const metaOOB = 1

func packMeta(n, origin, hop int, flags uint64) uint64 {
	return uint64(uint32(n)) | uint64(uint8(origin))<<32 | uint64(uint8(hop))<<40 | flags<<48
}

// New builds the data plane over seg. Wake-up lines are added with
// SetEventfds.
func New(seg *shm.Segment) *Network {
	g, l := seg.Geometry, seg.Layout
	n := &Network{
		seg: seg, g: g, l: l,
		readers:   seg.Uint64(shm.OffReaders),
		writers:   seg.Uint64(shm.OffWriters),
		txWaiters: seg.Uint64(shm.OffTxWaiters),
		state:     seg.Uint32(shm.OffNetState),
		netGen:    seg.Uint32(shm.OffNetGen),
		ports:     make([]portView, g.Ports),
		slots:     make([]slotView, g.Slots),
		rx:        make([]atomic.Pointer[Eventfd], g.Ports),
		tx:        make([]atomic.Pointer[Eventfd], g.Ports),
		portMask:  ^uint64(0) >> (64 - g.Ports),
	}
	dataLimit := g.Pool
	if g.Lossless() {
		dataLimit = g.RingCap
	}
	for p := range n.ports {
		o := l.Port(p)
		u32 := func(f int) *atomic.Uint32 { return seg.Uint32(o + f) }
		u64 := func(f int) *atomic.Uint64 { return seg.Uint64(o + f) }
		n.ports[p] = portView{
			state: u32(shm.PortState), gen: u32(shm.PortGen), pid: u32(shm.PortPID), roles: u32(shm.PortRoles),
			dataBase: u64(shm.PortDataBase), oobBase: u64(shm.PortOOBBase),
			txSeq: u64(shm.PortTxSeq), sentB: u64(shm.PortSentB),
			blocked: u64(shm.PortBlocked), noSlot: u64(shm.PortNoSlot),
			rxSeq: u64(shm.PortRxSeq), recvB: u64(shm.PortRecvB),
			sleep: u32(shm.PortSleep),
			drops: u64(shm.PortDrops), oobDrops: u64(shm.PortOOBDrops), hopDrops: u64(shm.PortHopDrops),
			views: seg.Uint64s(o+shm.PortViews, g.Views),
			data:  newQueue(seg, l.DataRing(p), g.RingCap, dataLimit),
			oob:   newQueue(seg, l.OOB(p), g.OOBCap, g.OOBCap),
		}
	}
	for i := range n.slots {
		o := l.Slot(i)
		n.slots[i] = slotView{
			holders: seg.Uint64(o + shm.SlotHolders),
			meta:    seg.Uint64(o + shm.SlotMeta),
			payload: seg.Bytes(o+shm.SlotPayload, g.MTU),
		}
	}
	return n
}

// Geometry returns the network's geometry.
func (n *Network) Geometry() shm.Geometry { return n.g }

// Segment returns the underlying segment.
func (n *Network) Segment() *shm.Segment { return n.seg }

// SetEventfds installs port p's wake-up lines. Either may be nil.
func (n *Network) SetEventfds(p int, rx, tx *Eventfd) {
	n.rx[p].Store(rx)
	n.tx[p].Store(tx)
}

// Readers returns the bitmap of ports that receive.
func (n *Network) Readers() uint64 { return n.readers.Load() & n.portMask }

// Writers returns the bitmap of ports that send.
func (n *Network) Writers() uint64 { return n.writers.Load() & n.portMask }

// damaged marks the network damaged and returns an error saying where.
func (n *Network) damaged(format string, args ...any) error {
	n.state.Store(shm.NetDamaged)
	return fmt.Errorf("ring: %w: "+format, append([]any{shm.ErrDamaged}, args...)...)
}

// wakeRx wakes port r's receiver if it announced it sleeps. The
// compare-and-swap makes one sender, not all, pay the system call.
func (n *Network) wakeRx(r int) {
	pv := &n.ports[r]
	if pv.sleep.Load() != 0 && pv.sleep.CompareAndSwap(1, 0) {
		if e := n.rx[r].Load(); e != nil {
			e.Signal()
		}
	}
}

// slotFreed is called by whoever dropped a slot's last reference: it wakes
// the senders waiting for room.
func (n *Network) slotFreed() {
	if n.txWaiters.Load() == 0 {
		return
	}
	w := n.txWaiters.Swap(0) & n.portMask
	for w != 0 {
		p := trailingZeros(w)
		w &= w - 1
		if e := n.tx[p].Load(); e != nil {
			e.Signal()
		}
	}
}

// release drops port bit's reference to slot s.
func (n *Network) release(s uint32, bit uint64) {
	// The bit may already be clear: a reclaim that settled a dead sender's
	// half-done dispatch may have dropped it first. Clearing it twice is
	// harmless, which is why references are bits and not a count.
	if n.slots[s].holders.And(^bit) == bit {
		n.slotFreed()
	}
}
