package ipn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipn-project/ipn/coordinator"
	"github.com/ipn-project/ipn/dispatch"
	"github.com/ipn-project/ipn/ring"
	"github.com/ipn-project/ipn/shm"
)

// Policy is a network's dispatch policy (the protocol argument of IPN's
// socket call).
type Policy int

// Policies. Any joins a network whatever its policy but cannot create one.
const (
	Any    Policy = 0
	Hub    Policy = 1
	Switch Policy = 2 // Ethernet switch with VLANs
	L3     Policy = 3 // layer-3 switch, for IP packets
)

// MaxDescr is the longest node description (IPN_DESCRLEN).
const MaxDescr = 128

// Node is one IPN node: created unbound, it binds a network to create or
// manage it, and connects to one to send and receive. Configuration and
// Bind, Connect, Shutdown and Close are safe for concurrent use; sending is
// for one goroutine at a time, and so is receiving, and the two may run
// concurrently.
type Node struct {
	mu       sync.Mutex // guards everything but the data path
	policy   Policy
	opts     coordinator.NetOptions
	port     int
	descr    string
	wantOOB  bool
	limit    uint32 // LimitRoles: at most these roles at connect; 0: any
	ctl      *net.UnixConn
	path     string
	bound    bool
	closed   bool
	persist  bool // Create: the network outlives its nodes, and must be new
	netInfo  coordinator.NetInfo
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
	seg      *shm.Segment
	net      *ring.Network
	port     *ring.Port
	rx, tx   []*ring.Eventfd
	dispatch func(*ring.Delivery) // the network's policy, bound to it
}

// NewNode returns an unbound node of the given policy.
func NewNode(p Policy) *Node {
	return &Node{policy: p, port: coordinator.AnyPort, opts: coordinator.NetOptions{Mode: 0o777}}
}

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
	return n.setOpt(func() error { n.opts.Mode = uint32(mode.Perm()); return nil })
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

// ctlLocked returns the node's control connection, dialling the coordinator
// the first time.
func (n *Node) ctlLocked() (*net.UnixConn, error) {
	if n.ctl == nil {
		c, err := dial()
		if err != nil {
			return nil, err
		}
		n.ctl = c
	}
	return n.ctl, nil
}

func statInode(path string) (dev, ino uint64, err error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, 0, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	return st.Dev, st.Ino, nil
}

// Bind creates the network at path with the node's options, or joins an
// existing one for management (which needs execute permission on it).
func (n *Node) Bind(path string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return ErrClosed
	}
	if n.bound {
		return fmt.Errorf("ipn: node already bound to %s: %w", n.path, syscall.EINVAL)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	ctl, err := n.ctlLocked()
	if err != nil {
		return err
	}
	req := &coordinator.Request{Path: abs, Policy: int(n.policy), Opts: n.opts, Port: coordinator.AnyPort, Persist: n.persist}
	dev, ino, mode, created, err := makeSocketInode(abs, os.FileMode(n.opts.Mode))
	switch {
	case created:
		req.Op, req.Dev, req.Ino, req.Opts.Mode = coordinator.OpCreate, dev, ino, mode
		if n.policy == Any {
			os.Remove(abs)
			return fmt.Errorf("ipn: bind %s: a network cannot be created with policy Any: %w", abs, syscall.EPROTONOSUPPORT)
		}
	case errors.Is(err, syscall.EADDRINUSE) && n.persist:
		return fmt.Errorf("ipn: create %s: %w", abs, err)
	case errors.Is(err, syscall.EADDRINUSE):
		if req.Dev, req.Ino, err = statInode(abs); err != nil {
			return err
		}
		req.Op, req.Bind = coordinator.OpJoin, true
	default:
		return fmt.Errorf("ipn: bind %s: %w", abs, err)
	}
	resp, _, err := call(ctl, req)
	if err != nil {
		if created {
			os.Remove(abs)
		}
		return fmt.Errorf("ipn: bind %s: %w", abs, err)
	}
	n.bound, n.path = true, abs
	if resp.Net != nil {
		n.netInfo = *resp.Net
	}
	return nil
}

