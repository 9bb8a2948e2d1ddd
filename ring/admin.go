package ring

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ipn-project/ipn/shm"
)

// The coordinator's side of the data plane: opening ports, changing roles,
// and reclaiming what a departed member held. These calls are safe for
// concurrent use with every Port operation, but calls on the same port
// must not overlap one another.

// OpenPort makes port p live for a member with process id pid and the
// given roles (shm.RoleRead, shm.RoleWrite). The port must be free.
func (n *Network) OpenPort(p, pid int, roles uint32) error {
	if p < 0 || p >= len(n.ports) {
		return fmt.Errorf("ring: open port %d: out of range 0..%d", p, len(n.ports)-1)
	}
	pv := &n.ports[p]
	if st := pv.state.Load(); st != shm.PortFree {
		return fmt.Errorf("ring: open port %d: %w (state %d)", p, ErrBusy, st)
	}
	for _, w := range []*atomic.Uint64{pv.txSeq, pv.sentB, pv.blocked, pv.noSlot,
		pv.rxSeq, pv.recvB, pv.drops, pv.oobDrops, pv.hopDrops} {
		w.Store(0)
	}
	pv.dataBase.Store(pv.data.head.Load())
	pv.oobBase.Store(pv.oob.head.Load())
	for i := range pv.views {
		pv.views[i].Store(0)
	}
	pv.sleep.Store(0)
	pv.pid.Store(uint32(pid))
	pv.gen.Add(1)
	pv.state.Store(shm.PortLive)
	n.SetRoles(p, roles)
	return nil
}

// SetRoles sets which of reading and writing port p may do (shutdown of
// either side clears one), and wakes the port so a blocked call notices.
func (n *Network) SetRoles(p int, roles uint32) {
	pv := &n.ports[p]
	pv.roles.Store(roles)
	bit := uint64(1) << p
	if roles&shm.RoleRead != 0 {
		n.readers.Or(bit)
	} else {
		n.readers.And(^bit)
	}
	if roles&shm.RoleWrite != 0 {
		n.writers.Or(bit)
	} else {
		n.writers.And(^bit)
	}
	n.netGen.Add(1)
	n.wakePort(p)
}

func (n *Network) wakePort(p int) {
	if e := n.rx[p].Load(); e != nil {
		e.Signal()
	}
	if e := n.tx[p].Load(); e != nil {
		e.Signal()
	}
}

// Synchronize waits until every live port not in skip has finished the
// send or receive step it was in when Synchronize began (a grace period,
// as in RCU). Steps are short and never wait, so this returns quickly unless
// a member is stopped inside one; then ctx bounds the wait.
func (n *Network) Synchronize(ctx context.Context, skip uint64) error {
	type inStep struct {
		port int
		seq  *atomic.Uint64
		v    uint64
	}
	var waits []inStep
	for p := range n.ports {
		pv := &n.ports[p]
		if skip&(1<<p) != 0 || pv.state.Load() != shm.PortLive {
			continue
		}
		for _, seq := range []*atomic.Uint64{pv.txSeq, pv.rxSeq} {
			if v := seq.Load(); v&1 != 0 {
				waits = append(waits, inStep{p, seq, v})
			}
		}
	}
	for delay := time.Microsecond; ; delay = min(2*delay, time.Millisecond) {
		keep := waits[:0]
		for _, w := range waits {
			// A port marked dying meanwhile belongs to a member that is
			// gone: it will never leave its step, and need not.
			if w.seq.Load() == w.v && n.ports[w.port].state.Load() == shm.PortLive {
				keep = append(keep, w)
			}
		}
		if waits = keep; len(waits) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("ring: port %d stayed inside a step: %w: %w", waits[0].port, ErrBusy, ctx.Err())
		case <-time.After(delay):
		}
	}
}

// MarkDying takes port p out of the network at once, before its Reclaim:
// it stops being a reader or writer, and grace periods stop waiting for it.
// The coordinator calls it as soon as it learns a member is gone, so that
// another member's reclaim running meanwhile does not wait for this one.
func (n *Network) MarkDying(p int) {
	pv := &n.ports[p]
	if pv.state.Load() == shm.PortFree {
		return
	}
	bit := uint64(1) << p
	pv.state.Store(shm.PortDying)
	n.readers.And(^bit)
	n.writers.And(^bit)
	n.txWaiters.And(^bit)
	n.netGen.Add(1)
	n.wakePort(p) // a member that closed the port may still wait on it
}

