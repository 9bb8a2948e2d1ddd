package coordinator

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/ipn-project/ipn/wire"
	"math/bits"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipn-project/ipn/dispatch"
	"github.com/ipn-project/ipn/plane"
	"github.com/ipn-project/ipn/ring"
	"github.com/ipn-project/ipn/shm"
)

// noticePort is the coordinator's own port in every network, the last;
// userMask has a bit for each of the others.
const (
	noticePort        = shm.MaxPorts - 1
	userMask   uint64 = 1<<noticePort - 1
)

// segSeq numbers the segments this coordinator creates.
var segSeq atomic.Uint64

// reclaimWait bounds one reclaim of a departed member's port.
const reclaimWait = 10 * time.Second

// network is one live network. Its fields are guarded by mu.
type network struct {
	srv   *Server
	mu    sync.Mutex
	key   netKey
	inode int // O_PATH descriptor of the network's file, held until end
	path  string

	policy     wire.Policy
	pol        dispatch.Policy
	dnet       dispatch.Net
	opts       wire.Options
	persistent bool

	data   *plane.Plane
	ring   *ring.Network
	notice *ring.Port // the coordinator's own port, for OOB notices
	users  int        // ports members may take: 0..users-1

	ports       []*member // by port; nil when free
	bound       map[*member]bool
	ended       bool
	noticeDrops int
	hooks       hookState // what the policy was told (hooks.go)
}

// handoff fills resp with what the member m on port p gets of the ports in
// only (its own always): the descriptors of the memory objects and
// eventfds its roles need, and their description. n.mu must be held.
func (n *network) handoff(m *member, p int, only uint64, resp *wire.Response) ([]int, error) {
	h, done, err := n.data.Handoff(p, only)
	if err != nil {
		return nil, err
	}
	m.sent = done
	resp.Handover, resp.NumFDs = &h.Grant, len(h.FDs)
	return h.FDs, nil
}