// makeSocketInode creates the network's file as a unix socket inode, so the
// kernel checks the caller's right to create it, with mode less the umask,
// and returns its inode and the mode it got.
func makeSocketInode(path string, mode os.FileMode) (dev, ino uint64, perm uint32, created bool, err error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, 0, 0, false, err
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		return 0, 0, 0, false, err
	}
	// The umask is per process; reading it means setting it, so put it back
	// at once (a thread creating a file in between would see 0).
	umask := unix.Umask(0)
	unix.Umask(umask)
	perm = uint32(mode.Perm()) &^ uint32(umask)
	if err := os.Chmod(path, os.FileMode(perm)); err != nil {
		os.Remove(path)
		return 0, 0, 0, false, err
	}
	dev, ino, err = statInode(path)
	if err != nil {
		os.Remove(path)
		return 0, 0, 0, false, err
	}
	return dev, ino, perm, true, nil
}

// Connect joins the network at path to communicate: to receive if the
// caller may read it, to send if it may write it.
func (n *Node) Connect(path string) error {
	_, _, err := n.connect(path, "")
	return err
}

// connect joins the network at path; with iface set, as the controller of
// that interface node (TakeOver), whose descriptor it returns.
func (n *Node) connect(path, iface string) (*coordinator.Response, int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, -1, ErrClosed
	}
	if n.conn.Load() != nil {
		return nil, -1, fmt.Errorf("ipn: connect %s: %w", path, ErrIsConn)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, -1, err
	}
	if n.bound && abs != n.path {
		return nil, -1, fmt.Errorf("ipn: connect %s: node is bound to %s: %w", abs, n.path, syscall.EINVAL)
	}
	dev, ino, err := statInode(abs)
	if err != nil {
		return nil, -1, fmt.Errorf("ipn: connect: %w", err)
	}
	ctl, err := n.ctlLocked()
	if err != nil {
		return nil, -1, err
	}
	req := &coordinator.Request{Op: coordinator.OpJoin, Connect: true, Path: abs, Dev: dev, Ino: ino,
		Policy: int(n.policy), Port: n.port, Descr: n.descr, WantOOB: n.wantOOB, Roles: n.limit}
	if iface != "" {
		req.Op, req.Iface = coordinator.OpTakeover, iface
	}
	resp, fds, err := call(ctl, req)
	if err != nil {
		return nil, -1, fmt.Errorf("ipn: connect %s: %w", abs, err)
	}
	ifd := -1
	if iface != "" && len(fds) > 0 {
		ifd, fds = fds[len(fds)-1], fds[:len(fds)-1]
	}
	fail := func(err error) (*coordinator.Response, int, error) {
		if ifd >= 0 {
			syscall.Close(ifd)
		}
		return nil, -1, fmt.Errorf("ipn: connect %s: %w", abs, err)
	}
	if iface != "" && ifd < 0 {
		return fail(fmt.Errorf("take-over brought no interface descriptor: %w", coordinator.ErrProtocol))
	}
	c, err := attach(fds, resp.Port)
	if err != nil {
		return fail(err)
	}
	pol, err := dispatch.Lookup(resp.Net.Policy)
	if err != nil { // a policy of users' own that this program lacks
		c.close()
		ctl.Close()
		n.ctl = nil
		return fail(err)
	}
	capacity := c.net.Geometry().Ports - 1
	c.dispatch = dispatch.Func(pol, dispatch.NetOf(c.net, func() int { return capacity }))
	n.path, n.myRoles = abs, resp.Roles
	if resp.Net != nil {
		n.netInfo = *resp.Net
	}
	n.conn.Store(c)
	return resp, ifd, nil
}

