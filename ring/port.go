package ring

import (
	"fmt"
	"sync/atomic"

	"github.com/ipn-project/ipn/shm"
)

// Port is one node's handle on the data plane: it sends from, and receives
// into, one port of the network.
//
// The send side (Send, TrySend, Alloc, Submit, SubmitWith, Abort) is for one
// goroutine at a time, and so is the receive side (Recv, TryRecv, RecvView,
// TryRecvView, Release); the two sides may run concurrently.
type Port struct {
	n   *Network
	id  int
	bit uint64
	gen uint32 // the port's generation when the handle was made

	// Step counters of this process, odd while a send or receive step
	// runs: a mapping retired meanwhile waits for the step to end.
	txSteps, rxSteps atomic.Uint64

	tx txState
	rx rxState

	waited atomic.Int64 // nanoseconds the send side waited for room

	closed atomic.Bool
}

// Port returns a handle on port p, which must be live, and whose objects
// this process mapped writable (its own port). A process has one handle
// per port.
func (n *Network) Port(p int) (*Port, error) {
	if p < 0 || p >= len(n.ports) {
		return nil, fmt.Errorf("ring: port %d out of range 0..%d", p, len(n.ports)-1)
	}
	if n.ports[p].state.Load() != shm.PortLive {
		return nil, fmt.Errorf("ring: port %d: %w", p, ErrPortClosed)
	}
	pe := &n.peers[p]
	tv, rv := pe.tx.Load(), pe.rx.Load()
	if tv != nil && !tv.obj.Writable() || rv != nil && !rv.obj.Writable() {
		return nil, fmt.Errorf("ring: port %d belongs to another process: %w", p, ErrBusy)
	}
	pt := &Port{n: n, id: p, bit: 1 << p, gen: n.ports[p].gen.Load()}
	pt.tx.init(n.g, tv)
	pt.rx.init(n, p, rv)
	n.mu.Lock()
	n.local = append(n.local, pt)
	n.mu.Unlock()
	return pt, nil
}

// Close makes calls waiting on the port return ErrPortClosed, and calls
// made afterwards too. It does not release the port: the coordinator does,
// when the member leaves. Safe to call from any goroutine.
func (p *Port) Close() {
	p.closed.Store(true)
	p.n.wakePort(p.id)
}

// ID returns the port number.
func (p *Port) ID() int { return p.id }

// Network returns the network the port belongs to.
func (p *Port) Network() *Network { return p.n }

// MTU returns the largest message the port can send.
func (p *Port) MTU() int { return p.n.g.MTU }

// wakePort signals both of port p's eventfds, so that a call waiting on
// either looks at the port's state again.
func (n *Network) wakePort(p int) {
	if e := n.peers[p].rxEvt.Load(); e != nil {
		e.Signal()
	}
	if e := n.peers[p].txEvt.Load(); e != nil {
		e.Signal()
	}
}
