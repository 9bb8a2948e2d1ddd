package shm

import (
	"encoding/binary"
	"fmt"
)

// WriteGeometry records g in a control object's header. Creator only.
func (o *Object) WriteGeometry(g Geometry) {
	h := o.mem[:CtlPorts]
	le := binary.LittleEndian
	for _, w := range []struct{ off, v int }{
		{OffMTU, g.MTU}, {OffSlots, g.Slots}, {OffPorts, g.Ports}, {OffPool, g.Pool},
		{OffLogCap, g.LogCap}, {OffOOBCap, g.OOBCap}, {OffViews, g.Views},
		{OffTxHolds, g.TxHolds}, {OffPolicy, g.Policy}, {OffHistory, g.History}, {OffStall, g.StallMS},
	} {
		le.PutUint32(h[w.off:], uint32(w.v))
	}
	le.PutUint32(h[OffFlags:], g.Flags)
}

// ReadGeometry decodes and validates the geometry in a control object's
// header (the first CtlPorts bytes).
func ReadGeometry(h []byte) (Geometry, error) {
	if len(h) < CtlPorts {
		return Geometry{}, fmt.Errorf("%w: header of %d bytes, want %d", ErrDamaged, len(h), CtlPorts)
	}
	le := binary.LittleEndian
	if m := le.Uint64(h[OffMagic:]); m != Magic {
		return Geometry{}, fmt.Errorf("%w: magic %#x", ErrForeign, m)
	}
	if v := le.Uint32(h[OffVersion:]); v != Version {
		return Geometry{}, fmt.Errorf("%w: version %d, want %d", ErrVersion, v, Version)
	}
	if k := le.Uint32(h[OffKind:]); k != KindControl {
		return Geometry{}, fmt.Errorf("%w: object of kind %d, not a control object", ErrForeign, k)
	}
	u := func(off int) int { return int(le.Uint32(h[off:])) }
	g := Geometry{
		MTU: u(OffMTU), Slots: u(OffSlots), Ports: u(OffPorts), Pool: u(OffPool),
		LogCap: u(OffLogCap), OOBCap: u(OffOOBCap), Views: u(OffViews),
		TxHolds: u(OffTxHolds), Policy: u(OffPolicy), History: u(OffHistory), StallMS: u(OffStall),
		Flags: le.Uint32(h[OffFlags:]), Reserved: le.Uint32(h[OffReserved:]),
	}
	if err := g.Validate(); err != nil {
		return Geometry{}, fmt.Errorf("%w: %w", ErrDamaged, err)
	}
	if size, want := le.Uint64(h[OffSize:]), uint64(LayoutOf(g).CtlSize); size != want {
		return Geometry{}, fmt.Errorf("%w: header says %d bytes, geometry gives %d", ErrDamaged, size, want)
	}
	return g, nil
}

// Geometry decodes the geometry of a mapped control object.
func (o *Object) Geometry() (Geometry, error) {
	if len(o.mem) < CtlPorts {
		return Geometry{}, fmt.Errorf("%w: control object of %d bytes", ErrDamaged, len(o.mem))
	}
	return ReadGeometry(o.mem[:CtlPorts])
}
