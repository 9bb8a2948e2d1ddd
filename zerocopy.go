package ipn

import "github.com/ipn-project/ipn/ring"

// View is a received message read in place in shared memory: Data is valid
// until Release.
type View = ring.View

// Tx is a slot taken to fill a message in place: write it into Buf, then
// Submit.
type Tx = ring.Tx

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

// ReadyFD returns a descriptor for poll, select or epoll: call Arm first
// (if it reports a message pending, do not poll), poll the descriptor for
// readability, then Disarm. -1 when not connected.
func (n *Node) ReadyFD() int {
	if c := n.conn.Load(); c != nil {
		return c.port.ReadyFD()
	}
	return -1
}

// Arm prepares a poll on ReadyFD; see ring.Port.Arm.
func (n *Node) Arm() (pending bool) {
	if c := n.conn.Load(); c != nil {
		return c.port.Arm()
	}
	return false
}

// Disarm ends a poll begun with Arm.
func (n *Node) Disarm() {
	if c := n.conn.Load(); c != nil {
		c.port.Disarm()
	}
}

// Readiness reports what poll would: a data or out-of-band message waits
// (readable), an out-of-band one waits (priority), a send would not wait
// (writable).
func (n *Node) Readiness() (readable, priority, writable bool) {
	c, err := n.data()
	if err != nil {
		return false, false, false
	}
	defer n.ops.RUnlock()
	return c.port.Pending(), c.port.OOBPending(), c.port.ArmWrite()
}

// WriteFD returns a descriptor that turns readable when a send that would
// wait may go on: call ArmWrite first (if it reports writable, do not
// poll). -1 when not connected.
func (n *Node) WriteFD() int {
	if c := n.conn.Load(); c != nil {
		return c.port.WriteFD()
	}
	return -1
}

// ArmWrite prepares a poll on WriteFD; see ring.Port.ArmWrite.
func (n *Node) ArmWrite() (writable bool) {
	c, err := n.data()
	if err != nil {
		return false
	}
	defer n.ops.RUnlock()
	return c.port.ArmWrite()
}