// fetch answers a member's request for the objects of ports that appeared
// after it joined (package ring asks when the network generation moves).
func (m *member) fetch(req *wire.Request) (*wire.Response, []int, error) {
	n := m.net
	if n == nil {
		return nil, nil, fmt.Errorf("node not connected: %w", syscall.ENOTCONN)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if m.port < 0 || n.ended {
		return nil, nil, fmt.Errorf("node not connected: %w", syscall.ENOTCONN)
	}
	resp := &wire.Response{Port: m.port, Roles: m.roles}
	fds, err := n.handoff(m, m.port, req.Ports, resp)
	if err != nil {
		return nil, nil, err
	}
	return resp, fds, nil
}

func (m *member) create(req *wire.Request, in []int) (*wire.Response, error) {
	s := m.srv
	if m.net != nil {
		return nil, fmt.Errorf("node already bound to %s: %w", m.net.path, syscall.EISCONN)
	}
	if req.Policy == dispatch.Any {
		return nil, fmt.Errorf("a network cannot be created with policy ANY: %w", syscall.EPROTONOSUPPORT)
	}
	pol, err := dispatch.Lookup(int(req.Policy))
	if err != nil {
		return nil, fmt.Errorf("policy %d is not available: %w", req.Policy, err)
	}
	if !filepath.IsAbs(req.Path) {
		return nil, fmt.Errorf("network path %q is not absolute: %w", req.Path, syscall.EINVAL)
	}
	caller, err := callerFile(req, in)
	if err != nil {
		return nil, err
	}
	// Hold the inode for the network's life: its number is the network's
	// key, and a file system may give the number of a removed inode to a
	// new file; an open descriptor keeps the inode, and so the number.
	// The coordinator opens the path itself only to learn that it names
	// the inode the caller showed it (so messages and the removal at the
	// end name the right file).
	inode, err := unix.Open(req.Path, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", req.Path, err)
	}
	ok := false
	defer func() {
		if !ok {
			unix.Close(inode)
		}
	}()
	var st unix.Stat_t
	if err := unix.Fstat(inode, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", req.Path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK || st.Dev != caller.Dev || st.Ino != caller.Ino {
		return nil, fmt.Errorf("%s is not the socket the caller created: %w", req.Path, syscall.EINVAL)
	}
	if st.Uid != m.creds.UID && m.creds.UID != 0 {
		return nil, fmt.Errorf("%s belongs to uid %d, not the caller: %w", req.Path, st.Uid, syscall.EPERM)
	}
	o := req.Opts
	if o.NumNodes == 0 {
		o.NumNodes = shm.DefaultPorts
	}
	if o.NumNodes < 1 || o.NumNodes > shm.MaxPorts-1 {
		return nil, fmt.Errorf("%d nodes: want 1..%d: %w", o.NumNodes, shm.MaxPorts-1, syscall.EINVAL)
	}
	// Room for every port a network may grow to (ChangeNumNodes), and one
	// more, the last, for the coordinator's notices.
	area := 0
	if as, ok := pol.(dispatch.AreaSizer); ok {
		area = as.AreaSize(shm.MaxPorts)
	}
	stallMS, err := streamOptions(o)
	if err != nil {
		return nil, err
	}
	g := shm.Derive(shm.Options{MTU: o.MTU, Ports: o.NumNodes + 1, Pool: o.Pool, Lossless: o.Lossless,
		Capacity: shm.MaxPorts, Policy: area, History: o.History, StallMS: stallMS})
	if err := g.Validate(); err != nil {
		return nil, err
	}
	o.MTU, o.Pool = g.MTU, g.Pool
	key := netKey{st.Dev, st.Ino}
	s.mu.Lock()
	_, taken := s.nets[key]
	s.mu.Unlock()
	if taken {
		return nil, fmt.Errorf("%s: %w", req.Path, syscall.EADDRINUSE)
	}
	name := fmt.Sprintf("%s%d-%d-%d-%d", segPrefix, os.Getpid(), st.Dev, st.Ino, segSeq.Add(1))
	data, err := plane.Create(name, g)
	if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
		return nil, fmt.Errorf("coordinator out of file descriptors (limit %s) for network %s, which needs %d: %w",
			nofileLimit(), req.Path, 2, err)
	}
	if err != nil {
		return nil, err
	}
	rn := data.Net
	n := &network{
		srv: s, key: key, inode: inode, path: req.Path, policy: req.Policy, pol: pol, opts: o,
		persistent: req.Persist, data: data, ring: rn, users: o.NumNodes,
		ports: make([]*member, shm.MaxPorts-1), bound: map[*member]bool{},
	}
	if err := rn.OpenPort(noticePort, os.Getpid(), shm.RoleWrite); err != nil {
		data.Close()
		return nil, err
	}
	n.dnet = dispatch.NetOf(rn, func() int { return n.users })
	if n.notice, err = rn.Port(noticePort); err != nil {
		data.Close()
		return nil, err
	}
	if err := n.startNet(); err != nil {
		data.Close()
		return nil, err
	}
	s.mu.Lock()
	s.nets[key] = n
	s.mu.Unlock()
	ok = true
	n.mu.Lock()
	m.net, m.bound = n, true
	n.bound[m] = true
	info := n.info()
	n.mu.Unlock()
	s.log.Info("network created", "path", req.Path, "policy", req.Policy, "nodes", o.NumNodes,
		"mtu", o.MTU, "pool", o.Pool, "lossless", o.Lossless, "uid", m.creds.UID)
	return &wire.Response{Net: &info}, nil
}

