package ring

import (
	"errors"
	"fmt"
	"math/bits"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/ipn-project/ipn/internal/errno"
	"github.com/ipn-project/ipn/shm"
)

// The hand-over: what the coordinator gives a member, as descriptors over
// SCM_RIGHTS with a Handover that says what each is. Encode (Grant) and
// decode (Attach, and refresh for ports that appear later) are side by side
// here, so the order of descriptors is written in one place:
//
//	control object (read-only)
//	policy object (read-write), if Handover.Policy
//	for each Grant, in order, those it has of:
//	    tx object, rx object (read-write for the member's own port, read-only otherwise),
//	    receive eventfd, transmit eventfd

// ErrHandover reports descriptors that do not match what they claim to be.
var ErrHandover = errno.New("bad hand-over of a network", syscall.EPROTO)

// What a Grant carries.
const (
	HasTx uint8 = 1 << iota
	HasRx
	HasRxEvt
	HasTxEvt
)

// Grant says what a hand-over carries for one port.
type Grant struct {
	Port int    `json:"port"`
	Gen  uint32 `json:"gen"`
	Has  uint8  `json:"has"`
}

// Handover describes the descriptors handed to the member on port Self.
type Handover struct {
	Self   int     `json:"self"`
	NetGen uint32  `json:"netgen"`
	Policy bool    `json:"policy,omitempty"`
	Ports  []Grant `json:"ports,omitempty"`
}

// NumFDs is how many descriptors go with h (the control object included).
func (h Handover) NumFDs() int {
	k := 1
	if h.Policy {
		k++
	}
	for _, g := range h.Ports {
		k += bits.OnesCount8(g.Has & (HasTx | HasRx | HasRxEvt | HasTxEvt))
	}
	return k
}

// Fetcher asks the coordinator for what this member needs of the ports in
// the set: a hand-over (Self and the control object included, as Grant
// makes) and its descriptors. An error that is ErrBusy means "not now":
// the next step asks again.
type Fetcher func(ports uint64) (Handover, []int, error)