// attach maps the segment and adopts the eventfds handed over by the
// coordinator.
func attach(fds []int, port int) (*connection, error) {
	if len(fds) < 3 || len(fds)%2 != 1 {
		closeFDs(fds)
		return nil, fmt.Errorf("coordinator handed over %d descriptors: %w", len(fds), coordinator.ErrProtocol)
	}
	seg, err := shm.Attach(os.NewFile(uintptr(fds[0]), "ipn-segment"))
	if err != nil {
		closeFDs(fds[1:])
		return nil, err
	}
	c := &connection{seg: seg, net: ring.New(seg)}
	ports := (len(fds) - 1) / 2
	for p := 0; p < ports; p++ {
		rx, err1 := ring.EventfdFromFD(fds[1+p])
		tx, err2 := ring.EventfdFromFD(fds[1+ports+p])
		if err1 != nil || err2 != nil {
			c.close()
			return nil, errors.Join(err1, err2)
		}
		c.rx, c.tx = append(c.rx, rx), append(c.tx, tx)
		c.net.SetEventfds(p, rx, tx)
	}
	if c.port, err = c.net.Port(port); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func (c *connection) close() {
	for i := range c.rx {
		c.rx[i].Close()
		c.tx[i].Close()
	}
	c.seg.Close()
}

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

func deadline(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v)
}

// Send sends one message to the network: with the hub policy, to every
// other node that receives. It fails with ErrMsgSize when b is longer than
// the MTU. In a lossless network it waits for room until the write
// deadline, or fails with ErrAgain in non-blocking mode.
func (n *Node) Send(b []byte) error { return n.SendHop(b, 0) }

// SendHop is Send for a forwarder, a cable or a bridge between networks:
// hop is the hop depth the message carried where it was received (View's
// Hop), plus one. Past dispatch.MaxHops the message is dropped and
// counted, so forwarders in a cycle cannot make it loop forever (P3).
func (n *Node) SendHop(b []byte, hop int) error {
	c, err := n.data()
	if err != nil {
		return err
	}
	defer n.ops.RUnlock()
	_, err = dispatch.Send(c.port, c.dispatch, b, hop, !n.nonblock.Load(), deadline(n.wdl.Load()))
	return n.mapErr(err)
}

