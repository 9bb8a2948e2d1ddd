package netdev

import (
	"errors"
	"syscall"
)

// SlotPort is a Port that lends its slots of shared memory: the
// coordinator's own port is one, and cmd/ipn adapts *ipn.Node to it. A pump
// given one and a device that moves single frames in place (a TAP or TUN)
// reads each frame from the interface straight into a slot and writes it
// to the interface straight from the slot, with no copy of its own: at
// 64 KiB per frame (segmentation offload) the copies are a tenth of a
// pump's time.
//
// The send side (AllocSlot, SubmitSlot, AbortSlot) lends one slot at a
// time, and so does the receive side (RecvSlot, ReleaseSlot); the two
// sides may run concurrently.
type SlotPort interface {
	Port
	// AllocSlot lends a slot to fill, waiting for room as Send does; in a
	// lossy network without room it fails with EAGAIN.
	AllocSlot() ([]byte, error)
	// SubmitSlot sends the first n bytes of the lent slot.
	SubmitSlot(n int) error
	// AbortSlot gives the lent slot back unsent.
	AbortSlot()
	// RecvSlot waits for the next frame and lends its slot, to read only,
	// until ReleaseSlot.
	RecvSlot() ([]byte, error)
	ReleaseSlot()
}

// frameDevice is a Device that moves single frames in place.
type frameDevice interface {
	// TryReadFrame reads a frame into b if one is ready, failing with
	// EAGAIN if none is; n counts the frame alone.
	TryReadFrame(b []byte) (n int, err error)
	// WaitReadable waits until a frame may be ready.
	WaitReadable() error
	// WriteFrame writes frame, leaving it unchanged.
	WriteFrame(frame []byte) error
}

// slotsToNetwork reads frames from dev into slots of node. It holds a slot
// only while frames are ready, so an idle interface ties up none of the
// network's pool. When a lossy network has no slot free, the frame is read
// into scratch and dropped (the network counts it).
func slotsToNetwork(dev frameDevice, node SlotPort, scratch []byte) error {
	for {
		slot, err := node.AllocSlot()
		buf := slot
		if errors.Is(err, syscall.EAGAIN) {
			buf, err = scratch, nil
		}
		if err != nil {
			return err
		}
		n, err := dev.TryReadFrame(buf)
		if err == nil && slot != nil {
			if err := node.SubmitSlot(n); err != nil {
				return err
			}
			continue
		}
		if slot != nil {
			node.AbortSlot()
		}
		switch {
		case err == nil: // dropped for want of a slot
		case errors.Is(err, syscall.EAGAIN):
			if err := dev.WaitReadable(); err != nil {
				return err
			}
		default:
			return err
		}
	}
}

// slotsToInterface writes the frames node receives to dev from their slots.
func slotsToInterface(dev frameDevice, node SlotPort) error {
	for {
		frame, err := node.RecvSlot()
		if err != nil {
			return err
		}
		err = dev.WriteFrame(frame)
		node.ReleaseSlot()
		if err != nil && !dropped(err) {
			return err
		}
	}
}
