// Package sockgw is the gateway of ipn sock: a SOCK_SEQPACKET unix socket
// through which a program in any language joins an ipn network, one node
// per connection.
//
// # A connection's life
//
//	accept ─ peer credentials (SO_PEERCRED, groups from procfs)
//	       ─ hello, if Config.Hello: the first message, answered by one
//	       ─ roles: what the peer's own uid and groups may do on the
//	         network's file (r: receive, w: send), as the coordinator
//	         decides a join, and the search permission of every directory
//	         on the way to it; none: refused (EACCES)
//	       ─ a node of its own, connected with at most those roles
//	         (ipn.Node.LimitRoles), so the network's counts see them
//	       ─ the halves the node lacks shut at once: no r, and the peer
//	         reads end-of-file; no w, and its sends fail with EPIPE
//	       ─ messages both ways, one packet per message, until both halves
//	         are shut or the peer closes
//
// The peer's shutdown(SHUT_WR) reaches the gateway as end-of-file: the
// node stops sending and the network has one writer less. shutdown(SHUT_RD)
// shows to the gateway only when it next has a message for the peer (the
// kernel tells no sooner): the node then stops receiving. A message longer
// than the network's MTU ends that connection (Refusal, EMSGSIZE); other
// connections never notice.
package sockgw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipn-project/ipn"
	"github.com/ipn-project/ipn/coordinator"
)

// Config says what network a gateway serves and how.
type Config struct {
	// Path is the network's file.
	Path string
	// Hello: each connection's first message is a hello (ParseHello).
	Hello bool
	// Descr is the nodes' description when no hello gives one; empty: the
	// peer's pid and uid.
	Descr string
	// Drop: in a lossless network with no room, drop a peer's message
	// rather than wait, unless its hello says otherwise.
	Drop bool
	// Log gets a line per connection (slog.Default when nil).
	Log *slog.Logger
}

// helloWait bounds the wait for a hello.
const helloWait = 10 * time.Second

// Serve serves the connections ln accepts until ctx ends or ln fails, and
// waits for them to end.
func Serve(ctx context.Context, ln *net.UnixListener, cfg Config) error {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	abs, err := filepath.Abs(cfg.Path)
	if err != nil {
		return err
	}
	cfg.Path = abs
	defer context.AfterFunc(ctx, func() { ln.Close() })()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("sock: accept: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			serveConn(ctx, c, cfg)
		}()
	}
}

// serveConn serves one connection until it ends, and closes it.
func serveConn(ctx context.Context, c *net.UnixConn, cfg Config) {
	p, err := join(c, cfg)
	if err != nil {
		cfg.Log.Info("sock: connection refused", "err", err)
		refuse(c, err)
		return
	}
	log := cfg.Log.With("pid", p.creds.PID, "uid", p.creds.UID, "port", p.node.Port())
	log.Info("sock: connection joined", "read", p.read, "write", p.write)
	err = p.run(ctx)
	log.Info("sock: connection ended", "sent", p.sent.Load(), "dropped", p.dropped.Load(), "err", err)
}

// refuse ends c because of err: the peer gets Refusal(err) as its last
// message, then end-of-file, and its sends fail with EPIPE.
func refuse(c *net.UnixConn, err error) {
	c.SetWriteDeadline(time.Now().Add(time.Second)) // a peer that never reads must not keep us
	c.Write(Refusal(err))
	closeDrained(c)
}

// closeDrained shuts both halves of c, so the peer can send no more, drops
// what it sent and was not read, and closes c: a close with unread
// messages would make the peer's next receive fail with ECONNRESET before
// it reads what was sent to it.
func closeDrained(c *net.UnixConn) {
	if rc, err := c.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			unix.Shutdown(int(fd), unix.SHUT_RDWR)
			var b [1]byte
			for {
				if _, _, _, _, err := unix.Recvmsg(int(fd), b[:], nil, unix.MSG_DONTWAIT|unix.MSG_TRUNC); err != nil {
					break
				}
				if pending, _ := unix.IoctlGetInt(int(fd), unix.SIOCINQ); pending == 0 {
					break // empty: only end-of-file is left
				}
			}
		})
	}
	c.Close()
}

