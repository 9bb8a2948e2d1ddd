package ring

import (
	"context"
	"fmt"
	"math/bits"
	"os"
	"time"

	"github.com/ipn-project/ipn/shm"
)

// The coordinator's side of the data plane: opening ports, changing roles,
// and reclaiming what a departed member held. These calls are safe for
// concurrent use with every Port operation.

// owner is what the coordinator's Network knows beyond a member's.
type owner struct {
	name string
	seq  int // objects made, for their names
}

// OpenPort makes port p live for a member with process id pid and the
// given roles (shm.RoleRead, shm.RoleWrite): it makes the port's objects,
// a tx object if it may send and an rx object if it may receive, and its
// eventfds. The coordinator maps them read-only, unless pid is its own
// (a port it uses itself: its notice port, an interface's pump).
func (n *Network) OpenPort(p, pid int, roles uint32) error {
	if n.owner == nil {
		return fmt.Errorf("ring: open port %d: only the coordinator opens ports: %w", p, ErrBusy)
	}
	if p < 0 || p >= len(n.ports) {
		return fmt.Errorf("ring: open port %d: out of range 0..%d", p, len(n.ports)-1)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	cp := &n.ports[p]
	if st := cp.state.Load(); st != shm.PortFree {
		return fmt.Errorf("ring: open port %d: %w (state %d)", p, ErrBusy, st)
	}
	n.dropPeer(p) // what a reclaim left, if anything
	gen := cp.gen.Load() + 1
	local := pid == os.Getpid()
	rxEvt, err := NewEventfd()
	if err != nil {
		return err
	}
	txEvt, err := NewEventfd()
	if err != nil {
		rxEvt.Close()
		return err
	}
	var tv *txView
	var rv *rxView
	fail := func(err error) error {
		rxEvt.Close()
		txEvt.Close()
		if tv != nil {
			tv.obj.Close()
		}
		return fmt.Errorf("ring: open port %d: %w", p, err)
	}
	n.owner.seq++
	name := fmt.Sprintf("%s-%d-%d", n.owner.name, p, n.owner.seq)
	if roles&shm.RoleWrite != 0 {
		o, err := shm.Create(name+"-tx", shm.KindTx, n.l.TxSize, p, gen, n.netID, local)
		if err != nil {
			return fail(err)
		}
		tv = newTxView(o, n.g, p, gen)
	}
	if roles&shm.RoleRead != 0 {
		o, err := shm.Create(name+"-rx", shm.KindRx, n.l.RxSize, p, gen, n.netID, local)
		if err != nil {
			return fail(err)
		}
		rv = newRxView(o, n.g, p, gen)
	}
	pe := &n.peers[p]
	pe.tx.Store(tv)
	pe.rx.Store(rv)
	pe.rxEvt.Store(rxEvt)
	pe.txEvt.Store(txEvt)
	og := n.netGen.Load() + 1
	cp.pid.Store(uint32(pid))
	cp.roles.Store(roles)
	cp.gen.Store(gen)
	cp.openGen.Store(og)
	cp.state.Store(shm.PortLive)
	bit := uint64(1) << p
	if roles&shm.RoleRead != 0 {
		n.readers.Or(bit)
	}
	if roles&shm.RoleWrite != 0 {
		n.writers.Or(bit)
		n.logs.Or(bit)
	}
	n.netGen.Store(og)
	return nil
}

// SetRoles narrows what port p may do (a shutdown of reading or writing),
// and wakes the port so a blocked call notices. Roles only shrink: a port
// has objects only for the roles it was opened with.
func (n *Network) SetRoles(p int, roles uint32) {
	n.mu.Lock()
	defer n.mu.Unlock()
	cp := &n.ports[p]
	roles &= cp.roles.Load()
	cp.roles.Store(roles)
	bit := uint64(1) << p
	if roles&shm.RoleRead == 0 {
		n.readers.And(^bit)
	}
	if roles&shm.RoleWrite == 0 {
		n.writers.And(^bit)
	}
	n.netGen.Add(1)
	n.wakePort(p)
	n.wakeWriters()
}

// MarkLossy makes receiver p lossy for itself from now on (shm.RoleLossy):
// senders leave it out when its backlog is full instead of waiting for it.
// Senders that wait for it are woken.
func (n *Network) MarkLossy(p int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.ports[p].roles.Or(shm.RoleLossy)
	n.wakeWriters()
}

// Behind reports how many entries of sender s's data log receiver r has
// not passed, by their published positions; 0 if either has no object.
func (n *Network) Behind(r, s int) uint64 {
	if r < 0 || s < 0 || r >= len(n.peers) || s >= len(n.peers) {
		return 0
	}
	rv, tv := n.peers[r].rx.Load(), n.peers[s].tx.Load()
	if rv == nil || tv == nil {
		return 0
	}
	tail, pos := tv.dataTail.Load(), rv.position(s, false).Load()
	if pos >= tail {
		return 0
	}
	return tail - pos
}

// wakeWriters signals every sender's transmit eventfd: what held their
// slots may be gone.
func (n *Network) wakeWriters() {
	for w := n.logs.Load() & n.portMask; w != 0; w &= w - 1 {
		if e := n.peers[bits.TrailingZeros64(w)].txEvt.Load(); e != nil {
			e.Signal()
		}
	}
}

// MarkDying takes port p out of the network at once: it stops being a
// reader or writer, so it holds nothing from now on, while its log stays
// readable until Reclaim. The coordinator calls it as soon as it learns a
// member is gone.
func (n *Network) MarkDying(p int) {
	if p < 0 || p >= len(n.ports) {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.markDying(p)
}

func (n *Network) markDying(p int) {
	cp := &n.ports[p]
	if cp.state.Load() != shm.PortLive {
		return
	}
	bit := uint64(1) << p
	cp.state.Store(shm.PortDying)
	n.readers.And(^bit)
	n.writers.And(^bit)
	n.netGen.Add(1)
	n.wakePort(p) // a member that closed the port may still wait on it
	n.wakeWriters()
	n.wakeReaders() // a sender may have died between publishing and waking
}

// wakeReaders signals every receiver's eventfd.
func (n *Network) wakeReaders() {
	for w := n.readers.Load() & n.portMask; w != 0; w &= w - 1 {
		if e := n.peers[bits.TrailingZeros64(w)].rxEvt.Load(); e != nil {
			e.Signal()
		}
	}
}

// drainPoll is how often Reclaim looks whether receivers have read a dead
// sender's last entries.
const drainPoll = 2 * time.Millisecond

// Reclaim releases everything port p held, after its member closed it or
// died at any instruction, and frees the port. A receiver holds nothing
// once it is marked dying. A sender's entries stay readable until every
// live receiver has passed those it was sent, or ctx is done; then its
// objects go. dead is the set of other ports whose members are also gone.
// It returns how many entries were left unread.
func (n *Network) Reclaim(ctx context.Context, p int, dead uint64) (int, error) {
	if p < 0 || p >= len(n.ports) {
		return 0, fmt.Errorf("ring: reclaim port %d: out of range", p)
	}
	n.MarkDying(p)
	return n.free(p, n.Drain(ctx, p, dead)), nil
}

// Drain waits until live receivers (not in dead) have read what sender p,
// gone, published for them, or ctx is done, and returns how many entries
// are left. The coordinator calls it without its own locks before Reclaim,
// since receivers may take a while.
func (n *Network) Drain(ctx context.Context, p int, dead uint64) int {
	if p < 0 || p >= len(n.ports) {
		return 0
	}
	left := n.lockedUnread(p, dead)
	for left > 0 {
		select {
		case <-ctx.Done():
			return left
		case <-time.After(drainPoll):
		}
		left = n.lockedUnread(p, dead)
	}
	return 0
}

// Held under n.mu: what Stats and unread read must not be unmapped
// meanwhile.
func (n *Network) lockedUnread(p int, dead uint64) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.unread(p, dead)
}

func (n *Network) free(p, left int) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	cp := &n.ports[p]
	if cp.state.Load() == shm.PortFree {
		return 0
	}
	bit := uint64(1) << p
	n.logs.And(^bit)
	cp.roles.Store(0)
	cp.pid.Store(0)
	cp.state.Store(shm.PortFree)
	n.netGen.Add(1)
	n.dropPeer(p)
	n.collect()
	return left
}

