package netdev

import (
	"bytes"
	"context"
	"encoding/binary"
	"runtime"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// chanPort is a node in memory: frames sent reach sent, frames put in
// inbox are received. It does not allocate per frame.
type chanPort struct {
	sent   chan uint64 // the first 8 bytes of each frame sent
	inbox  chan []byte
	closed chan struct{}
}

func newChanPort() *chanPort {
	return &chanPort{sent: make(chan uint64, 1<<14), inbox: make(chan []byte, 64), closed: make(chan struct{})}
}

func (p *chanPort) Send(b []byte) error {
	p.sent <- binary.LittleEndian.Uint64(b)
	return nil
}

func (p *chanPort) Recv(b []byte) (int, error) {
	select {
	case f := <-p.inbox:
		return copy(b, f), nil
	case <-p.closed:
		return 0, syscall.EBADF
	}
}

func (p *chanPort) TryRecv(b []byte) (int, error) {
	select {
	case f := <-p.inbox:
		return copy(b, f), nil
	default:
		return 0, syscall.EAGAIN
	}
}

func (p *chanPort) Close() error { close(p.closed); return nil }

// seqpacketDev stands in for a TAP interface: one end of a SOCK_SEQPACKET
// socketpair keeps frame boundaries as a TAP descriptor does, and needs no
// privilege. host is the other end.
func seqpacketDev(t *testing.T) (dev Device, host int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[1]) })
	dev, err = FromFD(KindTAP, "pair", fds[0])
	if err != nil {
		t.Fatal(err)
	}
	return dev, fds[1]
}

func frame(seq uint64, size int) []byte {
	b := make([]byte, size)
	binary.LittleEndian.PutUint64(b, seq)
	return b
}

// TestPumpMovesBatchesBothWays: frames the host writes reach the node in
// order, frames for the node reach the host whole, and cancelling the
// context ends the pump cleanly, closing both sides.
func TestPumpMovesBatchesBothWays(t *testing.T) {
	dev, host := seqpacketDev(t)
	node := newChanPort()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Pump(ctx, dev, node, 1514) }()

	const n = 500
	for i := uint64(0); i < n; i++ {
		if _, err := unix.Write(host, frame(i, 60+int(i%1400))); err != nil {
			t.Fatal(err)
		}
	}
	for i := uint64(0); i < n; i++ {
		select {
		case got := <-node.sent:
			if got != i {
				t.Fatalf("frame %d reached the node as %d", i, got)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("frame %d never reached the node", i)
		}
	}
	for i := uint64(0); i < 40; i++ {
		node.inbox <- frame(1000+i, 100+int(i))
	}
	buf := make([]byte, 2000)
	for i := uint64(0); i < 40; i++ {
		k, err := unix.Read(host, buf)
		if err != nil {
			t.Fatal(err)
		}
		if want := frame(1000+i, 100+int(i)); !bytes.Equal(buf[:k], want) {
			t.Fatalf("frame %d reached the host as %d bytes %x…, want %d bytes", i, k, buf[:8], len(want))
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Pump after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Pump did not return after its context ended")
	}
	select {
	case <-node.closed:
	default:
		t.Error("Pump returned without closing the node")
	}
}

// TestPumpEndsWhenInterfaceGoes: the host side going away is an error of
// the pump, not a hang.
func TestPumpEndsWhenInterfaceGoes(t *testing.T) {
	dev, host := seqpacketDev(t)
	node := newChanPort()
	done := make(chan error, 1)
	go func() { done <- Pump(context.Background(), dev, node, 1514) }()
	unix.Shutdown(host, unix.SHUT_RDWR)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Pump went on after the interface went")
	}
}

// TestPumpAllocatesNothingPerFrame: after the pump's start, moving frames
// from the interface to the node allocates nothing, through batches and
// through lent slots alike.
func TestPumpAllocatesNothingPerFrame(t *testing.T) {
	for _, tc := range []struct {
		name string
		port func() (Port, chan uint64)
	}{
		{"batches", func() (Port, chan uint64) { p := newChanPort(); return p, p.sent }},
		{"slots", func() (Port, chan uint64) { p := newSlotPort(); return p, p.sent }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev, host := seqpacketDev(t)
			node, sent := tc.port()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go Pump(ctx, dev, node, 1514)
			f := frame(0, 1000)
			move := func(n int) {
				for i := 0; i < n; i++ {
					binary.LittleEndian.PutUint64(f, uint64(i))
					if _, err := unix.Write(host, f); err != nil {
						t.Fatal(err)
					}
					<-sent
				}
			}
			move(100) // the pump's own start-up
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			const frames = 5000
			move(frames)
			runtime.ReadMemStats(&after)
			// A few allocations of the runtime's own may land in the
			// window; one per frame would be thousands.
			if got := after.Mallocs - before.Mallocs; got > frames/100 {
				t.Errorf("%d allocations while moving %d frames", got, frames)
			}
		})
	}
}

// slotPort is chanPort lending slots: frames submitted reach sent, frames
// in inbox are lent.
type slotPort struct {
	*chanPort
	slot     []byte
	lent     int // slots lent and not yet given back
	released int
}

func newSlotPort() *slotPort { return &slotPort{chanPort: newChanPort(), slot: make([]byte, 2000)} }

func (p *slotPort) AllocSlot() ([]byte, error) { p.lent++; return p.slot, nil }

func (p *slotPort) SubmitSlot(n int) error { p.lent--; return p.Send(p.slot[:n]) }

func (p *slotPort) AbortSlot() { p.lent-- }

func (p *slotPort) RecvSlot() ([]byte, error) {
	select {
	case f := <-p.inbox:
		return f, nil
	case <-p.closed:
		return nil, syscall.EBADF
	}
}

func (p *slotPort) ReleaseSlot() { p.released++ }

// TestPumpThroughSlots: with a node that lends its slots, frames go both
// ways in order and whole, each view is given back, and no slot stays lent
// while the interface is idle.
func TestPumpThroughSlots(t *testing.T) {
	dev, host := seqpacketDev(t)
	node := newSlotPort()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Pump(ctx, dev, node, 1514) }()
	for i := uint64(0); i < 200; i++ {
		if _, err := unix.Write(host, frame(i, 60+int(i))); err != nil {
			t.Fatal(err)
		}
		if got := <-node.sent; got != i {
			t.Fatalf("frame %d reached the node as %d", i, got)
		}
	}
	for i := uint64(0); i < 20; i++ {
		node.inbox <- frame(500+i, 90)
	}
	buf := make([]byte, 2000)
	for i := uint64(0); i < 20; i++ {
		k, err := unix.Read(host, buf)
		if err != nil || !bytes.Equal(buf[:k], frame(500+i, 90)) {
			t.Fatalf("frame %d reached the host as %x… (%v)", i, buf[:8], err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Pump: %v", err)
	}
	if node.lent != 0 {
		t.Errorf("%d slots still lent after the pump stopped", node.lent)
	}
	if node.released != 20 {
		t.Errorf("%d views given back, want 20", node.released)
	}
}