// peer is a joined connection and its node.
type peer struct {
	c     *net.UnixConn
	rc    syscall.RawConn
	creds coordinator.Creds
	node  *ipn.Node
	mtu   int
	drop  bool

	mu          sync.Mutex // guards read and write: the roles left
	read, write bool

	sent, dropped atomic.Uint64
}

// join reads the peer's credentials and hello, and connects its node.
func join(c *net.UnixConn, cfg Config) (*peer, error) {
	creds, groupsKnown, err := peerCreds(c)
	if err != nil {
		return nil, err
	}
	h := Hello{Descr: cfg.Descr, Drop: cfg.Drop}
	if cfg.Hello {
		if h, err = readHello(c, cfg); err != nil {
			return nil, err
		}
	}
	if h.Descr == "" {
		h.Descr = fmt.Sprintf("sock pid %d uid %d", creds.PID, creds.UID)
	}
	read, write, err := Roles(creds, groupsKnown, cfg.Path)
	if err != nil {
		return nil, err
	}
	// The halves the peer may not use are shut before its node is seen,
	// so the peer learns its roles from the socket itself: no w, and its
	// sends fail with EPIPE; no r, and it reads end-of-file (after the
	// answer to its hello).
	if !write {
		c.CloseRead()
	}
	if !read && !cfg.Hello {
		c.CloseWrite()
	}
	n := ipn.NewNode(ipn.Any)
	ok := false
	defer func() {
		if !ok {
			n.Close()
		}
	}()
	if err := n.SetDescr(h.Descr); err != nil {
		return nil, err
	}
	if err := n.LimitRoles(read, write); err != nil {
		return nil, err
	}
	if err := n.Connect(cfg.Path); err != nil {
		return nil, err
	}
	o, err := n.Options()
	if err != nil {
		return nil, err
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	p := &peer{c: c, rc: rc, creds: creds, node: n, mtu: o.MTU, drop: h.Drop, read: n.CanRead(), write: n.CanWrite()}
	if p.drop {
		// A deadline long past: a send that finds no room fails at once.
		n.SetWriteDeadline(time.Unix(0, 1))
	}
	if cfg.Hello {
		if _, err := c.Write(Welcome(n.Port(), p.read, p.write, p.mtu)); err != nil {
			return nil, err
		}
	}
	// The gateway's own permissions may have given the node less.
	if !p.read {
		c.CloseWrite()
	}
	if !p.write {
		c.CloseRead()
	}
	ok = true
	return p, nil
}

func readHello(c *net.UnixConn, cfg Config) (Hello, error) {
	b := make([]byte, MaxHello+1)
	c.SetReadDeadline(time.Now().Add(helloWait))
	k, err := c.Read(b)
	c.SetReadDeadline(time.Time{})
	if err != nil {
		return Hello{}, fmt.Errorf("sock: waiting for the hello: %w", err)
	}
	h, err := ParseHello(b[:k])
	if err != nil {
		return Hello{}, err
	}
	if h.Descr == "" {
		h.Descr = cfg.Descr
	}
	return h, nil
}

// peerCreds returns the credentials of c's peer (coordinator.PeerCreds),
// and whether its supplementary groups are known. A peer that is gone
// already, as a short-lived sender (socat -u) may be by the time its
// connection is accepted, leaves its uid and gid (SO_PEERCRED, as they
// were at connect) but no status file to read its groups from.
func peerCreds(c *net.UnixConn) (coordinator.Creds, bool, error) {
	creds, err := coordinator.PeerCreds(c)
	if err == nil {
		return creds, true, nil
	}
	rc, rerr := c.SyscallConn()
	if rerr != nil {
		return coordinator.Creds{}, false, rerr
	}
	var uc *unix.Ucred
	var uerr error
	rc.Control(func(fd uintptr) { uc, uerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) })
	if uerr != nil || uc.Pid <= 0 {
		return coordinator.Creds{}, false, err
	}
	return coordinator.Creds{PID: int(uc.Pid), UID: uc.Uid, GID: uc.Gid}, false, nil
}

