// Package netdevtest holds fakes for testing what moves frames between an
// interface and a node (netdev.Pump): nodes in memory that implement
// netdev.Port and netdev.SlotPort, and an interface made of a socket pair.
package netdevtest

import (
	"encoding/binary"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ipn-project/ipn/netdev"
)

// ChanPort is a node in memory (netdev.Port): the first 8 bytes of every
// frame sent reach Sent, frames put in Inbox are received. It does not
// allocate per frame. Close ends receives with EBADF.
type ChanPort struct {
	Sent   chan uint64 // the first 8 bytes of each frame sent
	Inbox  chan []byte
	Closed chan struct{}
}

// NewChanPort returns a ChanPort with room for 16384 frames sent and 64
// waiting to be received.
func NewChanPort() *ChanPort {
	return &ChanPort{Sent: make(chan uint64, 1<<14), Inbox: make(chan []byte, 64), Closed: make(chan struct{})}
}

func (p *ChanPort) Send(b []byte) error {
	p.Sent <- binary.LittleEndian.Uint64(b)
	return nil
}

func (p *ChanPort) Recv(b []byte) (int, error) {
	select {
	case f := <-p.Inbox:
		return copy(b, f), nil
	case <-p.Closed:
		return 0, syscall.EBADF
	}
}

func (p *ChanPort) TryRecv(b []byte) (int, error) {
	select {
	case f := <-p.Inbox:
		return copy(b, f), nil
	default:
		return 0, syscall.EAGAIN
	}
}

func (p *ChanPort) Close() error { close(p.Closed); return nil }

// SeqpacketDev stands in for a TAP interface: one end of a SOCK_SEQPACKET
// socketpair keeps frame boundaries as a TAP descriptor does, and needs no
// privilege. host is the other end.
func SeqpacketDev(t *testing.T) (dev netdev.Device, host int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[1]) })
	dev, err = netdev.FromFD(netdev.KindTAP, "pair", fds[0])
	if err != nil {
		t.Fatal(err)
	}
	return dev, fds[1]
}

// SlotPort is ChanPort lending slots: frames submitted reach Sent, frames
// in Inbox are Lent.
type SlotPort struct {
	*ChanPort
	Slot     []byte
	Lent     int // slots Lent and not yet given back
	Released int
}

func NewSlotPort() *SlotPort { return &SlotPort{ChanPort: NewChanPort(), Slot: make([]byte, 2000)} }

func (p *SlotPort) AllocSlot() ([]byte, error) { p.Lent++; return p.Slot, nil }

func (p *SlotPort) SubmitSlot(n int) error { p.Lent--; return p.Send(p.Slot[:n]) }

func (p *SlotPort) AbortSlot() { p.Lent-- }

func (p *SlotPort) RecvSlot() ([]byte, error) {
	select {
	case f := <-p.Inbox:
		return f, nil
	case <-p.Closed:
		return nil, syscall.EBADF
	}
}

func (p *SlotPort) ReleaseSlot() { p.Released++ }