// Grant is the coordinator's side of a hand-over: the descriptors the
// member on port self gets for the ports in the set only (and for its own
// port, always), with the access its roles need. done closes the
// descriptors Grant opened, once they are sent.
func (n *Network) Grant(self int, only uint64) (h Handover, fds []int, done func(), err error) {
	if n.owner == nil || self < 0 || self >= len(n.ports) {
		return Handover{}, nil, nil, fmt.Errorf("ring: grant for port %d: %w", self, ErrBusy)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	var opened []int
	done = func() {
		for _, fd := range opened {
			unix.Close(fd)
		}
	}
	ro := func(o *shm.Object) error {
		fd, err := o.ReadOnlyFD()
		if err != nil {
			return err
		}
		opened = append(opened, fd)
		fds = append(fds, fd)
		return nil
	}
	if err := ro(n.ctl); err != nil {
		done()
		return Handover{}, nil, nil, err
	}
	roles := n.ports[self].roles.Load()
	h = Handover{Self: self, NetGen: n.netGen.Load()}
	if n.pol != nil && roles&shm.RoleWrite != 0 {
		h.Policy = true
		fds = append(fds, n.pol.FD())
	}
	only |= 1 << self
	for q := range n.ports {
		st := n.ports[q].state.Load()
		if only&(1<<q) == 0 || st == shm.PortFree {
			continue
		}
		pe := &n.peers[q]
		g := Grant{Port: q, Gen: n.ports[q].gen.Load()}
		tv, rv := pe.tx.Load(), pe.rx.Load()
		mine := q == self
		if tv != nil && (mine || roles&shm.RoleRead != 0) {
			g.Has |= HasTx
			if mine {
				fds = append(fds, tv.obj.FD())
			} else if err := ro(tv.obj); err != nil {
				done()
				return Handover{}, nil, nil, err
			}
		}
		if rv != nil && (mine || roles&shm.RoleWrite != 0 && st == shm.PortLive) {
			g.Has |= HasRx
			if mine {
				fds = append(fds, rv.obj.FD())
			} else if err := ro(rv.obj); err != nil {
				done()
				return Handover{}, nil, nil, err
			}
		}
		if e := pe.rxEvt.Load(); e != nil && (mine || g.Has&HasRx != 0) {
			g.Has |= HasRxEvt
			fds = append(fds, e.FD())
		}
		if e := pe.txEvt.Load(); e != nil && (mine || g.Has&HasTx != 0 && n.g.Lossless()) {
			g.Has |= HasTxEvt
			fds = append(fds, e.FD())
		}
		if g.Has != 0 {
			h.Ports = append(h.Ports, g)
		}
	}
	return h, fds, done, nil
}

// Attach is a member's side of a hand-over: it validates the descriptors
// (their number, kinds, seals, access modes, sizes and headers), maps what
// they give, read-write only the member's own objects and the policy
// object, and closes the descriptors it need not keep. fetch, if not nil,
// is asked for the objects of ports that appear later. Attach takes
// ownership of fds, also on error.
func Attach(h Handover, fds []int, fetch Fetcher) (*Network, error) {
	closeAll := func(fds []int) {
		for _, fd := range fds {
			if fd >= 0 {
				unix.Close(fd)
			}
		}
	}
	if len(fds) != h.NumFDs() || len(fds) < 1 {
		closeAll(fds)
		return nil, fmt.Errorf("ring: %w: %d descriptors, the hand-over describes %d", ErrHandover, len(fds), h.NumFDs())
	}
	ctlFD, err := dupCloexec(fds[0])
	if err != nil {
		closeAll(fds)
		return nil, fmt.Errorf("ring: attach: %w", err)
	}
	ctl, err := shm.Attach(fds[0], shm.Expect{Kind: shm.KindControl})
	if err != nil {
		unix.Close(ctlFD)
		closeAll(fds[1:])
		return nil, err
	}
	g, err := ctl.Geometry()
	if err != nil {
		unix.Close(ctlFD)
		ctl.Close()
		closeAll(fds[1:])
		return nil, err
	}
	if h.Self < 0 || h.Self >= g.Ports {
		unix.Close(ctlFD)
		ctl.Close()
		closeAll(fds[1:])
		return nil, fmt.Errorf("ring: %w: port %d of %d", ErrHandover, h.Self, g.Ports)
	}
	ctl.CloseFD()
	n := newNetwork(ctl, g, h.Self)
	n.keep = append(n.keep, ctlFD)
	n.fetch = fetch
	rest := fds[1:]
	if h.Policy {
		n.pol, err = shm.Attach(rest[0], shm.Expect{Kind: shm.KindPolicy, Writable: true, Size: n.l.PolicySize, NetID: n.netID})
		rest = rest[1:]
		if err != nil {
			closeAll(rest)
			n.Close()
			return nil, err
		}
		n.pol.CloseFD()
	}
	n.mu.Lock()
	err = n.install(h, rest)
	n.mu.Unlock()
	if err != nil {
		n.Close()
		return nil, err
	}
	self := &n.peers[h.Self]
	mine := n.ports[h.Self]
	roles := mine.roles.Load()
	if mine.state.Load() != shm.PortLive || roles&shm.RoleWrite != 0 && self.tx.Load() == nil ||
		roles&shm.RoleRead != 0 && self.rx.Load() == nil || self.rxEvt.Load() == nil || self.txEvt.Load() == nil {
		n.Close()
		return nil, fmt.Errorf("ring: %w: port %d (roles %d) lacks its own objects or eventfds", ErrHandover, h.Self, roles)
	}
	n.seen.Store(h.NetGen)
	return n, nil
}

// install maps the grants of h from fds. n.mu must be held. It takes
// ownership of fds.
func (n *Network) install(h Handover, fds []int) (err error) {
	next := func() int {
		fd := fds[0]
		fds = fds[1:]
		return fd
	}
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	seen := uint64(0)
	for _, gr := range h.Ports {
		q := gr.Port
		if q < 0 || q >= len(n.ports) || seen&(1<<q) != 0 || gr.Has&^(HasTx|HasRx|HasRxEvt|HasTxEvt) != 0 {
			return fmt.Errorf("ring: %w: grant %+v", ErrHandover, gr)
		}
		seen |= 1 << q
		mine := q == n.self
		if !mine {
			n.dropPeer(q)
		}
		pe := &n.peers[q]
		if gr.Has&HasTx != 0 {
			o, err := shm.Attach(next(), shm.Expect{Kind: shm.KindTx, Writable: mine, Size: n.l.TxSize, Port: q, Gen: gr.Gen, NetID: n.netID})
			if err != nil {
				return err
			}
			n.keepOrClose(o, mine)
			pe.tx.Store(newTxView(o, n.g, q, gr.Gen))
		}
		if gr.Has&HasRx != 0 {
			o, err := shm.Attach(next(), shm.Expect{Kind: shm.KindRx, Writable: mine, Size: n.l.RxSize, Port: q, Gen: gr.Gen, NetID: n.netID})
			if err != nil {
				return err
			}
			n.keepOrClose(o, mine)
			pe.rx.Store(newRxView(o, n.g, q, gr.Gen))
		}
		for _, w := range []struct {
			has uint8
			at  *atomicEventfd
		}{{HasRxEvt, &pe.rxEvt}, {HasTxEvt, &pe.txEvt}} {
			if gr.Has&w.has == 0 {
				continue
			}
			e, err := adoptEventfd(next())
			if err != nil {
				return err
			}
			if old := w.at.Swap(e); old != nil {
				old.Close()
			}
		}
	}
	return nil
}

// keepOrClose closes the descriptor of an object just mapped, or keeps it
// (the member's own objects, for a coordinator that restarts).
func (n *Network) keepOrClose(o *shm.Object, keep bool) {
	if !keep {
		o.CloseFD()
		return
	}
	if fd, err := dupCloexec(o.FD()); err == nil {
		n.keep = append(n.keep, fd)
	}
	o.CloseFD()
}

// adoptEventfd checks that fd is an eventfd and adopts it.
func adoptEventfd(fd int) (*Eventfd, error) {
	link, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
	if err != nil || link != "anon_inode:[eventfd]" {
		unix.Close(fd)
		return nil, fmt.Errorf("ring: %w: descriptor %d is %q, not an eventfd", ErrHandover, fd, link)
	}
	return EventfdFromFD(fd)
}

// refreshIfNeeded brings the peers up to date when the network generation
// moved. One load when nothing changed.
func (n *Network) refreshIfNeeded() {
	if n.netGen.Load() != n.seen.Load() {
		n.refresh()
	}
}

// refresh drops what this process mapped of ports that are gone or
// changed incarnation, and fetches what it needs of ports that appeared.
func (n *Network) refresh() {
	n.mu.Lock()
	defer n.mu.Unlock()
	g := n.netGen.Load()
	if g == n.seen.Load() || n.closed {
		return
	}
	if n.owner == nil && !n.refreshPeers() {
		return // the fetch could not be made now: the next step tries again
	}
	n.seen.Store(g)
	n.collect()
}

// refreshPeers reports false when what it needs could not be fetched now
// (the fetcher said ErrBusy).
func (n *Network) refreshPeers() bool {
	roles := n.ports[n.self].roles.Load()
	logs, readers := n.logs.Load()&n.portMask, n.readers.Load()&n.portMask
	var want uint64
	for q := range n.ports {
		if q == n.self {
			continue
		}
		cp := &n.ports[q]
		st, gen := cp.state.Load(), cp.gen.Load()
		pe := &n.peers[q]
		tv, rv := pe.tx.Load(), pe.rx.Load()
		if st == shm.PortFree || tv != nil && tv.gen != gen || rv != nil && rv.gen != gen {
			n.dropPeer(q)
			tv, rv = nil, nil
		}
		if st == shm.PortFree {
			continue
		}
		// A sender gone has a log still worth reading; a receiver gone
		// holds nothing.
		if roles&shm.RoleRead != 0 && logs&(1<<q) != 0 && tv == nil ||
			st == shm.PortLive && roles&shm.RoleWrite != 0 && readers&(1<<q) != 0 && rv == nil {
			want |= 1 << q
		}
	}
	if want == 0 || n.fetch == nil {
		return true
	}
	n.mu.Unlock()
	h, fds, err := n.fetch(want)
	n.mu.Lock()
	if err != nil || n.closed || len(fds) != h.NumFDs() || len(fds) < 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return !errors.Is(err, ErrBusy)
	}
	unix.Close(fds[0]) // the control object, mapped already
	rest := fds[1:]
	if h.Policy {
		unix.Close(rest[0])
		rest = rest[1:]
	}
	var others []Grant
	var otherFDs []int
	for _, gr := range h.Ports {
		k := bits.OnesCount8(gr.Has & (HasTx | HasRx | HasRxEvt | HasTxEvt))
		if k > len(rest) {
			break
		}
		if gr.Port == n.self {
			for _, fd := range rest[:k] {
				unix.Close(fd)
			}
		} else {
			others = append(others, gr)
			otherFDs = append(otherFDs, rest[:k]...)
		}
		rest = rest[k:]
	}
	for _, fd := range rest {
		unix.Close(fd)
	}
	n.install(Handover{Self: n.self, Ports: others}, otherFDs)
	return true
}

// dupCloexec duplicates fd, close-on-exec: a descriptor a member keeps
// must not leak into the programs it runs.
func dupCloexec(fd int) (int, error) {
	return unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
}
