package netdev

import (
	"fmt"
	"net"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// grab is a real interface taken over with a raw AF_PACKET socket bound to
// it (SPEC D2): frames it receives enter the network, frames for its port
// leave through it, as a port of a bridge.
type grab struct {
	name   string
	fd     int
	closed atomic.Bool
}

var _ Device = (*grab)(nil)

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Grab takes over the interface called name. The kernel checks CAP_NET_RAW;
// the interface is put in promiscuous mode, as a bridge port is, while the
// device is open.
func Grab(name string) (Device, error) {
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		return nil, fmt.Errorf("netdev: grab %s: %w", name, err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return nil, fmt.Errorf("netdev: grab %s: packet socket: %w", name, err)
	}
	ok := false
	defer func() {
		if !ok {
			unix.Close(fd)
		}
	}()
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifc.Index}); err != nil {
		return nil, fmt.Errorf("netdev: grab %s: bind: %w", name, err)
	}
	mreq := unix.PacketMreq{Ifindex: int32(ifc.Index), Type: unix.PACKET_MR_PROMISC}
	if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
		return nil, fmt.Errorf("netdev: grab %s: promiscuous mode: %w", name, err)
	}
	// Frames this socket sends must not come back to it as received.
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1); err != nil {
		return nil, fmt.Errorf("netdev: grab %s: %w", name, err)
	}
	// Reads wake up now and then to notice Close, which does not interrupt
	// a blocked read of a packet socket.
	tv := unix.Timeval{Usec: 200000}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return nil, fmt.Errorf("netdev: grab %s: %w", name, err)
	}
	ok = true
	return &grab{name: name, fd: fd}, nil
}

func (g *grab) Name() string { return g.name }

// Read returns the next frame the interface received.
func (g *grab) Read(b []byte) (int, error) {
	for {
		if g.closed.Load() {
			return 0, net.ErrClosed
		}
		n, _, err := unix.Recvfrom(g.fd, b, 0)
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		return n, err
	}
}

// Write sends a frame out of the interface.
func (g *grab) Write(b []byte) (int, error) { return unix.Write(g.fd, b) }

// Close gives the interface back (the kernel drops promiscuous mode with
// the socket).
func (g *grab) Close() error {
	if g.closed.Swap(true) {
		return net.ErrClosed
	}
	return unix.Close(g.fd)
}
