package ipn

import (
	"fmt"
	"path/filepath"
	"syscall"

	"github.com/ipn-project/ipn/wire"
)

// NetInfo describes a network, as List and Stat report it.
type NetInfo = wire.NetInfo

// PortInfo describes a port of a network, as Stat reports it.
type PortInfo = wire.PortInfo

// Create makes a network at path that the coordinator keeps alive with no
// node in it, until Destroy (the CLI's ipn create).
func Create(path string, policy Policy, o Options) error {
	n := NewNode(policy)
	defer n.Close()
	for _, set := range []func() error{
		func() error { return optIf(o.MTU, n.SetMTU) },
		func() error { return optIf(o.NumNodes, n.SetNumNodes) },
		func() error { return optIf(o.Pool, n.SetPoolSize) },
		func() error { return n.SetLossless(o.Lossless) },
		func() error { return optIf(o.History, n.SetHistory) },
		func() error { return n.SetStallTimeout(o.StallTimeout) },
		func() error {
			if o.Mode != 0 {
				return n.SetMode(o.Mode)
			}
			return nil
		},
	} {
		if err := set(); err != nil {
			return err
		}
	}
	n.persist = true
	return n.Bind(path)
}

func optIf(v int, set func(int) error) error {
	if v == 0 {
		return nil
	}
	return set(v)
}

// Options returns the network's options, once bound or connected.
func (n *Node) Options() (Options, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ctl == nil || n.closed {
		return Options{}, ErrNotConn
	}
	resp, _, err := call(n.ctl, &wire.Request{Op: wire.OpOptions})
	if err != nil {
		return Options{}, err
	}
	return resp.Net.Opts, nil
}

// ChangeNumNodes changes the network's number of ports at run time
// (IPN_SO_CHANGE_NUMNODES). The node must be bound. It can grow up to 63
// and shrink down to the highest port in use (EBUSY otherwise).
func (n *Node) ChangeNumNodes(k int) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return ErrClosed
	}
	if !n.bound {
		return fmt.Errorf("ipn: change the number of ports: node not bound: %w", syscall.EPERM)
	}
	if _, _, err := call(n.ctl, &wire.Request{Op: wire.OpResize, NumNodes: k}); err != nil {
		return fmt.Errorf("ipn: change the number of ports to %d: %w", k, err)
	}
	return nil
}

// SetPolicyOption sets an option of the network's policy for a port (a
// switch port's VLANs, say: see package dispatch). The node must be bound.
func (n *Node) SetPolicyOption(port int, name, value string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return ErrClosed
	}
	if n.ctl == nil {
		return ErrNotConn
	}
	_, _, err := call(n.ctl, &wire.Request{Op: wire.OpPolicy, Port: port, OptName: name, OptValue: value, OptSet: true})
	if err != nil {
		return fmt.Errorf("ipn: policy option %s of port %d: %w", name, port, err)
	}
	return nil
}

// PolicyOption reads an option of the network's policy for a port.
func (n *Node) PolicyOption(port int, name string) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return "", ErrClosed
	}
	if n.ctl == nil {
		return "", ErrNotConn
	}
	resp, _, err := call(n.ctl, &wire.Request{Op: wire.OpPolicy, Port: port, OptName: name})
	if err != nil {
		return "", fmt.Errorf("ipn: policy option %s of port %d: %w", name, port, err)
	}
	return resp.OptValue, nil
}

// Control makes a control call of the network's policy about the node's
// own port (-1, as Port says, when it is not connected), as IPN's ioctl on a
// managing socket did, and returns the policy's answer. The node must be
// bound, and the caller still have execute permission on the network's
// file; a policy with no control calls gives ENOTTY. The coordinator runs
// the call (see package dispatch).
func (n *Node) Control(req []byte) ([]byte, error) { return n.ControlPort(n.Port(), req) }

// ControlPort is Control about port port (-1: about none), for a
// manager acting on other nodes' ports.
func (n *Node) ControlPort(port int, req []byte) ([]byte, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, ErrClosed
	}
	if !n.bound {
		return nil, fmt.Errorf("ipn: control call: node not bound: %w", syscall.EPERM)
	}
	resp, _, err := call(n.ctl, &wire.Request{Op: wire.OpControl, Port: port, Control: req})
	if err != nil {
		return nil, fmt.Errorf("ipn: control call about port %d: %w", port, err)
	}
	return resp.Control, nil
}

// Destroy ends a network made by Create once its last node leaves (at
// once if it has none). Only its owner or root may.
func Destroy(path string) error {
	if _, err := pathRequest(wire.OpDestroy, path); err != nil {
		return fmt.Errorf("ipn: destroy %s: %w", path, err)
	}
	return nil
}

// List returns every network the coordinator serves that the caller may
// reach: one in a directory it may not search is left out.
func List() ([]NetInfo, error) {
	resp, err := request(&wire.Request{Op: wire.OpList})
	if err != nil {
		return nil, fmt.Errorf("ipn: list: %w", err)
	}
	return resp.Nets, nil
}

// StatPolicy returns the network's policy's description of its state (a
// switch's VLANs and MAC table), if it gives one.
func StatPolicy(path string) (string, error) {
	resp, err := pathRequest(wire.OpStat, path)
	if err != nil {
		return "", fmt.Errorf("ipn: stat %s: %w", path, err)
	}
	return resp.PolicyInfo, nil
}

// Stat returns a network and its ports.
func Stat(path string) (NetInfo, []PortInfo, error) {
	resp, err := pathRequest(wire.OpStat, path)
	if err != nil {
		return NetInfo{}, nil, fmt.Errorf("ipn: stat %s: %w", path, err)
	}
	if resp.Net == nil {
		return NetInfo{}, nil, fmt.Errorf("ipn: stat %s: %w", path, wire.ErrProtocol)
	}
	return *resp.Net, resp.Ports, nil
}

// request sends one stateless request to the coordinator, with the
// descriptors in.
func request(req *wire.Request, in ...int) (*wire.Response, error) {
	c, err := dial()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	resp, fds, err := call(c, req, in...)
	closeFDs(fds)
	return resp, err
}

// pathRequest sends the request op about the network at path, with the
// descriptor of its file (see netFile).
func pathRequest(op, path string) (*wire.Response, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	fd, dev, ino, err := netFile(abs, false)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	return request(&wire.Request{Op: op, Path: abs, Dev: dev, Ino: ino}, fd)
}
