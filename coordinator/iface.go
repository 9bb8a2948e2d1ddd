package coordinator

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipn-project/ipn/dispatch"
	"github.com/ipn-project/ipn/netdev"
	"github.com/ipn-project/ipn/ring"
	"github.com/ipn-project/ipn/shm"
	"github.com/ipn-project/ipn/wire"
)

// iface is an interface node (SPEC §4): a TAP, TUN or grabbed interface
// whose descriptor a member handed over. The coordinator keeps its own copy
// of the descriptor for the interface's life, so that a persistent
// interface outlives the process that made it (D3): the coordinator then
// pumps its frames itself until a process takes it over.
//
// An interface is told apart by its namespace and its index there
// (netdev.Place), never by its name alone: two namespaces may each have an
// ipn0. Where it lives is read again from its descriptor whenever it is
// looked for, since a TAP or TUN moves with its interface when that is
// moved to another namespace (as ipn tap --netns does once the node is in).
//
// kind, fd, owner and net are set once; at is guarded by atMu; the rest
// by net.mu.
type iface struct {
	kind  string
	fd    int   // the coordinator's copy
	owner Creds // who handed it over
	net   *network

	atMu sync.Mutex
	at   netdev.Place // where it was last seen

	port    int
	persist bool
	pump    *pumpRun // set while the coordinator pumps it
	gone    bool     // released: a request that found it before is too late
}

// pumpRun is the coordinator pumping an interface on a port of its own.
type pumpRun struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when both ways have stopped
}

func (f *iface) info() *wire.IfaceInfo {
	at := f.where()
	return &wire.IfaceInfo{Kind: f.kind, Name: at.Name, Index: at.Index, Path: f.net.path, Port: f.port,
		Persist: f.persist, Pumped: f.pump != nil, Netns: netdev.NetnsName(at.Netns), NetnsInode: at.Netns}
}

// where says where f lives now, or where it was last seen if the kernel
// cannot say (its interface gone, say).
func (f *iface) where() netdev.Place {
	f.atMu.Lock()
	defer f.atMu.Unlock()
	if at, err := netdev.Locate(f.fd); err == nil {
		f.at = at
	}
	return f.at
}

// name is f's name where it was last seen, for messages.
func (f *iface) name() string {
	f.atMu.Lock()
	defer f.atMu.Unlock()
	return f.at.String()
}

// label names f for people: its name, and its namespace when that is not
// the coordinator's own.
func label(at netdev.Place) string {
	if ns := netdev.NetnsName(at.Netns); ns != "" {
		return at.String() + "@" + ns
	}
	return at.String()
}

// attachIface takes the descriptor of the interface a connected node
// joined with: the node controls it; the coordinator keeps a copy.
func (m *member) attachIface(req *wire.Request, in []int) (*wire.Response, error) {
	if len(in) != 1 {
		closeFDs(in)
		return nil, fmt.Errorf("%w: an iface request carries one descriptor, not %d", wire.ErrProtocol, len(in))
	}
	fd := in[0]
	n := m.net
	if n == nil || m.port < 0 {
		unix.Close(fd)
		return nil, fmt.Errorf("interface: node not connected: %w", syscall.ENOTCONN)
	}
	kind, at, err := netdev.Identify(fd)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if m.iface != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("node already has interface %s: %w", m.iface.name(), syscall.EISCONN)
	}
	f := &iface{kind: kind, at: at, fd: fd, owner: m.creds, net: n, port: m.port, persist: req.Persist}
	s := m.srv
	s.mu.Lock()
	for old := range s.ifaces {
		if old.where().Same(at) {
			s.mu.Unlock()
			unix.Close(fd)
			return nil, fmt.Errorf("%s (index %d) is already a node of %s: %w", label(at), at.Index, old.net.path, syscall.EADDRINUSE)
		}
	}
	s.ifaces[f] = true
	s.mu.Unlock()
	m.iface = f
	s.log.Info("interface node", "path", n.path, "port", m.port, "kind", kind, "name", at.Name, "index", at.Index,
		"netns", at.Netns, "persist", req.Persist)
	return &wire.Response{Iface: f.info()}, nil
}