// Roles says what a process with credentials c may do on the network at
// path, as the coordinator decides a join (coordinator.Check: r to
// receive, w to send), and checks that c may search every directory on
// the way, as the kernel would if the process opened the path itself.
// Neither role is EACCES. When c's supplementary groups are not known, a
// permission holds only if it holds both in and out of each file's group.
func Roles(c coordinator.Creds, groupsKnown bool, path string) (read, write bool, err error) {
	allowed := func(st *unix.Stat_t, want coordinator.Access) bool {
		if !coordinator.Allowed(c, st.Uid, st.Gid, st.Mode, want) {
			return false
		}
		if groupsKnown {
			return true
		}
		in := c
		in.Groups = []uint32{st.Gid}
		return coordinator.Allowed(in, st.Uid, st.Gid, st.Mode, want)
	}
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		var st unix.Stat_t
		if err := unix.Stat(dir, &st); err != nil {
			return false, false, fmt.Errorf("sock: %s: %w", dir, err)
		}
		if !allowed(&st, coordinator.AccessExec) {
			return false, false, fmt.Errorf("sock: uid %d may not search %s, on the way to %s: %w", c.UID, dir, path, syscall.EACCES)
		}
		if dir == "/" || dir == "." {
			break
		}
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return false, false, fmt.Errorf("sock: %s: %w", path, err)
	}
	read, write = allowed(&st, coordinator.AccessRead), allowed(&st, coordinator.AccessWrite)
	if !read && !write {
		return false, false, fmt.Errorf("sock: connect to %s needs r or w, and uid %d has neither: %w", path, c.UID, syscall.EACCES)
	}
	return read, write, nil
}

// errTooLong is why a connection that sent more than the MTU ends.
type errTooLong struct{ mtu int }

func (e errTooLong) Error() string {
	return fmt.Sprintf("a message longer than the network's MTU (%d bytes): the connection ends", e.mtu)
}

func (e errTooLong) Unwrap() error { return syscall.EMSGSIZE }

// run moves messages until both halves are shut, the peer closes, ctx
// ends or a flow fails; then it ends the connection. The flows:
//
//	fromPeer: packet → node.Send, until the peer shuts writing (SHUT_WR)
//	toPeer:   node.Recv → packet, until the peer shuts reading (EPIPE)
//	hangup:   waits for the socket's POLLHUP: the peer closed, or both
//	          halves are shut
func (p *peer) run(ctx context.Context) error {
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		p.node.Close()
		p.c.Close()
		return err
	}
	done := make(chan error, 3)
	var flows sync.WaitGroup
	start := func(f func() error) {
		flows.Add(1)
		go func() {
			defer flows.Done()
			done <- f()
		}()
	}
	if p.write {
		start(p.fromPeer)
	}
	if p.read {
		start(p.toPeer)
	}
	start(func() error { return p.hangup(efd) })
	var end error
	for pending := true; pending; {
		select {
		case <-ctx.Done():
			pending = false
		case err := <-done:
			if err == errHangup {
				// The peer closed (or shut both halves): it reads no
				// more, but what it sent before is still to be read, up
				// to end-of-file.
				p.mu.Lock()
				p.read = false
				p.mu.Unlock()
			} else if err != nil {
				end, pending = err, false
			}
			p.mu.Lock()
			if !p.read && !p.write {
				pending = false
			}
			p.mu.Unlock()
		}
	}
	// Stop the flows: the node first, so toPeer writes nothing more, then
	// the hangup watcher and fromPeer; then the socket goes.
	p.node.Close()
	p.c.SetWriteDeadline(time.Now())
	p.c.SetReadDeadline(time.Now())
	unix.Write(efd, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	flows.Wait()
	unix.Close(efd)
	var tooLong errTooLong
	if errors.As(end, &tooLong) {
		refuse(p.c, end)
	} else {
		p.c.Close()
	}
	if end == errHangup || errors.Is(end, net.ErrClosed) || errors.Is(end, ipn.ErrClosed) {
		end = nil
	}
	return end
}

