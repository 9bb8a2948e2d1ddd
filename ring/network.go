package ring

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/ipn-project/ipn/shm"
)

// Network is the data plane of one network as one process sees it: the
// control object, the objects of other ports its roles need, and their
// wake-up lines. The coordinator's Network (Create) owns every object; a
// member's (Attach) maps what it was handed. It is safe for concurrent use.
type Network struct {
	g     shm.Geometry
	l     shm.Layout
	ctl   *shm.Object
	pol   *shm.Object // nil where not mapped
	netID uint64

	readers, writers, logs *atomic.Uint64
	state, netGen          *atomic.Uint32
	ports                  []ctlPort
	// portMask has a bit for each port: sets read from shared memory are
	// masked with it before they index anything.
	portMask uint64
	peers    []peer

	self  int // the member's port; -1 in the coordinator
	owner *owner

	seen atomic.Uint32 // network generation last refreshed at
	// stall reports a receiver that kept a sender waiting past the stall
	// limit; it returns false when the report could not be made now.
	stall atomic.Pointer[func(r int) bool]

	mu        sync.Mutex // guards what follows, and changes of peers
	fetch     Fetcher
	local     []*Port // this process's ports, for deferred unmapping
	graveyard []retired
	keep      []int // descriptors a member keeps: control, its own objects
	closed    bool
}

// newNetwork builds the views of control object ctl.
func newNetwork(ctl *shm.Object, g shm.Geometry, self int) *Network {
	n := &Network{
		g: g, l: shm.LayoutOf(g), ctl: ctl, netID: ctl.NetID(), self: self,
		readers: ctl.Uint64(shm.OffReaders), writers: ctl.Uint64(shm.OffWriters),
		logs: ctl.Uint64(shm.OffLogs), state: ctl.Uint32(shm.OffNetState),
		netGen:   ctl.Uint32(shm.OffNetGen),
		ports:    make([]ctlPort, g.Ports),
		peers:    make([]peer, g.Ports),
		portMask: ^uint64(0) >> (64 - g.Ports),
	}
	for p := range n.ports {
		o := shm.Port(p)
		u := func(f int) *atomic.Uint32 { return ctl.Uint32(o + f) }
		n.ports[p] = ctlPort{state: u(shm.PortState), gen: u(shm.PortGen), pid: u(shm.PortPID),
			roles: u(shm.PortRoles), openGen: u(shm.PortOpenGen)}
	}
	return n
}

// Create makes a network of geometry g: its control object and, if g has
// a policy area, its policy object. Port objects are made as ports open
// (OpenPort). The caller is the network's coordinator.
func Create(name string, g shm.Geometry) (*Network, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	var id [8]byte
	rand.Read(id[:])
	netID := binary.LittleEndian.Uint64(id[:]) | 1
	l := shm.LayoutOf(g)
	ctl, err := shm.Create(name+"-ctl", shm.KindControl, l.CtlSize, 0, 0, netID, true)
	if err != nil {
		return nil, err
	}
	ctl.WriteGeometry(g)
	n := newNetwork(ctl, g, -1)
	n.owner = &owner{name: name}
	if g.Policy > 0 {
		if n.pol, err = shm.Create(name+"-policy", shm.KindPolicy, l.PolicySize, 0, 0, netID, true); err != nil {
			ctl.Close()
			return nil, err
		}
	}
	n.state.Store(shm.NetLive)
	return n, nil
}

// Geometry returns the network's geometry.
func (n *Network) Geometry() shm.Geometry { return n.g }

// Policy returns the policy object, nil where this process does not map it
// (a member that may only receive, or a network without a policy area).
func (n *Network) Policy() *shm.Object { return n.pol }

// Readers returns the set of ports that receive.
func (n *Network) Readers() uint64 { return n.readers.Load() & n.portMask }

// Writers returns the set of ports that send.
func (n *Network) Writers() uint64 { return n.writers.Load() & n.portMask }

// live reports whether port r's current incarnation was opened no later
// than network generation gen and is live: an entry composed at gen is for
// it.
func (n *Network) live(r int, gen uint32) bool {
	cp := &n.ports[r]
	return cp.state.Load() == shm.PortLive && int32(cp.openGen.Load()-gen) <= 0
}

