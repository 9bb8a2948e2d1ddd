package ring

import "time"

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
	delivered int
	dropped   int
	sent      uint64 // ports the slot itself went to: each gets it once
}

// From returns the sending port.
func (d *Delivery) From() int { return d.p.id }

// Hop returns the message's hop depth.
func (d *Delivery) Hop() int { return d.hop }

// Data returns the message as written, read in place.
func (d *Delivery) Data() []byte { return d.p.n.slots[d.slot].payload[:d.n] }

// Readers returns the ports that receive now.
func (d *Delivery) Readers() uint64 { return d.p.n.Readers() }

// To queues the message itself to the ports in the bitmap to; the sender,
// ports that do not receive, and ports it already went to are left out
// (a slot is referenced at most once per port).
func (d *Delivery) To(to uint64) {
	to &= d.p.n.Readers() &^ d.p.bit &^ d.sent
	d.sent |= to
	d.delivered += d.p.fanout(d.slot, to, 0)
}

// Variant writes data once into a new slot and queues it to the ports in
// to. With no slot free (a lossless network at its limit) the variant is
// dropped for those ports and counted against the sender, rather than
// waiting inside the step.
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
		d.p.pv.noSlot.Add(1)
		d.dropped++
		return ErrAgain
	}
	copy(d.p.n.slots[s].payload, data)
	d.p.writeMeta(s, len(data), d.hop, 0)
	d.delivered += d.p.fanout(s, to, 0)
	d.p.n.release(s, d.p.bit)
	return nil
}

// SubmitWith sends the first n bytes of t.Buf, letting dispatch decide
// who receives what (a dispatch policy). It returns how many deliveries
// were queued.
func (p *Port) SubmitWith(t Tx, n, hop int, dispatch func(*Delivery)) (int, error) {
	if err := p.beginSubmit(t, n); err != nil {
		return 0, err
	}
	p.writeMeta(t.slot, n, hop, 0)
	// The port's own Delivery, reused: one given to a function value
	// would escape to the heap on every message.
	d := &p.tx.delivery
	*d = Delivery{p: p, slot: t.slot, n: n, hop: hop}
	dispatch(d)
	p.endSubmit(t, n)
	return d.delivered, nil
}

// SendWith copies b into a slot and sends it with SubmitWith, waiting for a
// slot as Send does when wait is set, failing with ErrAgain as TrySend does
// otherwise.
func (p *Port) SendWith(b []byte, hop int, wait bool, deadline time.Time, dispatch func(*Delivery)) (int, error) {
	t, ok, err := p.fill(b, wait, deadline)
	if !ok {
		return 0, err
	}
	return p.SubmitWith(t, len(b), hop, dispatch)
}