func (m *member) join(req *wire.Request, in []int) (*wire.Response, []int, error) {
	if !req.Bind && !req.Connect {
		return nil, nil, fmt.Errorf("join asks for neither bind nor connect: %w", syscall.EINVAL)
	}
	n, st, err := m.srv.lookup(req, in)
	if err != nil {
		return nil, nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ended {
		return nil, nil, fmt.Errorf("%s ended: %w", req.Path, syscall.ECONNREFUSED)
	}
	if m.net != nil && m.net != n {
		return nil, nil, fmt.Errorf("node already bound to %s: %w", m.net.path, syscall.EISCONN)
	}
	if req.Policy != dispatch.Any && req.Policy != n.policy {
		return nil, nil, fmt.Errorf("network %s has policy %d, node asked for %d: %w", req.Path, n.policy, req.Policy, syscall.EPROTO)
	}
	if len(req.Descr) > wire.MaxDescr {
		return nil, nil, fmt.Errorf("description of %d bytes, at most %d: %w", len(req.Descr), wire.MaxDescr, syscall.EINVAL)
	}
	if req.Connect && m.port >= 0 {
		return nil, nil, fmt.Errorf("node already connected: %w", syscall.EISCONN)
	}
	if req.Bind && !m.bound {
		if err := Check(m.creds, st, AccessExec); err != nil {
			return nil, nil, err
		}
	}
	var roles uint32
	if req.Connect {
		if roles, err = connectRoles(m, st, req.Path); err != nil {
			return nil, nil, err
		}
		if req.Roles != 0 {
			if roles &= req.Roles; roles == 0 {
				return nil, nil, fmt.Errorf("connect to %s: the roles asked for are none the permissions give: %w", req.Path, syscall.EACCES)
			}
		}
	}
	resp := &wire.Response{Port: -1}
	var fds []int
	if req.Connect {
		p, err := n.newPort(req.Port)
		if err != nil {
			return nil, nil, err
		}
		if fds, err = n.connectAt(m, p, roles, req, resp); err != nil {
			return nil, nil, err
		}
		n.portLive(p)
	}
	if req.Bind {
		m.bound = true
		n.bound[m] = true
	}
	m.net = n
	info := n.info()
	resp.Net = &info
	if req.Connect {
		n.notify()
	}
	return resp, fds, nil
}

// connectRoles is what m may do on the network whose file is st: receive
// if it may read it, send if it may write it (N4).
func connectRoles(m *member, st *unix.Stat_t, path string) (uint32, error) {
	var roles uint32
	if Check(m.creds, st, AccessRead) == nil {
		roles |= shm.RoleRead
	}
	if Check(m.creds, st, AccessWrite) == nil {
		roles |= shm.RoleWrite
	}
	if roles == 0 {
		return 0, fmt.Errorf("connect to %s needs read or write permission: %w", path, syscall.EACCES)
	}
	return roles, nil
}

// connectAt connects m on port p, free, and fills resp; it returns the
// descriptors m gets. n.mu must be held.
func (n *network) connectAt(m *member, p int, roles uint32, req *wire.Request, resp *wire.Response) ([]int, error) {
	if req.Lossy && roles&shm.RoleRead != 0 {
		roles |= shm.RoleLossy
	}
	if err := n.ring.OpenPort(p, m.creds.PID, roles); err != nil {
		return nil, err
	}
	n.ports[p] = m
	m.port, m.roles, m.descr, m.wantOOB = p, roles, req.Descr, req.WantOOB
	resp.Port, resp.Roles = p, roles
	return n.handoff(m, p, ^uint64(0), resp)
}

// newPort picks the port for a connecting node through the policy's
// new-port hook.
func (n *network) newPort(want int) (int, error) {
	if want != wire.AnyPort && (want < 0 || want >= n.users) {
		return 0, fmt.Errorf("port %d out of range 0..%d: %w", want, n.users-1, syscall.EADDRNOTAVAIL)
	}
	var free uint64
	for p, o := range n.ports[:n.users] {
		if o == nil {
			free |= 1 << p
		}
	}
	p, err := n.pol.NewPort(n.dnet, want, free)
	if err != nil {
		return 0, fmt.Errorf("network %s (%d nodes): %w", n.path, n.users, err)
	}
	if p < 0 || p >= n.users || n.ports[p] != nil {
		return 0, fmt.Errorf("policy %s chose port %d, which is not free: %w", n.pol.Name(), p, syscall.EADDRNOTAVAIL)
	}
	return p, nil
}

func (m *member) setRoles(req *wire.Request) (*wire.Response, error) {
	n := m.net
	if n == nil {
		return nil, fmt.Errorf("node not connected: %w", syscall.ENOTCONN)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if m.port < 0 {
		return nil, fmt.Errorf("node not connected: %w", syscall.ENOTCONN)
	}
	m.roles &= req.Roles | shm.RoleLossy
	n.ring.SetRoles(m.port, m.roles)
	n.notify()
	return &wire.Response{Port: m.port, Roles: m.roles}, nil
}

// resize changes the number of ports (IPN_SO_CHANGE_NUMNODES): a managing
// (bound) node may grow it up to the network's capacity or shrink it down
// to its highest port in use.
func (m *member) resize(req *wire.Request) (*wire.Response, error) {
	n := m.net
	if n == nil || !m.bound {
		return nil, fmt.Errorf("only a bound node may change the number of ports: %w", syscall.EPERM)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	k := req.NumNodes
	if k < 1 || k > len(n.ports) {
		return nil, fmt.Errorf("%d ports: want 1..%d: %w", k, len(n.ports), syscall.EINVAL)
	}
	for p := k; p < n.users; p++ {
		if n.ports[p] != nil {
			return nil, fmt.Errorf("port %d is in use: %w", p, syscall.EBUSY)
		}
	}
	if err := n.resizeNet(k); err != nil {
		return nil, err
	}
	n.users = k
	n.opts.NumNodes = k
	n.srv.log.Info("network resized", "path", n.path, "nodes", k)
	info := n.info()
	return &wire.Response{Net: &info}, nil
}

// policyOption sets (bound nodes only: IPN's setsockopt of a managing
// socket) or reads an option of the network's policy for a port.
func (m *member) policyOption(req *wire.Request) (*wire.Response, error) {
	n := m.net
	if n == nil {
		return nil, fmt.Errorf("node neither bound nor connected: %w", syscall.ENOTCONN)
	}
	if req.OptSet && !m.bound {
		return nil, fmt.Errorf("only a bound node may set policy options: %w", syscall.EPERM)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	o, ok := n.pol.(dispatch.Optioner)
	if !ok {
		return nil, fmt.Errorf("policy %s has no options: %w", n.pol.Name(), syscall.ENOPROTOOPT)
	}
	if req.Port < 0 || req.Port >= n.users {
		return nil, fmt.Errorf("port %d out of range 0..%d: %w", req.Port, n.users-1, syscall.EINVAL)
	}
	if req.OptSet {
		if err := o.SetOption(n.dnet, req.Port, req.OptName, []byte(req.OptValue)); err != nil {
			return nil, err
		}
		n.srv.log.Info("policy option", "path", n.path, "port", req.Port, "name", req.OptName, "value", req.OptValue)
		return &wire.Response{}, nil
	}
	v, err := o.Option(n.dnet, req.Port, req.OptName)
	if err != nil {
		return nil, err
	}
	return &wire.Response{OptValue: string(v)}, nil
}

func (m *member) options() (*wire.Response, error) {
	n := m.net
	if n == nil {
		return nil, fmt.Errorf("node neither bound nor connected: %w", syscall.ENOTCONN)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	info := n.info()
	return &wire.Response{Net: &info, Port: m.port, Roles: m.roles}, nil
}

// leave releases everything the member held, after it closed its control
// connection or died.
func (m *member) leave() {
	n := m.net
	if n == nil {
		return
	}
	if m.port >= 0 {
		// At once, without the network's lock: a reclaim of another
		// member running meanwhile must not wait for this one's steps.
		// Only this goroutine writes m.port.
		n.ring.MarkDying(m.port)
		// Receivers read what a sender left, without the network's
		// lock: they may take a while, and may need the coordinator
		// meanwhile (to fetch the sender's objects).
		ctx, cancel := waitCtx()
		n.ring.Drain(ctx, m.port, 0)
		cancel()
	}
	n.mu.Lock()
	if p := m.port; p >= 0 {
		// A persistent interface node stays on its port if it can.
		keep := m.iface != nil && m.iface.persist && !n.ended
		if !keep {
			n.portGoing(p)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // drained above, or given up on: free at once
		freed, err := n.ring.Reclaim(ctx, m.port, 0)
		n.srv.counters.reclaimed(freed, err)
		if err != nil {
			// A live member stopped inside a step: keep the port
			// reserved, so nothing reuses what it may still hold, and
			// try again later.
			n.srv.log.Error("reclaim", "path", n.path, "port", m.port, "err", err)
			n.portGoing(p) // p goes when a retry reclaims it
			n.srv.start("reclaim", func() { n.retryReclaim(p, m) })
		} else {
			n.ports[m.port] = nil
		}
		if f := m.iface; f != nil {
			m.iface = nil
			n.orphan(f, err == nil)
		}
		if n.ports[p] == nil { // not kept by an interface's pump
			n.portGone(p)
		}
		m.port = -1
		n.notify()
	}
	delete(n.bound, m)
	m.net = nil
	last := n.nodes() == 0 && !n.persistent
	n.mu.Unlock()
	if last {
		n.srv.endNet(n)
	}
}

// retryReclaim reclaims port p, held by the departed member m, until it
// succeeds, the network ends or the coordinator closes, then frees the
// port.
func (n *network) retryReclaim(p int, m *member) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
		case <-n.srv.ctx.Done():
			return
		}
		n.mu.Lock()
		if n.ended {
			n.mu.Unlock()
			return
		}
		ctx, cancel := waitCtx()
		freed, err := n.ring.Reclaim(ctx, p, 0)
		cancel()
		n.srv.counters.reclaimed(freed, err)
		if err == nil {
			if n.ports[p] == m {
				n.ports[p] = nil
				n.portGone(p)
			}
			last := n.nodes() == 0 && !n.persistent
			n.mu.Unlock()
			if last {
				n.srv.endNet(n)
			}
			return
		}
		n.mu.Unlock()
	}
}

// reachable reports whether c may reach the network's file where it now
// lies (see mayReach): the path of the coordinator's own descriptor of
// it, which follows renames and has no symbolic links. n.mu must be held
// and n not ended.
func (n *network) reachable(c Creds) bool {
	if c.UID == 0 {
		return true
	}
	p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(n.inode))
	return err == nil && mayReach(c, p)
}

// nodes counts the bound or connected members.
func (n *network) nodes() int {
	k := len(n.bound)
	for _, o := range n.ports {
		if o != nil && !n.bound[o] {
			k++
		}
	}
	return k
}

// endNet removes n from the registry and frees it.
func (s *Server) endNet(n *network) {
	s.mu.Lock()
	if s.nets[n.key] == n {
		delete(s.nets, n.key)
		if len(s.nets) == 0 {
			s.quiet = time.Now()
		}
	}
	s.mu.Unlock()
	n.end()
	s.log.Info("network ended", "path", n.path)
}

// end frees the network's memory and removes its socket file if it is still
// the same inode.
func (n *network) end() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ended {
		return
	}
	n.ended = true
	n.eachLive(n.portGoing)
	for _, o := range n.ports {
		if o != nil && o.iface != nil && o.iface.pump != nil {
			n.stopPump(o.iface)
			n.release(o.iface)
		}
	}
	n.endHooks()
	var st unix.Stat_t
	if unix.Lstat(n.path, &st) == nil && st.Dev == n.key.dev && st.Ino == n.key.ino {
		os.Remove(n.path)
	}
	n.data.Close()
	unix.Close(n.inode) // last: the key stays ours until the segment is gone
}

// notify sends the numnodes notice (IPN_OOB_NUMNODE_TAG) to every node
// that asked for it: {level, tag, numreaders, numwriters} as four
// little-endian 32-bit integers.
func (n *network) notify() {
	var to uint64
	for p, o := range n.ports {
		if o != nil && o.wantOOB {
			to |= 1 << p
		}
	}
	if to == 0 {
		return
	}
	tx, err := n.notice.TryAlloc()
	if err != nil {
		n.noticeDrops++
		return
	}
	b := tx.Buf[:16]
	binary.LittleEndian.PutUint32(b[0:], 0) // level: IPN_ANY
	binary.LittleEndian.PutUint32(b[4:], 0) // tag: IPN_OOB_NUMNODE_TAG
	binary.LittleEndian.PutUint32(b[8:], uint32(bits.OnesCount64(n.ring.Readers()&userMask)))
	binary.LittleEndian.PutUint32(b[12:], uint32(bits.OnesCount64(n.ring.Writers()&userMask)))
	n.notice.SubmitOOB(tx, 16, to)
}

// info describes the network. n.mu must be held.
func (n *network) info() wire.NetInfo {
	inUse := 0
	for _, o := range n.ports {
		if o != nil {
			inUse++
		}
	}
	return wire.NetInfo{
		Path: n.path, Policy: n.policy, Opts: n.opts, Persistent: n.persistent,
		Ports: inUse, Bound: len(n.bound), PoolInUse: n.ring.InUse(),
		Readers: bits.OnesCount64(n.ring.Readers() & userMask),
		Writers: bits.OnesCount64(n.ring.Writers() & userMask),
	}
}

// list describes the networks c may reach (see mayReach): a network in a
// directory c may not search is not named to it.
func (s *Server) list(c Creds) *wire.Response {
	resp := &wire.Response{Nets: []wire.NetInfo{}}
	s.eachNet(func(n *network) {
		if n.reachable(c) {
			resp.Nets = append(resp.Nets, n.info())
		}
	})
	return resp
}

func (s *Server) stat(req *wire.Request, in []int) (*wire.Response, error) {
	n, _, err := s.lookup(req, in)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	info := n.info()
	resp := &wire.Response{Net: &info, Ports: n.portInfos()}
	if d, ok := n.pol.(dispatch.Describer); ok {
		resp.PolicyInfo = d.Describe(n.dnet)
	}
	return resp, nil
}

// portInfos describes every port in use. The caller holds n.mu.
func (n *network) portInfos() []wire.PortInfo {
	ports := []wire.PortInfo{}
	for p, o := range n.ports {
		if o == nil {
			continue
		}
		st := n.ring.Stats(p)
		ports = append(ports, wire.PortInfo{
			Port: p, Descr: o.descr, PID: o.creds.PID, UID: o.creds.UID,
			Read: o.roles&shm.RoleRead != 0, Write: o.roles&shm.RoleWrite != 0,
			Lossy: o.roles&shm.RoleRead != 0 && st.Roles&shm.RoleLossy != 0,
			Sent:  st.Sent, SentBytes: st.SentBytes, Received: st.Received, ReceivedBytes: st.ReceivedBytes,
			Dropped: st.Drops, Blocked: st.Blocked, HopDrops: st.HopDrops, Queued: st.Queued,
		})
		if o.iface != nil {
			ports[len(ports)-1].Iface = o.iface.info()
		}
	}
	return ports
}

func (m *member) destroy(req *wire.Request, in []int) (*wire.Response, error) {
	n, st, err := m.srv.lookup(req, in)
	if err != nil {
		return nil, err
	}
	if m.creds.UID != 0 && m.creds.UID != st.Uid {
		return nil, fmt.Errorf("only the owner of %s or root may destroy it: %w", req.Path, syscall.EPERM)
	}
	n.mu.Lock()
	n.persistent = false
	last := n.nodes() == 0
	n.mu.Unlock()
	if last {
		m.srv.endNet(n)
	}
	return &wire.Response{}, nil
}