// Reclaim releases everything port p held, after its member closed it or
// died at any instruction, and frees the port. dead is the bitmap of other
// ports whose members are also gone (they are not waited for). It returns
// the number of slot references dropped.
//
// The order matters:
//  1. p stops being a reader or writer, so no new step involves it;
//  2. a grace period lets steps that began before 1 finish;
//  3. a message p was dispatching when it died has recipients' bits set in
//     its slot that were never pushed: a recipient that has the slot in
//     neither its rings nor its view words never will, so its bit goes.
//     (A recipient copying the slot out inside a receive step has it in
//     neither too; its bit goes early, which is harmless: p's own bit keeps
//     the slot from being freed until step 5, and its own release of the
//     bit is idempotent);
//  4. another grace period, so a receiver racing with 3 has finished;
//  5. every reference p holds is dropped and its rings are emptied.
func (n *Network) Reclaim(ctx context.Context, p int, dead uint64) (int, error) {
	if p < 0 || p >= len(n.ports) {
		return 0, fmt.Errorf("ring: reclaim port %d: out of range", p)
	}
	pv := &n.ports[p]
	bit := uint64(1) << p
	if pv.state.Load() == shm.PortFree {
		return 0, nil
	}
	n.MarkDying(p)
	skip := dead | bit
	if err := n.Synchronize(ctx, skip); err != nil {
		return 0, err
	}
	for s := range n.slots {
		sl := &n.slots[s]
		h := sl.holders.Load()
		if h&bit == 0 || int(uint8(sl.meta.Load()>>32)) != p {
			continue
		}
		for w := h &^ bit & n.portMask; w != 0; w &= w - 1 {
			r := trailingZeros(w)
			if !n.holds(r, uint32(s)) {
				sl.holders.And(^(uint64(1) << r))
			}
		}
	}
	if err := n.Synchronize(ctx, skip); err != nil {
		return 0, err
	}
	dropped := 0
	for s := range n.slots {
		if n.slots[s].holders.Load()&bit != 0 {
			n.release(uint32(s), bit)
			dropped++
		}
	}
	for i := range pv.views {
		pv.views[i].Store(0)
	}
	pv.data.drain()
	pv.oob.drain()
	pv.sleep.Store(0)
	pv.txSeq.Store(0)
	pv.rxSeq.Store(0)
	pv.roles.Store(0)
	pv.pid.Store(0)
	pv.state.Store(shm.PortFree)
	return dropped, nil
}

// holds reports whether port r has slot s queued or held as a view. The
// rings are read before the views: a receiver records a view before it pops
// the cell, so a slot moving from one to the other is seen in one of them.
func (n *Network) holds(r int, s uint32) bool {
	rv := &n.ports[r]
	if rv.oob.contains(s) || rv.data.contains(s) {
		return true
	}
	for i := range rv.views {
		if rv.views[i].Load() == uint64(s)+1 {
			return true
		}
	}
	return false
}

// FreeSlots counts the slots nobody holds.
func (n *Network) FreeSlots() int {
	free := 0
	for s := range n.slots {
		if n.slots[s].holders.Load() == 0 {
			free++
		}
	}
	return free
}

// PortStats are one port's counters and state, read from shared memory.
type PortStats struct {
	State, Roles  uint32
	PID           int
	Sent          uint64 // messages sent
	SentBytes     uint64
	Received      uint64 // data messages received
	ReceivedBytes uint64
	OOBReceived   uint64
	Blocked       uint64 // sends that found no room: they waited, or got EAGAIN
	NoSlot        uint64 // lossy sends dropped for want of a slot
	Drops         uint64 // messages to this port dropped, its ring full
	OOBDrops      uint64
	HopDrops      uint64
	Queued        int // messages waiting in its data ring
	Held          int // slots it holds a reference to
}

// Stats reads port p's counters.
func (n *Network) Stats(p int) PortStats {
	pv := &n.ports[p]
	st := PortStats{
		State: pv.state.Load(), Roles: pv.roles.Load(), PID: int(pv.pid.Load()),
		Sent: pv.txSeq.Load() / 2, SentBytes: pv.sentB.Load(),
		Received: pv.data.head.Load() - pv.dataBase.Load(), ReceivedBytes: pv.recvB.Load(),
		OOBReceived: pv.oob.head.Load() - pv.oobBase.Load(),
		Blocked:     pv.blocked.Load(), NoSlot: pv.noSlot.Load(),
		Drops: pv.drops.Load(), OOBDrops: pv.oobDrops.Load(), HopDrops: pv.hopDrops.Load(),
		Queued: pv.data.len(),
	}
	bit := uint64(1) << p
	for s := range n.slots {
		if n.slots[s].holders.Load()&bit != 0 {
			st.Held++
		}
	}
	return st
}

// CountHopDrop counts a message from port p dropped past the hop limit.
func (n *Network) CountHopDrop(p int) { n.ports[p].hopDrops.Add(1) }
