package ipn

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/ipn-project/ipn/dispatch"
	"github.com/ipn-project/ipn/plane"
	"github.com/ipn-project/ipn/ring"
	"github.com/ipn-project/ipn/wire"
)

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

// netFile opens the network's file at path with O_PATH, which needs no
// permission on the file but search permission on every directory above it,
// judged by the kernel for this process. Requests that name a network carry
// this descriptor: it is what shows the coordinator that the caller may
// reach the path. It returns the descriptor, to be closed once the request
// is answered, and the inode it refers to. With nofollow, a symbolic link
// at path is refused rather than followed.
func netFile(path string, nofollow bool) (fd int, dev, ino uint64, err error) {
	flags := unix.O_PATH | unix.O_CLOEXEC
	if nofollow {
		flags |= unix.O_NOFOLLOW
	}
	if fd, err = unix.Open(path, flags, 0); err != nil {
		return -1, 0, 0, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, 0, 0, &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	return fd, st.Dev, st.Ino, nil
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
		return fmt.Errorf("ipn: bind %s: node already bound to %s: %w", path, n.path, ErrIsConn)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	ctl, err := n.ctlLocked()
	if err != nil {
		return err
	}
	req := &wire.Request{Path: abs, Policy: n.policy, Opts: n.opts, Port: wire.AnyPort, Persist: n.persist}
	fd := -1
	mode, created, err := makeSocketInode(abs, n.opts.Mode)
	switch {
	case created:
		req.Op, req.Opts.Mode = wire.OpCreate, mode
		if n.policy == Any {
			os.Remove(abs)
			return fmt.Errorf("ipn: bind %s: a network cannot be created with policy Any: %w", abs, syscall.EPROTONOSUPPORT)
		}
		if fd, req.Dev, req.Ino, err = netFile(abs, true); err != nil {
			os.Remove(abs)
			return fmt.Errorf("ipn: bind %s: %w", abs, err)
		}
	case errors.Is(err, syscall.EADDRINUSE) && n.persist:
		return fmt.Errorf("ipn: create %s: %w", abs, err)
	case errors.Is(err, syscall.EADDRINUSE):
		if fd, req.Dev, req.Ino, err = netFile(abs, false); err != nil {
			return err
		}
		req.Op, req.Bind = wire.OpJoin, true
	default:
		return fmt.Errorf("ipn: bind %s: %w", abs, err)
	}
	resp, _, err := call(ctl, req, fd)
	unix.Close(fd)
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
// and returns the mode it got.
func makeSocketInode(path string, mode os.FileMode) (perm os.FileMode, created bool, err error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, false, err
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		return 0, false, err
	}
	// The umask is per process; reading it means setting it, so put it back
	// at once (a thread creating a file in between would see 0).
	umask := unix.Umask(0)
	unix.Umask(umask)
	perm = mode.Perm() &^ os.FileMode(umask)
	if err := os.Chmod(path, perm); err != nil {
		os.Remove(path)
		return 0, false, err
	}
	return perm, true, nil
}

// Connect joins the network at path to communicate: to receive if the
// caller may read it, to send if it may write it.
func (n *Node) Connect(path string) error {
	_, _, err := n.connect(path, "")
	return err
}

// connect joins the network at path; with iface set, as the controller of
// that interface node (TakeOver), whose descriptor it returns.
func (n *Node) connect(path, iface string) (*wire.Response, int, error) {
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
	file, dev, ino, err := netFile(abs, false)
	if err != nil {
		return nil, -1, fmt.Errorf("ipn: connect: %w", err)
	}
	defer unix.Close(file)
	ctl, err := n.ctlLocked()
	if err != nil {
		return nil, -1, err
	}
	req := &wire.Request{Op: wire.OpJoin, Connect: true, Path: abs, Dev: dev, Ino: ino,
		Policy: n.policy, Port: n.port, Descr: n.descr, WantOOB: n.wantOOB, Roles: n.limit,
		Lossy: n.lossy}
	if iface != "" {
		req.Op, req.Iface = wire.OpTakeover, iface
	}
	resp, fds, err := call(ctl, req, file)
	if err != nil {
		return nil, -1, fmt.Errorf("ipn: connect %s: %w", abs, err)
	}
	ifd := -1
	if iface != "" && len(fds) > 0 {
		ifd, fds = fds[len(fds)-1], fds[:len(fds)-1]
	}
	fail := func(err error) (*wire.Response, int, error) {
		if ifd >= 0 {
			syscall.Close(ifd)
		}
		return nil, -1, fmt.Errorf("ipn: connect %s: %w", abs, err)
	}
	if iface != "" && ifd < 0 {
		return fail(fmt.Errorf("take-over brought no interface descriptor: %w", wire.ErrProtocol))
	}
	c, err := attach(resp, fds, n.fetcher())
	if err != nil {
		return fail(err)
	}
	pol, err := dispatch.Lookup(int(resp.Net.Policy))
	if err != nil { // a policy of users' own that this program lacks
		c.close()
		ctl.Close()
		n.ctl = nil
		return fail(err)
	}
	c.dispatch = dispatch.SenderFunc(pol, c.plane.Net)
	c.plane.Net.SetStallReporter(n.stallReporter())
	n.path, n.myRoles = abs, resp.Roles
	if resp.Net != nil {
		n.netInfo = *resp.Net
	}
	n.conn.Store(c)
	return resp, ifd, nil
}

// attach validates and maps the network's shared memory handed over as
// fds and described in resp, and opens the node's port in it.
func attach(resp *wire.Response, fds []int, fetch ring.Fetcher) (*connection, error) {
	h, err := wire.HandoffFrom(resp.Handover, fds)
	if err != nil {
		closeFDs(fds)
		return nil, fmt.Errorf("coordinator: %w", err)
	}
	if h.Grant.Self != resp.Port {
		closeFDs(fds)
		return nil, fmt.Errorf("coordinator: %w: hand-over for port %d, joined port %d", wire.ErrProtocol, h.Grant.Self, resp.Port)
	}
	p, err := plane.Attach(h, fetch)
	if err != nil {
		return nil, err
	}
	c := &connection{plane: p}
	if c.port, err = p.Net.Port(resp.Port); err != nil {
		p.Close()
		return nil, err
	}
	return c, nil
}

// fetcher asks the coordinator, on the node's control connection, for the
// shared memory of ports that appeared after the join. The data path calls
// it; it never waits for the node's lock, which a control call or Close
// may hold: then it says "not now" (ring.ErrBusy) and the next step asks
// again.
func (n *Node) fetcher() ring.Fetcher {
	return func(ports uint64) (ring.Handover, []int, error) {
		if !n.mu.TryLock() {
			return ring.Handover{}, nil, ring.ErrBusy
		}
		defer n.mu.Unlock()
		if n.ctl == nil || n.closed {
			return ring.Handover{}, nil, ErrNotConn
		}
		resp, fds, err := call(n.ctl, &wire.Request{Op: wire.OpFetch, Ports: ports})
		if err != nil {
			return ring.Handover{}, nil, err
		}
		if resp.Handover == nil {
			closeFDs(fds)
			return ring.Handover{}, nil, fmt.Errorf("ipn: fetch: %w: no hand-over", wire.ErrProtocol)
		}
		return *resp.Handover, fds, nil
	}
}