// SendContext is Send that also returns ctx's error once ctx is done while
// it waits for room.
func (n *Node) SendContext(ctx context.Context, b []byte) error {
	c, err := n.data()
	if err != nil {
		return err
	}
	defer n.ops.RUnlock()
	dl := deadline(n.wdl.Load())
	if d, ok := ctx.Deadline(); ok && (dl.IsZero() || d.Before(dl)) {
		dl = d
	}
	stop := context.AfterFunc(ctx, func() { c.tx[c.port.ID()].Signal() })
	defer stop()
	for {
		_, err := dispatch.Send(c.port, c.dispatch, b, 0, false, time.Time{})
		if !errors.Is(err, ring.ErrAgain) || n.nonblock.Load() {
			return n.mapErr(err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !c.port.ArmWrite() {
			if err := c.tx[c.port.ID()].Wait(dl); err != nil {
				return err
			}
		}
	}
}

// Write sends b as one message (io.Writer).
func (n *Node) Write(b []byte) (int, error) {
	if err := n.Send(b); err != nil {
		return 0, err
	}
	return len(b), nil
}

// Recv receives one data message into b, waiting until the read deadline
// (or failing with ErrAgain in non-blocking mode). Out-of-band messages
// that arrive meanwhile are kept for RecvOOB. A message longer than b
// fills b and returns ring.ErrTruncated.
func (n *Node) Recv(b []byte) (int, error) {
	k, _, err := n.recv(nil, b, false, true)
	return k, err
}

// TryRecv receives a data message if one is waiting, and fails with
// ErrAgain at once if none is, whatever the node's blocking mode (as recv
// with MSG_DONTWAIT).
func (n *Node) TryRecv(b []byte) (int, error) {
	k, _, err := n.recv(nil, b, false, false)
	return k, err
}

// Read receives one message (io.Reader).
func (n *Node) Read(b []byte) (int, error) { return n.Recv(b) }

// RecvMsg receives the next message, out-of-band ones first, and says
// which it was.
func (n *Node) RecvMsg(b []byte) (k int, oob bool, err error) { return n.recv(nil, b, true, true) }

// RecvContext is Recv that also returns ctx's error once ctx is done.
func (n *Node) RecvContext(ctx context.Context, b []byte) (int, error) {
	k, _, err := n.recv(ctx, b, false, true)
	return k, err
}

// RecvOOB returns the last out-of-band message that Recv set aside, if
// any, and forgets it.
func (n *Node) RecvOOB(b []byte) (int, bool) {
	n.oobMu.Lock()
	defer n.oobMu.Unlock()
	if n.oobBuf == nil {
		return 0, false
	}
	k := copy(b, n.oobBuf)
	n.oobBuf = nil
	return k, true
}

func (n *Node) recv(ctx context.Context, b []byte, keepOOB, wait bool) (int, bool, error) {
	c, err := n.data()
	if err != nil {
		return 0, false, err
	}
	defer n.ops.RUnlock()
	dl := deadline(n.rdl.Load())
	if ctx != nil {
		if d, ok := ctx.Deadline(); ok && (dl.IsZero() || d.Before(dl)) {
			dl = d
		}
		stop := context.AfterFunc(ctx, func() { c.rx[c.port.ID()].Signal() })
		defer stop()
	}
	for {
		k, info, err := c.port.TryRecv(b)
		if err == nil && info.OOB && !keepOOB {
			n.oobMu.Lock()
			n.oobBuf = append(n.oobBuf[:0:0], b[:k]...)
			n.oobMu.Unlock()
			continue
		}
		if !errors.Is(err, ring.ErrAgain) {
			return k, info.OOB, n.mapErr(err)
		}
		if !wait || n.nonblock.Load() {
			return 0, false, ErrAgain
		}
		if ctx != nil && ctx.Err() != nil {
			return 0, false, ctx.Err()
		}
		if err := c.port.WaitRx(dl); err != nil {
			if ctx != nil && ctx.Err() != nil {
				return 0, false, ctx.Err()
			}
			return 0, false, n.mapErr(err)
		}
	}
}

func (n *Node) mapErr(err error) error {
	if errors.Is(err, ring.ErrPortClosed) && n.isClosed() {
		return ErrClosed
	}
	return err
}

// SetNonblock makes sends and receives fail with ErrAgain instead of
// waiting (MSG_DONTWAIT on every call).
func (n *Node) SetNonblock(on bool) { n.nonblock.Store(on) }

// SetReadDeadline bounds the waits of receives; the zero time removes it.
func (n *Node) SetReadDeadline(t time.Time) { n.rdl.Store(unixNano(t)) }

// SetWriteDeadline bounds the waits of sends.
func (n *Node) SetWriteDeadline(t time.Time) { n.wdl.Store(unixNano(t)) }

// SetDeadline sets both deadlines.
func (n *Node) SetDeadline(t time.Time) { n.SetReadDeadline(t); n.SetWriteDeadline(t) }

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
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

// Options returns the network's options, once bound or connected.
func (n *Node) Options() (Options, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ctl == nil || n.closed {
		return Options{}, ErrNotConn
	}
	resp, _, err := call(n.ctl, &coordinator.Request{Op: coordinator.OpOptions})
	if err != nil {
		return Options{}, err
	}
	o := resp.Net.Opts
	return Options{MTU: o.MTU, NumNodes: o.NumNodes, Pool: o.Pool, Lossless: o.Lossless, Mode: os.FileMode(o.Mode)}, nil
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
	if _, _, err := call(n.ctl, &coordinator.Request{Op: coordinator.OpResize, NumNodes: k}); err != nil {
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
	_, _, err := call(n.ctl, &coordinator.Request{Op: coordinator.OpPolicy, Port: port, OptName: name, OptValue: value, OptSet: true})
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
	resp, _, err := call(n.ctl, &coordinator.Request{Op: coordinator.OpPolicy, Port: port, OptName: name})
	if err != nil {
		return "", fmt.Errorf("ipn: policy option %s of port %d: %w", name, port, err)
	}
	return resp.OptValue, nil
}

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
	resp, _, err := call(n.ctl, &coordinator.Request{Op: coordinator.OpRoles, Roles: keep})
	if err != nil {
		return err
	}
	n.myRoles = resp.Roles
	return nil
}

// CanRead and CanWrite report the node's roles: what its permissions
// allowed at connect, less what it shut down.
func (n *Node) CanRead() bool { n.mu.Lock(); defer n.mu.Unlock(); return n.myRoles&shm.RoleRead != 0 }

// CanWrite reports whether the node may send.
func (n *Node) CanWrite() bool { n.mu.Lock(); defer n.mu.Unlock(); return n.myRoles&shm.RoleWrite != 0 }

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