// shut drops a role of the node after the peer shut that half: how is
// SHUT_WR (the peer sends no more) or SHUT_RD (it reads no more). The
// node keeps the other role, if it has it; with none left, run ends the
// connection.
func (p *peer) shut(how int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if how == unix.SHUT_WR {
		p.write = false
	} else {
		p.read = false
	}
	if !p.read && !p.write {
		return nil
	}
	return p.node.Shutdown(how)
}

// fromPeer sends the peer's messages to the network.
func (p *peer) fromPeer() error {
	buf := make([]byte, p.mtu+1)
	var k int
	var eof bool
	var rerr error
	recv := func(fd uintptr) bool {
		k, eof, rerr = recvPacket(int(fd), buf)
		return rerr != unix.EAGAIN
	}
	for {
		if err := p.rc.Read(recv); err != nil {
			return err
		}
		switch {
		case rerr != nil:
			return rerr
		case eof:
			return p.shut(unix.SHUT_WR)
		case k > p.mtu:
			return errTooLong{p.mtu}
		}
		err := p.node.Send(buf[:k])
		switch {
		case err == nil:
			p.sent.Add(1)
		case p.drop && (errors.Is(err, ipn.ErrTimeout) || errors.Is(err, ipn.ErrAgain)):
			p.dropped.Add(1)
		default:
			return err
		}
	}
}

// recvPacket receives one packet into buf, cut to its length if longer
// (read(2), which allocates nothing, unlike recvmsg's wrapper: a buffer
// one byte longer than the MTU tells a message that is too long). A read
// of nothing is an empty message, unless the peer has shut writing
// (POLLRDHUP): then it is end-of-file. (An empty message sent right before
// shutdown(SHUT_WR) is taken for it.)
func recvPacket(fd int, buf []byte) (k int, eof bool, err error) {
	for {
		k, err = unix.Read(fd, buf)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil || k > 0 {
		return k, false, err
	}
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLRDHUP}}
	if n, _ := unix.Poll(pfd, 0); n > 0 && pfd[0].Revents&(unix.POLLRDHUP|unix.POLLHUP) != 0 {
		return 0, true, nil
	}
	return 0, false, nil
}

// toPeer sends the network's messages to the peer.
func (p *peer) toPeer() error {
	buf := make([]byte, p.mtu)
	for {
		k, err := p.node.Recv(buf)
		if err != nil {
			return err
		}
		if _, err := p.c.Write(buf[:k]); err != nil {
			if errors.Is(err, syscall.EPIPE) {
				return p.shut(unix.SHUT_RD)
			}
			return err
		}
	}
}

// errHangup ends a connection whose peer closed it or shut both halves.
var errHangup = errors.New("the peer hung up")

// hangup waits until the socket reports POLLHUP, both halves shut, or
// efd is written to.
func (p *peer) hangup(efd int) error {
	var fd int
	p.rc.Control(func(f uintptr) { fd = int(f) })
	// Asking for no event still reports POLLHUP: data coming and going
	// does not wake this wait.
	pfd := []unix.PollFd{{Fd: int32(fd)}, {Fd: int32(efd), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(pfd, -1)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return os.NewSyscallError("poll", err)
		case pfd[1].Revents != 0:
			return nil
		case pfd[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0:
			return errHangup
		}
	}
}
