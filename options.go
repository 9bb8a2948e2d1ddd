package ipn

import (
	"fmt"
	"os"
	"syscall"

	"github.com/ipn-project/ipn/shm"
	"github.com/ipn-project/ipn/wire"
)

// Options are a network's options, for Create and as Node.Options reads
// them back; a zero field takes its default (see wire.Options).
type Options = wire.Options

// setOpt runs set if the node is neither bound nor connected.
func (n *Node) setOpt(set func() error) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return ErrClosed
	}
	if n.bound || n.conn.Load() != nil {
		return fmt.Errorf("ipn: options are set before bind and connect: %w", ErrIsConn)
	}
	return set()
}

// SetMTU sets the network's largest message (IPN_SO_MTU), before Bind.
func (n *Node) SetMTU(mtu int) error {
	return n.setOpt(func() error {
		if mtu < 1 || mtu > shm.MaxMTU {
			return fmt.Errorf("ipn: MTU %d: want 1..%d: %w", mtu, shm.MaxMTU, syscall.EINVAL)
		}
		n.opts.MTU = mtu
		return nil
	})
}

// SetNumNodes sets the network's number of ports (IPN_SO_NUMNODES), before Bind.
func (n *Node) SetNumNodes(k int) error {
	return n.setOpt(func() error {
		if k < 1 || k > shm.MaxPorts-1 {
			return fmt.Errorf("ipn: %d nodes: want 1..%d: %w", k, shm.MaxPorts-1, syscall.EINVAL)
		}
		n.opts.NumNodes = k
		return nil
	})
}

// SetPoolSize sets the network's message pool (IPN_SO_MSGPOOLSIZE), before Bind.
func (n *Node) SetPoolSize(k int) error {
	return n.setOpt(func() error {
		if k < 1 || k > shm.MaxRing {
			return fmt.Errorf("ipn: pool %d: want 1..%d: %w", k, shm.MaxRing, syscall.EINVAL)
		}
		n.opts.Pool = k
		return nil
	})
}

// SetLossless makes the network block senders instead of dropping
// (IPN_FLAG_LOSSLESS), before Bind.
func (n *Node) SetLossless(on bool) error {
	return n.setOpt(func() error { n.opts.Lossless = on; return nil })
}

// SetMode sets the permission bits of the network's file, less the umask
// (IPN_SO_MODE), before Bind.
func (n *Node) SetMode(mode os.FileMode) error {
	return n.setOpt(func() error { n.opts.Mode = mode.Perm(); return nil })
}

// SetPort asks for a port number (IPN_SO_PORT), before Connect.
func (n *Node) SetPort(p int) error {
	return n.setNodeOpt(func() error {
		if p < 0 || p >= shm.MaxPorts-1 {
			return fmt.Errorf("ipn: port %d out of range: %w", p, syscall.EINVAL)
		}
		n.port = p
		return nil
	})
}

// SetDescr sets the node's description for tools (IPN_SO_DESCR), before
// Connect.
func (n *Node) SetDescr(s string) error {
	return n.setNodeOpt(func() error {
		if len(s) > MaxDescr {
			return fmt.Errorf("ipn: description of %d bytes, at most %d: %w", len(s), MaxDescr, syscall.EINVAL)
		}
		n.descr = s
		return nil
	})
}

// SetWantOOBNumNodes asks for an out-of-band notice each time the numbers
// of readers and writers change (IPN_SO_WANT_OOB_NUMNODES), before Connect.
func (n *Node) SetWantOOBNumNodes(on bool) error {
	return n.setNodeOpt(func() error { n.wantOOB = on; return nil })
}

// LimitRoles makes the node connect with at most the roles asked for, to
// receive (read) and to send (write), before Connect: a gateway that joins
// for another process (ipn sock) gives its node only what that process's
// own permissions give. The network's counts of readers and writers see
// only those roles.
func (n *Node) LimitRoles(read, write bool) error {
	return n.setNodeOpt(func() error {
		if !read && !write {
			return fmt.Errorf("ipn: a node that may neither receive nor send: %w", syscall.EINVAL)
		}
		n.limit = 0
		if read {
			n.limit |= shm.RoleRead
		}
		if write {
			n.limit |= shm.RoleWrite
		}
		return nil
	})
}

func (n *Node) setNodeOpt(set func() error) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return ErrClosed
	}
	if n.conn.Load() != nil {
		return fmt.Errorf("ipn: node options are set before connect: %w", ErrIsConn)
	}
	return set()
}