// unread counts the entries of sender p that live receivers (not in dead)
// have been sent and not yet passed, or hold as views.
func (n *Network) unread(p int, dead uint64) int {
	tv := n.peers[p].tx.Load()
	if tv == nil {
		return 0
	}
	k := 0
	for w := n.readers.Load() & n.portMask &^ dead &^ (1 << p); w != 0; w &= w - 1 {
		k += n.pendingFor(bits.TrailingZeros64(w), p, tv)
	}
	return k
}

// pendingFor counts the entries of sender s that receiver r has been sent
// and not yet passed, plus its views of s's slots. Everything it reads is
// another party's memory: every scan is bounded by a log's capacity.
func (n *Network) pendingFor(r, s int, tv *txView) int {
	rv := n.peers[r].rx.Load()
	if rv == nil {
		return 0
	}
	openGen := n.ports[r].openGen.Load()
	k := 0
	for i, lg := range []*logView{&tv.data, &tv.oob} {
		tail := []uint64{tv.dataTail.Load(), tv.oobTail.Load()}[i]
		pos := rv.position(s, i == 1).Load()
		if tail-pos > lg.capacity() {
			pos = tail - lg.capacity()
		}
		for ; pos < tail; pos++ {
			c := lg.entry(pos)
			if c[wSeq].Load() == pos+1 && c[wTo].Load()&(1<<r) != 0 && int32(uint32(c[wTag].Load())-openGen) >= 0 {
				k++
			}
		}
	}
	for i := range rv.views {
		if v := rv.views[i].Load(); v != 0 && int(v>>32) == s+1 {
			k++
		}
	}
	return k
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
	HopDrops      uint64
	Drops         uint64 // messages to this port left out, its backlog full
	OOBDrops      uint64
	Bad           uint64 // entries it skipped as damaged
	Lost          uint64 // entries it lost by falling a whole log behind
	Queued        int    // messages sent to it and not yet received
	Held          int    // views it holds
}

