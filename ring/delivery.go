package ring

// Delivery is one message being dispatched, handed to a dispatch policy
// inside the sender's send step. The policy reads the message (Data) and
// delivers it: the slot as it is to some ports (To), and, where they need
// other bytes (a frame with or without its VLAN tag, say), a variant
// written once into a slot of its own (Variant). A Delivery is valid only
// during the call that received it, and must not wait.
type Delivery struct {
	p         *Port
	slot      uint32
	n, hop    int
	gen       uint32
	to        uint64 // recipients of the slot itself
	delivered int    // deliveries of variants
	dropped   int
}

// From returns the sending port.
func (d *Delivery) From() int { return d.p.id }

// Hop returns the message's hop count.
func (d *Delivery) Hop() int { return d.hop }

// Data returns the message as written, read in place.
func (d *Delivery) Data() []byte { return d.p.tx.own.payload(d.slot)[:d.n] }

// Readers returns the ports that receive now.
func (d *Delivery) Readers() uint64 { return d.p.n.Readers() }

// To queues the message itself to the ports in the set to; the sender and
// ports that do not receive are left out, and a port named twice gets it
// once (the recipients of one entry are a set).
func (d *Delivery) To(to uint64) { d.to |= to & d.p.n.Readers() &^ d.p.bit }

// Variant writes data once into a new slot and queues it to the ports in
// to. With no slot free the variant is dropped for those ports and counted
// against the sender, rather than waiting inside the step.
func (d *Delivery) Variant(to uint64, data []byte) error {
	to &= d.p.n.Readers() &^ d.p.bit
	if to == 0 {
		return nil
	}
	if len(data) > d.p.n.g.MTU {
		return ErrMsgSize
	}
	s, ok := d.p.alloc()
	if !ok {
		d.p.tx.own.noSlot.Add(1)
		d.dropped++
		return ErrAgain
	}
	copy(d.p.tx.own.payload(s), data)
	d.delivered += d.p.publish(s, len(data), d.hop, to, d.gen, false)
	return nil
}
