package vxlan

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Config says where an endpoint sends and what it takes. Immutable once
// given to Listen.
type Config struct {
	// Remote is the peer's address, or a multicast group to join.
	Remote netip.Addr
	// Port is the UDP port, both listened on and sent to (DefaultPort when
	// 0), as with the kernel's dstport.
	Port uint16
	// Local, when valid, is the address to listen on and send from: with a
	// group, the address of the interface to join it on.
	Local netip.Addr
	// Iface, when not empty, is the interface to join a group on.
	Iface string
	// VNI is the VXLAN network identifier, up to MaxVNI.
	VNI uint32
	// Hops carries ipn's hop depth in the header's last reserved byte,
	// for links between two ipn cables only (see the package doc).
	Hops bool
}

// Stats counts what an endpoint moved and dropped.
type Stats struct {
	Received  uint64 // frames taken
	Sent      uint64 // frames sent
	Malformed uint64 // datagrams dropped: too short, truncated, or without the VNI flag
	OtherVNI  uint64 // datagrams dropped: another VNI
	Strangers uint64 // datagrams dropped: from an address other than a unicast peer's
	Unsent    uint64 // frames the kernel refused to send (no route, too long)
}

// Endpoint is a VXLAN tunnel endpoint: a UDP socket driven by Go's poller.
// ReadBatch and WriteBatch may run concurrently, each from one goroutine at
// a time; Close ends both.
type Endpoint struct {
	cfg    Config
	f      *os.File
	rc     syscall.RawConn
	v6     bool
	group  bool
	remote sockaddr // the peer or the group, at Port
	rlen   uint32
	local  netip.AddrPort
	fdb    *fdb // where a group's members were heard from; nil with a peer
	rx, tx mmsgs
	to     []sockaddr // where WriteBatch sends each frame

	closed atomic.Bool

	received, sent, malformed, otherVNI, strangers, unsent atomic.Uint64
}

// rcvBuf is the socket's receive buffer: room for a burst of frames while
// the cable is busy handing the previous batch to the network.
const rcvBuf = 4 << 20

// Listen opens the endpoint cfg describes: it binds the UDP port (on Local
// with a peer; on every address with a group, which it joins) and is ready
// to move frames.
func Listen(cfg Config) (*Endpoint, error) {
	if cfg.Port == 0 {
		cfg.Port = DefaultPort
	}
	if !cfg.Remote.IsValid() || cfg.Remote.IsUnspecified() {
		return nil, fmt.Errorf("vxlan: remote %v: want a peer's address or a multicast group: %w", cfg.Remote, syscall.EINVAL)
	}
	if cfg.VNI > MaxVNI {
		return nil, fmt.Errorf("vxlan: VNI %d is more than 24 bits (at most %d): %w", cfg.VNI, MaxVNI, syscall.EINVAL)
	}
	cfg.Remote = cfg.Remote.Unmap()
	v6 := cfg.Remote.Is6()
	if cfg.Local.IsValid() {
		cfg.Local = cfg.Local.Unmap()
		if cfg.Local.Is6() != v6 {
			return nil, fmt.Errorf("vxlan: local address %v and remote %v are of different families: %w", cfg.Local, cfg.Remote, syscall.EINVAL)
		}
	}
	e := &Endpoint{cfg: cfg, v6: v6, group: cfg.Remote.IsMulticast()}
	e.remote, e.rlen = makeSockaddr(netip.AddrPortFrom(cfg.Remote, cfg.Port), v6)
	if e.group {
		e.fdb = newFDB()
	}
	fd, err := e.socket()
	if err != nil {
		return nil, fmt.Errorf("vxlan: remote %v port %d: %w", cfg.Remote, cfg.Port, err)
	}
	e.f = os.NewFile(uintptr(fd), "vxlan")
	if e.rc, err = e.f.SyscallConn(); err != nil {
		e.f.Close()
		return nil, fmt.Errorf("vxlan: %w", err)
	}
	e.rx.fn = e.recvReady
	e.tx.fn = e.sendReady
	return e, nil
}

