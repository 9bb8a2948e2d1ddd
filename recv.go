package ipn

import (
	"context"
	"errors"

	"github.com/ipn-project/ipn/ring"
)

// View is a received message read in place in shared memory: Data is valid
// until Release.
type View = ring.View

// Recv receives one data message into b, waiting until the read deadline
// (or failing with ErrAgain in non-blocking mode). Out-of-band messages
// that arrive meanwhile are kept for RecvOOB. A message longer than b
// fills b and returns ErrTruncated.
func (n *Node) Recv(b []byte) (int, error) {
	k, _, err := n.recv(nil, b, false, true)
	return k, err
}

// TryRecv receives a data message if one is waiting, and fails with
// ErrAgain at once if none is, whatever the node's blocking mode (as recv
// with MSG_DONTWAIT).
func (n *Node) TryRecv(b []byte) (int, error) {
	k, _, err := n.recv(nil, b, false, false)
	return k, err
}

// Read receives one message (io.Reader).
func (n *Node) Read(b []byte) (int, error) { return n.Recv(b) }

// RecvMsg receives the next message, out-of-band ones first, and says
// which it was.
func (n *Node) RecvMsg(b []byte) (k int, oob bool, err error) { return n.recv(nil, b, true, true) }

// RecvContext is Recv that also returns ctx's error (context.Canceled or
// context.DeadlineExceeded) once ctx is done; ErrTimeout only when the
// node's read deadline, earlier than ctx's, passed.
func (n *Node) RecvContext(ctx context.Context, b []byte) (int, error) {
	k, _, err := n.recv(ctx, b, false, true)
	return k, err
}

// RecvOOB returns the last out-of-band message that Recv set aside, if
// any, and forgets it.
func (n *Node) RecvOOB(b []byte) (int, bool) {
	n.oobMu.Lock()
	defer n.oobMu.Unlock()
	if n.oobBuf == nil {
		return 0, false
	}
	k := copy(b, n.oobBuf)
	n.oobBuf = nil
	return k, true
}

func (n *Node) recv(ctx context.Context, b []byte, keepOOB, wait bool) (int, bool, error) {
	c, err := n.data()
	if err != nil {
		return 0, false, err
	}
	defer n.ops.RUnlock()
	dl := deadline(n.rdl.Load())
	if ctx != nil {
		if d, ok := ctx.Deadline(); ok && (dl.IsZero() || d.Before(dl)) {
			dl = d
		}
		stop := context.AfterFunc(ctx, func() { c.plane.Rx(c.port.ID()).Signal() })
		defer stop()
	}
	for {
		k, info, err := c.port.TryRecv(b)
		if err == nil && info.OOB && !keepOOB {
			n.oobMu.Lock()
			n.oobBuf = append(n.oobBuf[:0:0], b[:k]...)
			n.oobMu.Unlock()
			continue
		}
		if !errors.Is(err, ring.ErrAgain) {
			return k, info.OOB, n.mapErr(err)
		}
		if !wait || n.nonblock.Load() {
			return 0, false, ErrAgain
		}
		if ctx != nil && ctx.Err() != nil {
			return 0, false, ctx.Err()
		}
		if err := c.port.WaitRx(dl); err != nil {
			if ctx != nil {
				return 0, false, ctxErr(ctx, dl, n.mapErr(err))
			}
			return 0, false, n.mapErr(err)
		}
	}
}

// RecvView receives the next data message without copying it. Release it
// when done: until then it holds a slot of the network's pool.
func (n *Node) RecvView() (View, error) {
	c, err := n.data()
	if err != nil {
		return View{}, err
	}
	defer n.ops.RUnlock()
	for {
		var v View
		if n.nonblock.Load() {
			v, err = c.port.TryRecvView()
		} else {
			v, err = c.port.RecvView(deadline(n.rdl.Load()))
		}
		if err == nil && v.OOB {
			n.oobMu.Lock()
			n.oobBuf = append(n.oobBuf[:0:0], v.Data...)
			n.oobMu.Unlock()
			c.port.Release(v)
			continue
		}
		return v, n.mapErr(err)
	}
}

// Release gives back a view from RecvView.
func (n *Node) Release(v View) {
	if c, err := n.data(); err == nil {
		c.port.Release(v)
		n.ops.RUnlock()
	}
}
