package netdev

import (
	"context"
	"encoding/binary"
	"errors"
	"io/fs"
	"net"
	"os"
	"sync"
	"syscall"
)

// Port is the node side of a pump: *ipn.Node is one, and so is the
// coordinator's own port when it pumps a persistent interface.
type Port interface {
	// Send sends one frame to the network.
	Send(frame []byte) error
	// Recv waits for the next frame.
	Recv(frame []byte) (int, error)
	// TryRecv takes the next frame if one is waiting, and fails with an
	// error matching syscall.EAGAIN if none is.
	TryRecv(frame []byte) (int, error)
	// Close leaves the network; it ends a Recv waiting meanwhile.
	Close() error
}

// BatchSize is the most frames a pump moves per wake-up each way.
const BatchSize = 32

// Pump moves frames both ways between dev and node until ctx ends or
// either side fails: frames the host sends on the interface enter the
// network, frames the network delivers to the node reach the host. Each
// way moves a batch per wake-up, or, when node lends its slots (SlotPort)
// and dev moves single frames, every frame goes between the interface and
// a slot with no copy of the pump's own. Pump owns dev and node: it closes both
// before it returns, and returns once both ways have stopped. A frame
// longer than mtu is cut to mtu bytes. It returns nil when ctx ended it.
func Pump(ctx context.Context, dev Device, node Port, mtu int) error {
	var once sync.Once
	var first error
	stop := func(err error) {
		once.Do(func() {
			first = err
			dev.Close()
			node.Close()
		})
	}
	defer context.AfterFunc(ctx, func() { stop(nil) })()
	var wg sync.WaitGroup
	wg.Add(2)
	sp, slots := node.(SlotPort)
	fd, single := dev.(frameDevice)
	go func() { // interface → network
		defer wg.Done()
		if slots && single {
			stop(slotsToNetwork(fd, sp, make([]byte, mtu)))
			return
		}
		stop(toNetwork(dev, node, NewBatch(BatchSize, max(mtu, maxFrame(dev)), dev.Headroom()), mtu))
	}()
	go func() { // network → interface
		defer wg.Done()
		if slots && single {
			stop(slotsToInterface(fd, sp))
			return
		}
		stop(toInterface(dev, node, NewBatch(BatchSize, mtu, dev.Headroom())))
	}()
	wg.Wait()
	if ctx.Err() != nil || closedErr(first) {
		return nil
	}
	return first
}

// maxFrame is the longest frame dev may hand over, when longer than the
// network's: a grabbed interface's coalesced TCP segments.
func maxFrame(dev Device) int {
	if m, ok := dev.(interface{ MaxFrame() int }); ok {
		return m.MaxFrame()
	}
	return 0
}

func toNetwork(dev Device, node Port, b *Batch, mtu int) error {
	var scratch []byte // for cutting segments longer than mtu, made once
	send := node.Send
	for {
		if err := dev.ReadBatch(b); err != nil {
			return err
		}
		for i := 0; i < b.N; i++ {
			frame := b.Frame(i)
			if len(frame) <= mtu {
				if err := node.Send(frame); err != nil {
					return err
				}
				continue
			}
			if scratch == nil {
				scratch = make([]byte, mtu)
			}
			mss := 0
			if b.Head >= vnetHdrLen {
				mss = int(binary.LittleEndian.Uint16(b.Bufs[i][4:]))
			}
			err := SegmentTCP(frame, mss, mtu, scratch, send)
			if err != nil && !errors.Is(err, syscall.EMSGSIZE) {
				return err
			} // a frame too long that is no TCP segment is dropped
		}
	}
}

func toInterface(dev Device, node Port, b *Batch) error {
	for {
		n, err := node.Recv(b.Room(0))
		if err != nil {
			return err
		}
		b.Lens[0], b.N = n, 1
		for b.N < len(b.Bufs) {
			n, err := node.TryRecv(b.Room(b.N))
			if errors.Is(err, syscall.EAGAIN) {
				break
			}
			if err != nil {
				return err
			}
			b.Lens[b.N] = n
			b.N++
		}
		if err := dev.WriteBatch(b); err != nil {
			return err
		}
	}
}

// closedErr reports the error of a call cut short by Close.
func closedErr(err error) bool {
	return errors.Is(err, os.ErrClosed) || errors.Is(err, net.ErrClosed) || errors.Is(err, fs.ErrClosed)
}
