package ipn

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/ipn-project/ipn/plane"
	"github.com/ipn-project/ipn/ring"
	"github.com/ipn-project/ipn/shm"
	"github.com/ipn-project/ipn/wire"
)

// Node is one IPN node: created unbound, it binds a network to create or
// manage it, and connects to one to send and receive. Configuration and
// Bind, Connect, Shutdown and Close are safe for concurrent use; sending is
// for one goroutine at a time, and so is receiving, and the two may run
// concurrently.
type Node struct {
	mu       sync.Mutex // guards everything but the data path
	policy   Policy
	opts     wire.Options
	port     int
	descr    string
	wantOOB  bool
	lossy    bool   // SetDropWhenBehind
	limit    uint32 // LimitRoles: at most these roles at connect; 0: any
	ctl      *net.UnixConn
	path     string
	bound    bool
	closed   bool
	persist  bool // Create: the network outlives its nodes, and must be new
	netInfo  wire.NetInfo
	myRoles  uint32
	nonblock atomic.Bool

	// Data path, set once by Connect.
	conn   atomic.Pointer[connection]
	ops    sync.RWMutex // readers: calls on the data path; writer: Close
	rdl    atomic.Int64 // read deadline, Unix nanoseconds; 0: none
	wdl    atomic.Int64
	oobMu  sync.Mutex
	oobBuf []byte // an out-of-band message Recv set aside
}

// connection is a connected node's data plane.
type connection struct {
	plane    *plane.Plane
	port     *ring.Port
	dispatch func(*ring.Delivery) // the network's policy, bound to it
}

// NewNode returns an unbound node of the given policy.
func NewNode(p Policy) *Node {
	return &Node{policy: p, port: wire.AnyPort, opts: wire.Options{Mode: wire.DefaultMode}}
}

func (c *connection) close() { c.plane.Close() }

// data returns the connection for a data-path call, holding ops.
func (n *Node) data() (*connection, error) {
	n.ops.RLock()
	c := n.conn.Load()
	if c == nil {
		n.ops.RUnlock()
		if n.isClosed() {
			return nil, ErrClosed
		}
		return nil, ErrNotConn
	}
	return c, nil
}

func (n *Node) isClosed() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.closed
}

func (n *Node) mapErr(err error) error {
	if errors.Is(err, ring.ErrPortClosed) && n.isClosed() {
		return ErrClosed
	}
	return err
}

// Path returns the network's path, once bound or connected.
func (n *Node) Path() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.path
}

// Port returns the node's port, or -1 when not connected.
func (n *Node) Port() int {
	if c := n.conn.Load(); c != nil {
		return c.port.ID()
	}
	return -1
}

// CanRead and CanWrite report the node's roles: what its permissions
// allowed at connect, less what it shut down.
func (n *Node) CanRead() bool { n.mu.Lock(); defer n.mu.Unlock(); return n.myRoles&shm.RoleRead != 0 }

// CanWrite reports whether the node may send.
func (n *Node) CanWrite() bool { n.mu.Lock(); defer n.mu.Unlock(); return n.myRoles&shm.RoleWrite != 0 }

// Shutdown ends reading (SHUT_RD), writing (SHUT_WR) or both (SHUT_RDWR),
// as with shutdown(2); the network's counts of readers and writers change.
func (n *Node) Shutdown(how int) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return ErrClosed
	}
	if n.conn.Load() == nil {
		return ErrNotConn
	}
	keep := n.myRoles
	switch how {
	case syscall.SHUT_RD:
		keep &^= shm.RoleRead
	case syscall.SHUT_WR:
		keep &^= shm.RoleWrite
	case syscall.SHUT_RDWR:
		keep = 0
	default:
		return fmt.Errorf("ipn: shutdown %d: %w", how, syscall.EINVAL)
	}
	resp, _, err := call(n.ctl, &wire.Request{Op: wire.OpRoles, Roles: keep})
	if err != nil {
		return err
	}
	n.myRoles = resp.Roles
	return nil
}

// Close leaves the network and releases everything the node held.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return ErrClosed
	}
	n.closed = true
	c := n.conn.Load()
	ctl := n.ctl
	n.mu.Unlock()
	if c != nil {
		c.port.Close() // wake calls waiting on the data path
	}
	n.ops.Lock() // wait for them to return
	n.conn.Store(nil)
	n.ops.Unlock()
	if ctl != nil {
		ctl.Close() // the coordinator releases the port and the binding
	}
	if c != nil {
		c.close()
	}
	return nil
}
