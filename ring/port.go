package ring

import (
	"fmt"
	"sync/atomic"

	"github.com/ipn-project/ipn/shm"
)

// Port is one node's handle on the data plane: it sends from, and receives
// into, one port of the network.
//
// The send side (Send, TrySend, Alloc, Submit, Abort) is for one goroutine
// at a time, and so is the receive side (Recv, TryRecv, RecvView,
// TryRecvView, Release); the two sides may run concurrently.
type Port struct {
	n   *Network
	id  int
	bit uint64
	pv  *portView

	tx txState
	rx rxState

	closed atomic.Bool
}

// Close makes calls waiting on the port return ErrPortClosed, and calls
// made afterwards too. It does not release the port: the coordinator does,
// when the member leaves. Safe to call from any goroutine.
func (p *Port) Close() {
	p.closed.Store(true)
	p.n.wakePort(p.id)
}

// Port returns a handle on port p, which must have been opened by the
// coordinator (OpenPort).
func (n *Network) Port(p int) (*Port, error) {
	if p < 0 || p >= len(n.ports) {
		return nil, fmt.Errorf("ring: port %d out of range 0..%d", p, len(n.ports)-1)
	}
	pv := &n.ports[p]
	if pv.state.Load() != shm.PortLive {
		return nil, fmt.Errorf("ring: port %d: %w", p, ErrPortClosed)
	}
	pt := &Port{n: n, id: p, bit: 1 << p, pv: pv}
	pt.tx.init(n.g)
	pt.tx.rings = make([]producerView, 2*n.g.Ports)
	pt.rx.init(n.g, pv)
	return pt, nil
}

// ID returns the port number.
func (p *Port) ID() int { return p.id }

// Network returns the network the port belongs to.
func (p *Port) Network() *Network { return p.n }

// MTU returns the largest message the port can send.
func (p *Port) MTU() int { return p.n.g.MTU }
