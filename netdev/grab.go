package netdev

import (
	"fmt"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// packetDev is a real interface taken over with a raw AF_PACKET socket
// bound to it (SPEC D2): frames it receives enter the network, frames for
// its port leave through it, as a port of a bridge. The socket is
// non-blocking and driven by Go's poller; frames move with recvmmsg and
// sendmmsg, a batch per system call.
//
// Frames come and go after a virtio-net header (PACKET_VNET_HDR), as with an
// offloading TAP: a real interface or a veth hands its packet sockets TCP
// segments of up to 64 KiB that GRO or the sender's segmentation offload
// left whole, with checksums not yet filled in. The header says so: the
// device completes the checksums, and the pump cuts a segment longer than
// the network's MTU (SegmentTCP). Frames the network sends longer than the
// interface's MTU go with a header asking the kernel to cut them.
type packetDev struct {
	name    string
	f       *os.File
	rc      syscall.RawConn
	vnet    bool
	linkMTU int
	rx      mmsgs // for ReadBatch, one goroutine at a time
	tx      mmsgs // for WriteBatch, one goroutine at a time
}

var _ Device = (*packetDev)(nil)

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Grab takes over the interface called name. The kernel checks CAP_NET_RAW;
// the interface is put in promiscuous mode, as a bridge port is, for as
// long as the socket is open (by this process or the coordinator).
func Grab(name string) (Device, error) {
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		return nil, fmt.Errorf("netdev: grab %s: %w", name, err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return nil, fmt.Errorf("netdev: grab %s: packet socket: %w", name, err)
	}
	if err := bindPacket(fd, ifc.Index); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netdev: grab %s: %w", name, err)
	}
	return newPacketDev(name, os.NewFile(uintptr(fd), name))
}

func bindPacket(fd, index int) error {
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: index}); err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	mreq := unix.PacketMreq{Ifindex: int32(index), Type: unix.PACKET_MR_PROMISC}
	if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
		return fmt.Errorf("promiscuous mode: %w", err)
	}
	// Frames this socket sends must not come back to it as received.
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1); err != nil {
		return err
	}
	// Room for a burst of coalesced 64 KiB segments: the kernel drops what
	// does not fit while the pump is busy. Beyond net.core.rmem_max only
	// with CAP_NET_ADMIN; the plain limit otherwise.
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, grabRcvBuf) != nil {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, grabRcvBuf)
	}
	return unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1)
}

// grabRcvBuf is a grabbed interface's receive buffer: 64 segments of 64 KiB.
const grabRcvBuf = 4 << 20

// newPacketDev wraps f, a non-blocking packet socket bound to the
// interface; it owns f.
func newPacketDev(name string, f *os.File) (*packetDev, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("netdev: grab %s: %w", name, err)
	}
	d := &packetDev{name: name, f: f, rc: rc, linkMTU: defaultLinkMTU}
	if v, err := unix.GetsockoptInt(control(rc), unix.SOL_PACKET, unix.PACKET_VNET_HDR); err == nil && v != 0 {
		d.vnet = true
	}
	if ifc, err := net.InterfaceByName(name); err == nil && ifc.MTU > 0 {
		d.linkMTU = ifc.MTU
	}
	d.rx.init(d.recvReady)
	d.tx.init(d.sendReady)
	return d, nil
}

func (d *packetDev) Name() string { return d.name }
func (d *packetDev) Kind() string { return KindGrab }
func (d *packetDev) FD() int      { return control(d.rc) }
func (d *packetDev) Headroom() int {
	if d.vnet {
		return vnetHdrLen
	}
	return 0
}

// MaxFrame is the longest frame the interface may hand over: a coalesced
// TCP segment of 64 KiB, with a virtio-net header.
func (d *packetDev) MaxFrame() int {
	if d.vnet {
		return OffloadMTU
	}
	return 0
}

// Close gives the interface back (the kernel drops promiscuous mode with
// the last descriptor of the socket).
func (d *packetDev) Close() error { return d.f.Close() }

// ReadBatch receives every frame that is ready, up to the batch's size, in
// one recvmmsg, waiting for the first.
func (d *packetDev) ReadBatch(b *Batch) error {
	d.rx.loadRecv(b)
	if err := d.rc.Read(d.rx.fn); err != nil {
		return err
	}
	if d.rx.err != nil {
		return d.rx.err
	}
	// Keep the frames that came whole, with their checksums completed.
	b.N = 0
	for i := 0; i < d.rx.done; i++ {
		n := d.rx.len(i) - b.Head
		if d.rx.truncated(i) || n <= 0 {
			continue // longer than any frame we take: dropped
		}
		if b.N != i {
			b.Bufs[b.N], b.Bufs[i] = b.Bufs[i], b.Bufs[b.N]
		}
		b.Lens[b.N] = n
		if d.vnet {
			complete(b.Frame(b.N), b.Bufs[b.N][:b.Head])
		}
		b.N++
	}
	return nil
}

func (d *packetDev) recvReady(fd uintptr) bool {
	n, err := d.rx.call(fd, unix.SYS_RECVMMSG, unix.MSG_DONTWAIT)
	switch {
	case err == unix.EAGAIN:
		return false
	case err == unix.EINTR:
		return d.recvReady(fd)
	}
	d.rx.done, d.rx.err = n, err
	return true
}

// WriteBatch sends the batch's frames with sendmmsg, as many as the socket
// takes per call, dropping a frame the interface refuses because it is
// down or the frame too long.
func (d *packetDev) WriteBatch(b *Batch) error {
	if d.vnet {
		for i := 0; i < b.N; i++ {
			// A frame the kernel cannot cut goes with an empty header,
			// and the kernel refuses it if it is too long (dropped below).
			segmentHeader(b.Bufs[i][:b.Head], b.Frame(i), d.linkMTU, true)
		}
	}
	for sent := 0; sent < b.N; {
		d.tx.loadSend(b, sent)
		if err := d.rc.Write(d.tx.fn); err != nil {
			return err
		}
		switch err := d.tx.err; {
		case err == nil:
			sent += d.tx.done
		case dropped(err):
			sent++ // the frame at the head was refused: drop it
		default:
			return err
		}
	}
	return nil
}

func (d *packetDev) sendReady(fd uintptr) bool {
	n, err := d.tx.call(fd, unix.SYS_SENDMMSG, unix.MSG_DONTWAIT)
	switch {
	case err == unix.EAGAIN:
		return false
	case err == unix.EINTR:
		return d.sendReady(fd)
	}
	d.tx.done, d.tx.err = n, err
	return true
}