// socket makes the endpoint's non-blocking UDP socket, bound and, with a
// group, joined.
func (e *Endpoint) socket() (fd int, err error) {
	fam := unix.AF_INET
	if e.v6 {
		fam = unix.AF_INET6
	}
	fd, err = unix.Socket(fam, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.IPPROTO_UDP)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			unix.Close(fd)
		}
	}()
	if e.v6 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1); err != nil {
			return -1, err
		}
	}
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvBuf) != nil {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvBuf)
	}
	// A group's datagrams reach only a socket bound to no unicast address.
	bindTo := netip.IPv4Unspecified()
	if e.v6 {
		bindTo = netip.IPv6Unspecified()
	}
	if e.cfg.Local.IsValid() && !e.group {
		bindTo = e.cfg.Local
	}
	var sa unix.Sockaddr = &unix.SockaddrInet4{Port: int(e.cfg.Port), Addr: bindTo.As4()}
	if e.v6 {
		sa = &unix.SockaddrInet6{Port: int(e.cfg.Port), Addr: bindTo.As16()}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return -1, fmt.Errorf("bind %v port %d: %w", bindTo, e.cfg.Port, err)
	}
	e.local = netip.AddrPortFrom(bindTo, e.cfg.Port)
	if e.group {
		if err := e.join(fd); err != nil {
			return -1, err
		}
	}
	ok = true
	return fd, nil
}

// join makes the socket a member of the group, on the interface Iface or
// the one with address Local if given, and keeps its own datagrams from
// coming back to it.
func (e *Endpoint) join(fd int) error {
	index := 0
	if e.cfg.Iface != "" {
		ifc, err := net.InterfaceByName(e.cfg.Iface)
		if err != nil {
			return fmt.Errorf("interface for the group: %w", err)
		}
		index = ifc.Index
	}
	if e.v6 {
		mreq := unix.IPv6Mreq{Multiaddr: e.cfg.Remote.As16(), Interface: uint32(index)}
		if err := unix.SetsockoptIPv6Mreq(fd, unix.IPPROTO_IPV6, unix.IPV6_JOIN_GROUP, &mreq); err != nil {
			return fmt.Errorf("join group %v: %w", e.cfg.Remote, err)
		}
		if index != 0 {
			if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_IF, index); err != nil {
				return err
			}
		}
		return unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_LOOP, 0)
	}
	mreq := unix.IPMreqn{Multiaddr: e.cfg.Remote.As4(), Ifindex: int32(index)}
	if e.cfg.Local.IsValid() {
		mreq.Address = e.cfg.Local.As4()
	}
	if err := unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_ADD_MEMBERSHIP, &mreq); err != nil {
		return fmt.Errorf("join group %v: %w", e.cfg.Remote, err)
	}
	if index != 0 || e.cfg.Local.IsValid() {
		ifreq := unix.IPMreqn{Address: mreq.Address, Ifindex: mreq.Ifindex}
		if err := unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_IF, &ifreq); err != nil {
			return err
		}
	}
	return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP, 0)
}

// LocalAddr is the address and port the endpoint listens on.
func (e *Endpoint) LocalAddr() netip.AddrPort { return e.local }

// Close closes the socket, ending a ReadBatch or WriteBatch under way with
// an error matching os.ErrClosed.
func (e *Endpoint) Close() error {
	e.closed.Store(true)
	return e.f.Close()
}

// pollErr is the error of a wait for the socket: os.ErrClosed once Close
// ended it (the poller's own error for that matches no exported one).
func (e *Endpoint) pollErr(err error) error {
	if e.closed.Load() {
		return fmt.Errorf("vxlan: %w", os.ErrClosed)
	}
	return err
}

// Stats returns the endpoint's counters.
func (e *Endpoint) Stats() Stats {
	return Stats{
		Received: e.received.Load(), Sent: e.sent.Load(), Malformed: e.malformed.Load(),
		OtherVNI: e.otherVNI.Load(), Strangers: e.strangers.Load(), Unsent: e.unsent.Load(),
	}
}

// Batch is a set of frame buffers that an endpoint fills or empties at
// once, each with room for a VXLAN header before its frame.
type Batch struct {
	Bufs [][]byte // header room and frame, each
	Lens []int    // Lens[i] is the length of frame i
	Hops []uint8  // Hops[i] is the hop depth frame i carries (Config.Hops)
	N    int      // frames in use
}

// NewBatch allocates a batch of n buffers for frames of up to size bytes.
func NewBatch(n, size int) *Batch {
	b := &Batch{Bufs: make([][]byte, n), Lens: make([]int, n), Hops: make([]uint8, n)}
	size += HeaderLen
	mem := make([]byte, n*size)
	for i := range b.Bufs {
		b.Bufs[i] = mem[i*size : (i+1)*size : (i+1)*size]
	}
	return b
}

// Frame returns frame i of the batch.
func (b *Batch) Frame(i int) []byte { return b.Bufs[i][HeaderLen : HeaderLen+b.Lens[i]] }

// Room returns buffer i's room for a frame.
func (b *Batch) Room(i int) []byte { return b.Bufs[i][HeaderLen:] }