// Stats reads port p's counters from its objects and, for what others
// counted against it, from every sender's.
func (n *Network) Stats(p int) PortStats {
	n.refreshIfNeeded()
	n.mu.Lock()
	defer n.mu.Unlock()
	cp := &n.ports[p]
	st := PortStats{State: cp.state.Load(), Roles: cp.roles.Load(), PID: int(cp.pid.Load())}
	if tv := n.peers[p].tx.Load(); tv != nil {
		st.Sent, st.SentBytes = tv.sent.Load(), tv.sentB.Load()
		st.Blocked, st.NoSlot, st.HopDrops = tv.blocked.Load(), tv.noSlot.Load(), tv.hopDrops.Load()
	}
	rv := n.peers[p].rx.Load()
	if rv != nil {
		st.Received, st.ReceivedBytes, st.OOBReceived = rv.received.Load(), rv.recvB.Load(), rv.oobRecv.Load()
		st.Bad, st.Lost = rv.bad.Load(), rv.lost.Load()
		for i := range rv.views {
			if rv.views[i].Load() != 0 {
				st.Held++
			}
		}
	}
	for s := range n.peers {
		tv := n.peers[s].tx.Load()
		if tv == nil || s == p {
			continue
		}
		st.Drops += tv.drops[p].Load()
		st.OOBDrops += tv.drops[n.g.Ports+p].Load()
		if rv != nil && cp.state.Load() == shm.PortLive {
			st.Queued += n.pendingFor(p, s, tv)
		}
	}
	st.Queued -= st.Held
	return st
}

// Unread counts the messages sender p has published that live receivers
// have not yet passed or still hold: zero once a network is quiet and
// nothing leaked.
func (n *Network) Unread(p int) int { return n.lockedUnread(p, 0) }

// CountHopDrop counts a message from port p dropped past the hop limit.
// For callers that drop before reaching the port (the hop limit is
// checked by Submit itself).
func (n *Network) CountHopDrop(p int) {
	if tv := n.peers[p].tx.Load(); tv != nil && tv.obj.Writable() {
		tv.hopDrops.Add(1)
	}
}

// InUse counts the messages published that live receivers have not yet
// passed or still hold, over every sender.
func (n *Network) InUse() int {
	k := 0
	for p := range n.ports {
		k += n.lockedUnread(p, 0)
	}
	return k
}