// findIface returns the interface node key names, among the nodes of
// network n (of every network when n is nil). key is a name or an index,
// with @NETNS after it to say which namespace's (a name ip netns add made,
// a namespace file's path, or net:[INODE]). A name is looked for first,
// then an index. Names and indexes are per namespace: when key matches
// nodes of several namespaces, the error (ENOTUNIQ) lists them.
func (s *Server) findIface(key string, n *network) (*iface, error) {
	id, ns, hasNS := key, uint64(0), false
	if at := strings.LastIndexByte(key, '@'); at >= 0 {
		ino, err := netdev.NetnsInode(key[at+1:])
		if err != nil {
			return nil, fmt.Errorf("interface %q: %v: %w", key, err, syscall.ENODEV)
		}
		id, ns, hasNS = key[:at], ino, true
	}
	index, err := strconv.Atoi(id)
	isIndex := err == nil
	s.mu.Lock()
	defer s.mu.Unlock()
	var byName, byIndex []*iface
	var places []netdev.Place
	for f := range s.ifaces {
		at := f.where()
		if n != nil && f.net != n || hasNS && at.Netns != ns {
			continue
		}
		switch {
		case at.Name == id:
			byName = append(byName, f)
			places = append(places, at)
		case isIndex && at.Index == index:
			byIndex = append(byIndex, f)
		}
	}
	found := byName
	if len(found) == 0 {
		found, places = byIndex, places[:0]
		for _, f := range byIndex {
			places = append(places, f.where())
		}
	}
	switch len(found) {
	case 0:
		where := "any network"
		if n != nil {
			where = n.path
		}
		return nil, fmt.Errorf("%q is no interface node of %s: %w", key, where, syscall.ENODEV)
	case 1:
		return found[0], nil
	}
	var names []string
	for _, at := range places {
		names = append(names, fmt.Sprintf("%s (index %d)", label(at), at.Index))
	}
	slices.Sort(names)
	return nil, fmt.Errorf("%q names interface nodes in %d namespaces, %s: say which as NAME@NETNS or INDEX@NETNS: %w",
		key, len(found), strings.Join(names, ", "), syscall.ENOTUNIQ)
}

// mayControl says whether m may take over or change f: root, or whoever
// handed it over.
func (m *member) mayControl(f *iface) error {
	if m.creds.UID == 0 || m.creds.UID == f.owner.UID {
		return nil
	}
	return fmt.Errorf("interface %s belongs to uid %d: %w", f.name(), f.owner.UID, syscall.EPERM)
}

// takeover connects m to the network of a persistent interface that no
// process controls, on the interface's port, as its controller; the
// interface's descriptor goes with the network's, last.
func (m *member) takeover(req *wire.Request, in []int) (*wire.Response, []int, error) {
	n, st, err := m.srv.lookup(req, in)
	if err != nil {
		return nil, nil, err
	}
	f, err := m.srv.findIface(req.Iface, n)
	if err != nil {
		return nil, nil, err
	}
	if err := m.mayControl(f); err != nil {
		return nil, nil, err
	}
	roles, err := connectRoles(m, st, req.Path)
	if err != nil {
		return nil, nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case n.ended:
		return nil, nil, fmt.Errorf("%s ended: %w", req.Path, syscall.ECONNREFUSED)
	case f.gone:
		return nil, nil, fmt.Errorf("interface %s is no longer a node of %s: %w", f.name(), req.Path, syscall.ENODEV)
	case m.net != nil:
		return nil, nil, fmt.Errorf("node already joined %s: %w", m.net.path, syscall.EISCONN)
	case f.pump == nil:
		pid := 0
		if ctl := n.ports[f.port]; ctl != nil {
			pid = ctl.creds.PID
		}
		return nil, nil, fmt.Errorf("interface %s is controlled by pid %d: %w", f.name(), pid, syscall.EADDRNOTAVAIL)
	}
	if err := n.stopPump(f); err != nil {
		return nil, nil, err
	}
	resp := &wire.Response{}
	fds, err := n.connectAt(m, f.port, roles, req, resp)
	if err != nil {
		n.release(f)
		return nil, nil, err
	}
	m.net, m.iface = n, f
	info := n.info()
	resp.Net, resp.Iface = &info, f.info()
	resp.NumFDs++
	n.notify()
	m.srv.log.Info("interface taken over", "path", n.path, "port", f.port, "name", f.name(), "pid", m.creds.PID)
	return resp, append(fds, f.fd), nil
}

