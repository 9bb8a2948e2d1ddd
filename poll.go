package ipn

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
// (writable). It only looks: unlike Arm and ArmWrite it announces no
// waiter and drains no descriptor.
func (n *Node) Readiness() (readable, priority, writable bool) {
	c, err := n.data()
	if err != nil {
		return false, false, false
	}
	defer n.ops.RUnlock()
	rn := c.plane.Net
	return c.port.Pending(), c.port.OOBPending(), !rn.Geometry().Lossless() || rn.FreeSlots() > 0
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
