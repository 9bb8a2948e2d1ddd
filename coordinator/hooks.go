package coordinator

import (
	"fmt"
	"math/bits"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/ipn-project/ipn/dispatch"
	"github.com/ipn-project/ipn/wire"
)

// The policy's lifecycle hooks (SPEC P1; dispatch's package doc), called
// here, in the coordinator, under the network's lock, in IPN's order:
//
//	NewNet       create, before anyone can join; an error fails the create
//	NewPort      a connect picks its port (newPort)
//	PostNewPort  the port is open and its node holds it (portLive)
//	ResizeNet    a resize, before it takes effect; an error refuses it
//	PreDelPort   the port's node closed or died, before the port's
//	             references are reclaimed (portGoing)
//	DelPort      after the reclaim, before the port can be taken again
//	             (portGone)
//	DelNet       network end, after every port's DelPort
//
// A persistent interface keeps its port while its controller changes (a
// process, the coordinator's pump, a process again): no port hook runs
// for that. hookState makes each port hook run once per port life,
// whichever path frees the port.

// hookState records which ports the policy was told are live, and which of
// those it was told are going. Guarded by the network's mu.
type hookState struct{ live, going uint64 }

// startNet runs the policy's NewNet.
func (n *network) startNet() error {
	if h, ok := n.pol.(dispatch.NetStarter); ok {
		if err := h.NewNet(n.dnet); err != nil {
			return fmt.Errorf("policy %s refused the new network: %w", n.pol.Name(), err)
		}
	}
	return nil
}

// resizeNet runs the policy's ResizeNet for a change from n.users ports to
// k, before it takes effect.
func (n *network) resizeNet(k int) error {
	h, ok := n.pol.(dispatch.Resizer)
	if !ok || k == n.users {
		return nil
	}
	if err := h.ResizeNet(n.dnet, n.users, k); err != nil {
		return fmt.Errorf("policy %s refused %d ports: %w", n.pol.Name(), k, err)
	}
	return nil
}

// portLive tells the policy port p is live (PostNewPort), once.
func (n *network) portLive(p int) {
	bit := uint64(1) << p
	if n.hooks.live&bit != 0 {
		return
	}
	n.hooks.live |= bit
	if h, ok := n.pol.(dispatch.PortStarter); ok {
		h.PostNewPort(n.dnet, p)
	}
}

// portGoing tells the policy live port p is about to go (PreDelPort), once.
func (n *network) portGoing(p int) {
	bit := uint64(1) << p
	if n.hooks.live&bit == 0 || n.hooks.going&bit != 0 {
		return
	}
	n.hooks.going |= bit
	if h, ok := n.pol.(dispatch.PortStopper); ok {
		h.PreDelPort(n.dnet, p)
	}
}

// portGone tells the policy live port p is gone (DelPort), after
// PreDelPort if that has not run yet.
func (n *network) portGone(p int) {
	bit := uint64(1) << p
	if n.hooks.live&bit == 0 {
		return
	}
	n.portGoing(p)
	n.hooks.live &^= bit
	n.hooks.going &^= bit
	if h, ok := n.pol.(dispatch.PortEnder); ok {
		h.DelPort(n.dnet, p)
	}
}

// eachLive calls f for every live port.
func (n *network) eachLive(f func(p int)) {
	for w := n.hooks.live; w != 0; w &= w - 1 {
		f(bits.TrailingZeros64(w))
	}
}

// endNet ends every live port and then the network, for the policy.
func (n *network) endHooks() {
	n.eachLive(n.portGone)
	if h, ok := n.pol.(dispatch.NetEnder); ok {
		h.DelNet(n.dnet)
	}
}

// control makes a control call of the network's policy (IPN's ioctl on a
// managing socket): the member must be bound and may still execute the
// network's file, checked now, as IPN checked each ioctl.
func (m *member) control(req *wire.Request) (*wire.Response, error) {
	n := m.net
	if n == nil || !m.bound {
		return nil, fmt.Errorf("only a bound node may make control calls: %w", syscall.EPERM)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ended {
		return nil, fmt.Errorf("%s ended: %w", n.path, syscall.ECONNREFUSED)
	}
	var st unix.Stat_t
	if err := unix.Fstat(n.inode, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", n.path, err)
	}
	if err := Check(m.creds, &st, AccessExec); err != nil {
		return nil, err
	}
	c, ok := n.pol.(dispatch.Controller)
	if !ok {
		return nil, fmt.Errorf("policy %s takes no control calls: %w", n.pol.Name(), syscall.ENOTTY)
	}
	if req.Port != wire.AnyPort && (req.Port < 0 || req.Port >= n.users) {
		return nil, fmt.Errorf("port %d out of range 0..%d: %w", req.Port, n.users-1, syscall.EINVAL)
	}
	out, err := c.Control(n.dnet, req.Port, req.Control)
	if err != nil {
		return nil, fmt.Errorf("policy %s: control: %w", n.pol.Name(), err)
	}
	return &wire.Response{Control: out}, nil
}