// ReadBatch waits for a datagram, then receives it and every other one
// ready, up to the batch's size, in one recvmmsg, and keeps the frames of
// the endpoint's VNI from whom it takes them (the peer, or anyone with a
// group). b.N may be 0 when every datagram was dropped.
func (e *Endpoint) ReadBatch(b *Batch) error {
	m := &e.rx
	m.grow(len(b.Bufs))
	for i, buf := range b.Bufs {
		m.point(i, buf, sockaddr6Len)
	}
	m.n, m.done, m.err = len(b.Bufs), 0, nil
	if err := e.rc.Read(m.fn); err != nil {
		return e.pollErr(err)
	}
	if m.err != nil {
		return m.err
	}
	now := time.Now().Unix()
	b.N = 0
	for i := 0; i < m.done; i++ {
		if m.truncated(i) {
			e.malformed.Add(1)
			continue
		}
		h, frame, err := Decode(b.Bufs[i][:m.len(i)])
		switch {
		case err != nil:
			e.malformed.Add(1)
			continue
		case h.VNI != e.cfg.VNI:
			e.otherVNI.Add(1)
			continue
		case !e.group && !m.names[i].sameHost(&e.remote, e.v6):
			e.strangers.Add(1)
			continue
		}
		if e.group {
			// Members send to the group's port, whatever port they send from.
			m.names[i].setPort(e.cfg.Port)
			e.fdb.learn([6]byte(frame[6:12]), &m.names[i], now)
		}
		if b.N != i {
			b.Bufs[b.N], b.Bufs[i] = b.Bufs[i], b.Bufs[b.N]
		}
		b.Lens[b.N] = len(frame)
		b.Hops[b.N] = 0
		if e.cfg.Hops {
			b.Hops[b.N] = h.Hop
		}
		b.N++
	}
	e.received.Add(uint64(b.N))
	return nil
}

func (e *Endpoint) recvReady(fd uintptr) bool {
	n, err := e.rx.call(fd, unix.SYS_RECVMMSG, unix.MSG_DONTWAIT)
	switch {
	case err == unix.EAGAIN:
		return false
	case err == unix.EINTR:
		return e.recvReady(fd)
	}
	e.rx.done, e.rx.err = n, err
	return true
}

// WriteBatch sends the first b.N frames of b, each after a VXLAN header,
// with sendmmsg, as many as the socket takes per call: to the peer, or with
// a group to the member a frame's destination was learned at, else to the
// group. A frame the kernel refuses on its own (no route, too long) is
// dropped and counted, as a switch port drops what it cannot send.
func (e *Endpoint) WriteBatch(b *Batch) error {
	now := time.Now().Unix()
	m := &e.tx
	m.grow(len(b.Bufs))
	if len(e.to) < len(b.Bufs) {
		e.to = make([]sockaddr, len(b.Bufs))
	}
	for i := 0; i < b.N; i++ {
		var hop uint8
		if e.cfg.Hops {
			hop = b.Hops[i]
		}
		Header{VNI: e.cfg.VNI, Hop: hop}.Put(b.Bufs[i])
		e.to[i] = e.remote
		if e.group && b.Lens[i] >= ethHeaderLen {
			if at, ok := e.fdb.lookup([6]byte(b.Bufs[i][HeaderLen:HeaderLen+6]), now); ok {
				e.to[i] = at
			}
		}
	}
	for sent := 0; sent < b.N; {
		for i := sent; i < b.N; i++ {
			m.point(i-sent, b.Bufs[i][:HeaderLen+b.Lens[i]], e.rlen)
			m.names[i-sent] = e.to[i]
		}
		m.n, m.done, m.err = b.N-sent, 0, nil
		if err := e.rc.Write(m.fn); err != nil {
			return e.pollErr(err)
		}
		switch err := m.err; {
		case err == nil:
			sent += m.done
			e.sent.Add(uint64(m.done))
		case unsendable(err):
			sent++ // the frame at the head was refused: drop it
			e.unsent.Add(1)
		default:
			return err
		}
	}
	return nil
}

func (e *Endpoint) sendReady(fd uintptr) bool {
	n, err := e.tx.call(fd, unix.SYS_SENDMMSG, unix.MSG_DONTWAIT)
	switch {
	case err == unix.EAGAIN:
		return false
	case err == unix.EINTR:
		return e.sendReady(fd)
	}
	e.tx.done, e.tx.err = n, err
	return true
}

// unsendable reports a send refused for the frame at the head alone.
func unsendable(err error) bool {
	return errors.Is(err, syscall.EMSGSIZE) || errors.Is(err, syscall.ENETUNREACH) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ENETDOWN) || errors.Is(err, syscall.EPERM)
}