// SetStallReporter sets what a sender of this process calls when a
// receiver kept it waiting longer than the network's stall limit (see
// shm.Geometry.StallMS): a member asks its coordinator to make the receiver
// lossy for itself. report returns false when it could not ask now; the
// sender asks again later.
func (n *Network) SetStallReporter(report func(r int) bool) { n.stall.Store(&report) }

// lossyRx reports whether receiver r is lossy for itself: on a lossless
// network, senders leave it out instead of waiting for it.
func (n *Network) lossyRx(r int) bool {
	return n.ports[r].roles.Load()&shm.RoleLossy != 0
}

// Close unmaps everything this process mapped of the network and closes
// its descriptors. The coordinator's Close also frees every port's objects.
func (n *Network) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil
	}
	n.closed = true
	if n.owner != nil {
		n.state.Store(shm.NetEnded)
	}
	for p := range n.peers {
		n.dropPeer(p)
	}
	for _, r := range n.graveyard {
		r.free()
	}
	n.graveyard = nil
	if n.pol != nil {
		n.pol.Close()
	}
	for _, fd := range n.keep {
		os.NewFile(uintptr(fd), "").Close()
	}
	return n.ctl.Close()
}

// retired is what was reachable from peers[p] and is no more: mappings
// and eventfds, freed once no step of this process that began before is
// still running and no view holds the mapping.
type retired struct {
	tx    *txView
	rx    *rxView
	evts  []*Eventfd
	steps []uint64 // step counters of n.local when retired
}

func (r retired) free() {
	if r.tx != nil {
		r.tx.obj.Close()
	}
	if r.rx != nil {
		r.rx.obj.Close()
	}
	for _, e := range r.evts {
		e.Close()
	}
}

// dropPeer takes everything of port p out of peers and retires it. n.mu
// must be held.
func (n *Network) dropPeer(p int) {
	pe := &n.peers[p]
	r := retired{tx: pe.tx.Swap(nil), rx: pe.rx.Swap(nil)}
	for _, e := range []*Eventfd{pe.rxEvt.Swap(nil), pe.txEvt.Swap(nil)} {
		if e != nil {
			r.evts = append(r.evts, e)
		}
	}
	if r.tx == nil && r.rx == nil && len(r.evts) == 0 {
		return
	}
	for _, lp := range n.local {
		r.steps = append(r.steps, lp.txSteps.Load(), lp.rxSteps.Load())
	}
	n.graveyard = append(n.graveyard, r)
}

// collect frees retired mappings no step can be using. n.mu must be held.
func (n *Network) collect() {
	keep := n.graveyard[:0]
	for _, r := range n.graveyard {
		if r.inUse(n.local) {
			keep = append(keep, r)
			continue
		}
		r.free()
	}
	clear(n.graveyard[len(keep):])
	n.graveyard = keep
}

func (r retired) inUse(local []*Port) bool {
	if r.tx != nil && r.tx.held.Load() > 0 {
		return true
	}
	for i, lp := range local {
		if 2*i+1 >= len(r.steps) {
			break
		}
		for k, c := range []*atomic.Uint64{&lp.txSteps, &lp.rxSteps} {
			if v := r.steps[2*i+k]; v&1 != 0 && c.Load() == v {
				return true
			}
		}
	}
	return false
}

// damaged returns an error saying where a bad value was found.
func (n *Network) damaged(format string, args ...any) error {
	return fmt.Errorf("ring: %w: "+format, append([]any{shm.ErrDamaged}, args...)...)
}

// RxEventfd returns port p's receive eventfd, nil where this process has
// none.
func (n *Network) RxEventfd(p int) *Eventfd {
	if p < 0 || p >= len(n.peers) {
		return nil
	}
	return n.peers[p].rxEvt.Load()
}

// TxEventfd returns port p's send eventfd, nil where this process has
// none.
func (n *Network) TxEventfd(p int) *Eventfd {
	if p < 0 || p >= len(n.peers) {
		return nil
	}
	return n.peers[p].txEvt.Load()
}