// setPersist sets or clears an interface node's persistence (D3).
// Clearing it while no process controls the interface removes the node,
// and ends the network if it was the last.
func (m *member) setPersist(req *wire.Request) (*wire.Response, error) {
	f, err := m.srv.findIface(req.Iface, nil)
	if err != nil {
		return nil, err
	}
	n := f.net
	n.mu.Lock()
	if f.gone {
		n.mu.Unlock()
		return nil, fmt.Errorf("interface %s is no longer a node: %w", f.name(), syscall.ENODEV)
	}
	// The request names no path: the coordinator checks that the caller
	// may still reach the interface's network as it would walk to it.
	if !n.reachable(m.creds) {
		n.mu.Unlock()
		return nil, fmt.Errorf("interface %s is a node of a network uid %d may not reach: %w", f.name(), m.creds.UID, syscall.EACCES)
	}
	if err := m.mayControl(f); err != nil {
		n.mu.Unlock()
		return nil, err
	}
	f.persist = req.Persist
	info := f.info()
	last := false
	if !f.persist && f.pump != nil {
		err = n.dropPump(f)
		n.release(f)
		n.notify()
		last = n.nodes() == 0 && !n.persistent
		info.Pumped, info.Port = false, -1 // removed
	}
	n.mu.Unlock()
	m.srv.log.Info("interface persistence", "name", f.name(), "persist", req.Persist, "uid", m.creds.UID)
	if last {
		m.srv.endNet(n)
	}
	if err != nil {
		return nil, err
	}
	return &wire.Response{Iface: info}, nil
}

// orphan handles an interface whose controller left the port it held:
// free is whether that port was reclaimed. A persistent interface gets
// pumped by the coordinator, on the same port when it can; any other goes.
// n.mu must be held.
func (n *network) orphan(f *iface, free bool) {
	if !f.persist || n.ended {
		n.release(f)
		return
	}
	p := f.port
	if !free {
		var err error
		if p, err = n.newPort(wire.AnyPort); err != nil {
			n.srv.log.Error("persistent interface lost its port", "name", f.name(), "err", err)
			n.release(f)
			return
		}
	}
	if err := n.startPump(f, p); err != nil {
		n.srv.log.Error("pump persistent interface", "name", f.name(), "err", err)
		n.release(f)
	}
}

// release lets go of an interface node: the coordinator's descriptor is
// closed, and with the last one a TAP or TUN interface goes and a grabbed
// interface is given back. n.mu must be held.
func (n *network) release(f *iface) {
	f.gone = true
	s := n.srv
	s.mu.Lock()
	delete(s.ifaces, f)
	s.mu.Unlock()
	unix.Close(f.fd)
	s.log.Info("interface node released", "path", n.path, "name", f.name())
}

