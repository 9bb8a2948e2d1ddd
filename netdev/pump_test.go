package netdev_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipn-project/ipn/netdev"
	"github.com/ipn-project/ipn/netdev/netdevtest"
)

func frame(seq uint64, size int) []byte {
	b := make([]byte, size)
	binary.LittleEndian.PutUint64(b, seq)
	return b
}

// TestPumpMovesBatchesBothWays: frames the host writes reach the node in
// order, frames for the node reach the host whole, and cancelling the
// context ends the pump cleanly, closing both sides.
func TestPumpMovesBatchesBothWays(t *testing.T) {
	dev, host := netdevtest.SeqpacketDev(t)
	node := netdevtest.NewChanPort()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- netdev.Pump(ctx, dev, node, 1514) }()

	const n = 500
	for i := uint64(0); i < n; i++ {
		if _, err := unix.Write(host, frame(i, 60+int(i%1400))); err != nil {
			t.Fatal(err)
		}
	}
	for i := uint64(0); i < n; i++ {
		select {
		case got := <-node.Sent:
			if got != i {
				t.Fatalf("frame %d reached the node as %d", i, got)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("frame %d never reached the node", i)
		}
	}
	for i := uint64(0); i < 40; i++ {
		node.Inbox <- frame(1000+i, 100+int(i))
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
			t.Fatalf("netdev.Pump after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("netdev.Pump did not return after its context ended")
	}
	select {
	case <-node.Closed:
	default:
		t.Error("netdev.Pump returned without closing the node")
	}
}

// TestPumpEndsWhenInterfaceGoes: the host side going away is an error of
// the pump, not a hang.
func TestPumpEndsWhenInterfaceGoes(t *testing.T) {
	dev, host := netdevtest.SeqpacketDev(t)
	node := netdevtest.NewChanPort()
	done := make(chan error, 1)
	go func() { done <- netdev.Pump(context.Background(), dev, node, 1514) }()
	unix.Shutdown(host, unix.SHUT_RDWR)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("netdev.Pump went on after the interface went")
	}
}

// TestPumpAllocatesNothingPerFrame: after the pump's start, moving frames
// from the interface to the node allocates nothing, through batches and
// through Lent slots alike.
func TestPumpAllocatesNothingPerFrame(t *testing.T) {
	for _, tc := range []struct {
		name string
		port func() (netdev.Port, chan uint64)
	}{
		{"batches", func() (netdev.Port, chan uint64) { p := netdevtest.NewChanPort(); return p, p.Sent }},
		{"slots", func() (netdev.Port, chan uint64) { p := netdevtest.NewSlotPort(); return p, p.Sent }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev, host := netdevtest.SeqpacketDev(t)
			node, sent := tc.port()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go netdev.Pump(ctx, dev, node, 1514)
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

// TestPumpThroughSlots: with a node that lends its slots, frames go both
// ways in order and whole, each view is given back, and no Slot stays Lent
// while the interface is idle.
func TestPumpThroughSlots(t *testing.T) {
	dev, host := netdevtest.SeqpacketDev(t)
	node := netdevtest.NewSlotPort()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- netdev.Pump(ctx, dev, node, 1514) }()
	for i := uint64(0); i < 200; i++ {
		if _, err := unix.Write(host, frame(i, 60+int(i))); err != nil {
			t.Fatal(err)
		}
		if got := <-node.Sent; got != i {
			t.Fatalf("frame %d reached the node as %d", i, got)
		}
	}
	for i := uint64(0); i < 20; i++ {
		node.Inbox <- frame(500+i, 90)
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
		t.Fatalf("netdev.Pump: %v", err)
	}
	if node.Lent != 0 {
		t.Errorf("%d slots still Lent after the pump stopped", node.Lent)
	}
	if node.Released != 20 {
		t.Errorf("%d views given back, want 20", node.Released)
	}
}
