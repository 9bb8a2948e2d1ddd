package ipn

import (
	"fmt"
	"syscall"

	"github.com/ipn-project/ipn/internal/fdpass"
	"github.com/ipn-project/ipn/wire"
)

// IfaceInfo describes an interface node: a TAP, TUN or grabbed interface
// of the host that is a node of a network (SPEC §4).
type IfaceInfo = wire.IfaceInfo

// AttachInterface makes the connected node an interface node: it hands fd,
// the descriptor of the interface the node carries frames for (a TAP or
// TUN descriptor, or a packet socket bound to a grabbed interface), to the
// coordinator, which checks what it is. The caller keeps its own fd. With
// persist, the interface outlives the node: when the node goes, the
// coordinator moves the interface's frames itself until a process takes it
// over (TakeOver).
func (n *Node) AttachInterface(fd int, persist bool) (IfaceInfo, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conn.Load() == nil {
		return IfaceInfo{}, ErrNotConn
	}
	b, err := wire.EncodeRequest(&wire.Request{Op: wire.OpIface, Persist: persist})
	if err != nil {
		return IfaceInfo{}, err
	}
	if err := fdpass.Send(n.ctl, b, fd); err != nil {
		return IfaceInfo{}, fmt.Errorf("ipn: coordinator: %w", err)
	}
	resp, fds, err := receive(n.ctl)
	closeFDs(fds)
	if err != nil {
		return IfaceInfo{}, fmt.Errorf("ipn: interface node: %w", err)
	}
	return ifaceOf(resp)
}

// TakeOver connects the node to the network at path as the controller of
// the persistent interface node ifname (a name, or an interface index,
// with @NETNS after it when several network namespaces have one: ENOTUNIQ
// otherwise), which no process controls: on the interface's port, from the
// coordinator, which stops moving its frames. It returns the interface's
// descriptor, which the caller owns, and fails with EADDRNOTAVAIL when a
// process controls the interface already, and ENODEV when it is no
// interface node of that network.
func (n *Node) TakeOver(path, ifname string) (int, IfaceInfo, error) {
	resp, fd, err := n.connect(path, ifname)
	if err != nil {
		return -1, IfaceInfo{}, err
	}
	info, err := ifaceOf(resp)
	return fd, info, err
}

// SetPersist sets or clears the persistence of the interface node ifname
// (a name, or an index, with @NETNS as for TakeOver): root or whoever made the node may. Clearing it
// while no process controls the interface removes the node, and the TAP
// or TUN interface with it (a grabbed interface is given back), and ends
// its network if that was the last node and the network is not kept by
// Create.
func SetPersist(ifname string, on bool) (IfaceInfo, error) {
	resp, err := request(&wire.Request{Op: wire.OpPersist, Iface: ifname, Persist: on})
	if err != nil {
		return IfaceInfo{}, fmt.Errorf("ipn: persist %s: %w", ifname, err)
	}
	return ifaceOf(resp)
}

func ifaceOf(resp *wire.Response) (IfaceInfo, error) {
	if resp.Iface == nil {
		return IfaceInfo{}, fmt.Errorf("ipn: the coordinator did not describe the interface: %w", syscall.EPROTO)
	}
	return *resp.Iface, nil
}
