package ipn

import (
	"context"
	"errors"
	"time"

	"github.com/ipn-project/ipn/ring"
)

// Tx is a slot taken to fill a message in place: write it into Buf, then
// Submit.
type Tx = ring.Tx

// Send sends one message to the network: with the hub policy, to every
// other node that receives. It fails with ErrMsgSize when b is longer than
// the MTU. In a lossless network it waits for room until the write
// deadline, or fails with ErrAgain in non-blocking mode.
func (n *Node) Send(b []byte) error { return n.SendHop(b, 0) }

// SendHop is Send for a forwarder, a cable or a bridge between networks:
// hop is the hop depth the message carried where it was received (View's
// Hop), plus one. Past dispatch.MaxHops the message is dropped, counted
// in the node's hop drops, and SendHop returns ErrHopLimit, so forwarders
// in a cycle cannot make it loop forever (P3) and know when they stopped
// one: a forwarder goes on with its next message.
func (n *Node) SendHop(b []byte, hop int) error {
	c, err := n.data()
	if err != nil {
		return err
	}
	defer n.ops.RUnlock()
	_, err = c.port.SendWith(b, hop, !n.nonblock.Load(), deadline(n.wdl.Load()), c.dispatch)
	return n.mapErr(err)
}

// SendContext is Send that also returns ctx's error (context.Canceled or
// context.DeadlineExceeded) once ctx is done while it waits for room.
func (n *Node) SendContext(ctx context.Context, b []byte) error {
	c, err := n.data()
	if err != nil {
		return err
	}
	defer n.ops.RUnlock()
	dl := deadline(n.wdl.Load())
	if d, ok := ctx.Deadline(); ok && (dl.IsZero() || d.Before(dl)) {
		dl = d
	}
	stop := context.AfterFunc(ctx, func() { c.plane.Tx(c.port.ID()).Signal() })
	defer stop()
	for {
		_, err := c.port.SendWith(b, 0, false, time.Time{}, c.dispatch)
		if !errors.Is(err, ring.ErrAgain) || n.nonblock.Load() {
			return n.mapErr(err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !c.port.ArmWrite() {
			if err := c.plane.Tx(c.port.ID()).Wait(dl); err != nil {
				return ctxErr(ctx, dl, n.mapErr(err))
			}
		}
	}
}

// Write sends b as one message (io.Writer).
func (n *Node) Write(b []byte) (int, error) {
	if err := n.Send(b); err != nil {
		return 0, err
	}
	return len(b), nil
}

// Alloc takes a slot to fill in place, waiting for one in a lossless
// network until the write deadline (ErrAgain in non-blocking mode).
func (n *Node) Alloc() (Tx, error) {
	c, err := n.data()
	if err != nil {
		return Tx{}, err
	}
	defer n.ops.RUnlock()
	if n.nonblock.Load() {
		t, err := c.port.TryAlloc()
		return t, n.mapErr(err)
	}
	t, err := c.port.Alloc(deadline(n.wdl.Load()))
	return t, n.mapErr(err)
}

// Submit sends the first size bytes of t.Buf as one message, written once
// whatever the number of recipients.
func (n *Node) Submit(t Tx, size int) error {
	c, err := n.data()
	if err != nil {
		return err
	}
	defer n.ops.RUnlock()
	_, err = c.port.SubmitWith(t, size, 0, c.dispatch)
	return n.mapErr(err)
}

// Abort gives back a slot from Alloc unsent.
func (n *Node) Abort(t Tx) {
	if c, err := n.data(); err == nil {
		c.port.Abort(t)
		n.ops.RUnlock()
	}
}