// startPump pumps f's frames on port p, free, as the coordinator's own
// node. n.mu must be held.
func (n *network) startPump(f *iface, p int) error {
	dup, err := unix.FcntlInt(uintptr(f.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return err
	}
	dev, err := netdev.FromFD(f.kind, f.name(), dup)
	if err != nil {
		return err
	}
	self := Creds{PID: os.Getpid(), UID: uint32(os.Getuid()), GID: uint32(os.Getgid())}
	if err := n.ring.OpenPort(p, self.PID, shm.RoleRead|shm.RoleWrite); err != nil {
		dev.Close()
		return err
	}
	port, err := n.ring.Port(p)
	if err != nil {
		dev.Close()
		return err
	}
	// The pump dispatches outside n.mu, so it sees the network's capacity,
	// not its current number of ports, as members do.
	pp := &pumpPort{port: port, dispatch: dispatch.SenderFunc(n.pol, n.ring)}
	ctx, cancel := context.WithCancel(n.srv.ctx)
	run := &pumpRun{cancel: cancel, done: make(chan struct{})}
	f.port, f.pump = p, run
	n.ports[p] = &member{srv: n.srv, creds: self, net: n, port: p, roles: shm.RoleRead | shm.RoleWrite,
		descr: f.kind + " " + f.name() + " (pumped by ipnd)", iface: f}
	n.portLive(p) // a new port when the old one could not be reclaimed
	n.notify()
	n.srv.log.Info("pumping persistent interface", "path", n.path, "port", p, "name", f.name())
	mtu := n.opts.MTU
	n.srv.start("pump", func() {
		err := netdev.Pump(ctx, dev, pp, mtu)
		close(run.done)
		if ctx.Err() == nil {
			n.pumpEnded(f, run, err)
		}
	})
	return nil
}

// pumpEnded cleans up after a pump that stopped by itself: the interface
// went away, say.
func (n *network) pumpEnded(f *iface, run *pumpRun, err error) {
	n.mu.Lock()
	last := false
	if f.pump == run && !n.ended {
		n.srv.log.Warn("persistent interface stopped", "name", f.name(), "err", err)
		n.dropPump(f)
		n.release(f)
		n.notify()
		last = n.nodes() == 0 && !n.persistent
	}
	n.mu.Unlock()
	if last {
		n.srv.endNet(n)
	}
}

// dropPump is stopPump for an interface node that goes, port and all:
// the policy hears of the port's end. n.mu must be held.
func (n *network) dropPump(f *iface) error {
	p := f.port
	n.portGoing(p)
	err := n.stopPump(f)
	if n.ports[p] == nil {
		n.portGone(p)
	}
	return err
}

// stopPump stops the coordinator pumping f and frees its port, which the
// policy still sees live (a take-over keeps it). n.mu must be held.
func (n *network) stopPump(f *iface) error {
	run := f.pump
	if run == nil {
		return nil
	}
	f.pump = nil
	run.cancel()
	<-run.done
	n.ring.MarkDying(f.port)
	ctx, cancel := context.WithTimeout(context.Background(), reclaimWait)
	defer cancel()
	if _, err := n.ring.Reclaim(ctx, f.port, 0); err != nil {
		// Only the pump used the port, and it has stopped: a failure
		// here is damage, not a member in a step.
		return fmt.Errorf("interface %s: reclaim port %d: %w", f.name(), f.port, err)
	}
	n.ports[f.port] = nil
	return nil
}

// pumpPort is the coordinator's port as the node side of a pump. tx is
// the slot lent by AllocSlot, view the one lent by RecvSlot: each side has
// its own goroutine.
type pumpPort struct {
	port     *ring.Port
	dispatch func(*ring.Delivery)
	tx       ring.Tx
	view     ring.View
}

var _ netdev.SlotPort = (*pumpPort)(nil)

func (p *pumpPort) Send(b []byte) error {
	_, err := p.port.SendWith(b, 0, true, time.Time{}, p.dispatch)
	return err
}

func (p *pumpPort) Recv(b []byte) (int, error) {
	for {
		k, info, err := p.port.Recv(b, time.Time{})
		if err != nil || !info.OOB { // notices are for processes
			return k, err
		}
	}
}

func (p *pumpPort) TryRecv(b []byte) (int, error) {
	for {
		k, info, err := p.port.TryRecv(b)
		if err != nil || !info.OOB {
			return k, err
		}
	}
}

func (p *pumpPort) Close() error { p.port.Close(); return nil }

func (p *pumpPort) AllocSlot() ([]byte, error) {
	t, err := p.port.Alloc(time.Time{})
	p.tx = t
	return t.Buf, err
}

func (p *pumpPort) SubmitSlot(n int) error {
	_, err := p.port.SubmitWith(p.tx, n, 0, p.dispatch)
	return err
}

func (p *pumpPort) AbortSlot() { p.port.Abort(p.tx) }

func (p *pumpPort) RecvSlot() ([]byte, error) {
	for {
		v, err := p.port.RecvView(time.Time{})
		if err != nil {
			return nil, err
		}
		if !v.OOB { // notices are for processes
			p.view = v
			return v.Data, nil
		}
		p.port.Release(v)
	}
}

func (p *pumpPort) ReleaseSlot() { p.port.Release(p.view) }
