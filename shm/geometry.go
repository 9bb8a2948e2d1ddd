package shm

import (
	"fmt"
	"math/bits"
)

// Limits of a network's geometry.
const (
	// MaxPorts is the most ports a network can have: each slot records its
	// holders as one bit per port in a 64-bit word, which is what makes
	// releasing a reference idempotent and crash-safe (see package ring).
	MaxPorts = 64
	// MaxMTU is the largest message a network can be created for.
	MaxMTU = 1 << 20
	// MaxSlots bounds the slot pool; slot indices must fit in 24 bits.
	MaxSlots = 1 << 24
	// MaxRing bounds a ring's capacity.
	MaxRing = 1 << 20
	// MaxViews bounds the zero-copy views one port may hold at once.
	MaxViews = 64
	// MaxTxHolds bounds the slots one port may hold while filling them.
	MaxTxHolds = 16
)

// Flags of a network.
const (
	// FlagLossless makes senders wait for room instead of dropping
	// (IPN_FLAG_LOSSLESS).
	FlagLossless uint32 = 1 << 0
)

// Geometry is everything that fixes a segment's size and layout.
type Geometry struct {
	MTU      int    // largest message, bytes
	Slots    int    // messages the pool holds
	Ports    int    // number of ports (nodes)
	Pool     int    // lossy: pending messages per receiver; lossless: per network
	RingCap  int    // capacity of each port's data ring, a power of two >= Pool
	OOBCap   int    // capacity of each port's out-of-band ring, a power of two
	Views    int    // zero-copy views one port may hold at once
	TxHolds  int    // slots one port may hold while filling them
	Policy   int    // bytes of the policy area (for example a switch's MAC table)
	Flags    uint32 // FlagLossless
	Reserved uint32 // must be zero
}

// Lossless reports whether the network blocks senders instead of dropping.
func (g Geometry) Lossless() bool { return g.Flags&FlagLossless != 0 }

// Options are the network options of IPN that shape a segment.
type Options struct {
	MTU      int  // IPN_SO_MTU; 0: DefaultMTU
	Ports    int  // IPN_SO_NUMNODES; 0: DefaultPorts
	Pool     int  // IPN_SO_MSGPOOLSIZE; 0: DefaultPool
	Lossless bool // IPN_FLAG_LOSSLESS
	Policy   int  // bytes of policy state
	// Capacity is how many ports the segment has room for, so that the
	// number of ports can grow at run time (IPN_SO_CHANGE_NUMNODES) up to
	// it; 0 means Ports. A lossy pool is still sized for Ports: a network
	// grown past it drops, and counts, what finds no slot.
	Capacity int
}

// Defaults of IPN's network options.
const (
	DefaultMTU   = 1514
	DefaultPorts = 32
	DefaultPool  = 8
	DefaultOOB   = 8
	DefaultViews = 8
	DefaultTx    = 2
)

// Derive computes a geometry from network options, filling in defaults.
//
// Lossy networks get enough slots that every port can have Pool messages
// queued, its views and its transmit holds all at once, so allocation never
// fails: the per-receiver ring is the only limit, as IPN's LOSSY asks.
// Lossless networks get exactly Pool slots: a slot in use is a pending
// message, counted once however many receive it.
func Derive(o Options) Geometry {
	g := Geometry{
		MTU: o.MTU, Ports: o.Ports, Pool: o.Pool, Policy: o.Policy,
		OOBCap: DefaultOOB, Views: DefaultViews, TxHolds: DefaultTx,
	}
	if g.MTU == 0 {
		g.MTU = DefaultMTU
	}
	if g.Ports == 0 {
		g.Ports = DefaultPorts
	}
	if g.Pool == 0 {
		g.Pool = DefaultPool
	}
	if o.Lossless {
		g.Flags |= FlagLossless
		g.Slots = g.Pool
	} else {
		g.Slots = g.Ports * (g.Pool + g.OOBCap + g.Views + g.TxHolds)
	}
	if o.Capacity > g.Ports {
		g.Ports = o.Capacity
	}
	g.RingCap = nextPow2(g.Pool)
	if o.Lossless {
		g.RingCap = nextPow2(g.Slots)
	}
	return g
}

func nextPow2(n int) int {
	if n <= 1 {
		return 1
	}
	return 1 << bits.Len(uint(n-1))
}

func isPow2(n int) bool { return n > 0 && n&(n-1) == 0 }

// Validate checks every field against its limits.
func (g Geometry) Validate() error {
	check := func(name string, v, lo, hi int) error {
		if v < lo || v > hi {
			return fmt.Errorf("%w: %s = %d, want %d..%d", ErrGeometry, name, v, lo, hi)
		}
		return nil
	}
	for _, c := range []struct {
		name      string
		v, lo, hi int
	}{
		{"MTU", g.MTU, 1, MaxMTU},
		{"Slots", g.Slots, 1, MaxSlots},
		{"Ports", g.Ports, 1, MaxPorts},
		{"Pool", g.Pool, 1, MaxRing},
		{"RingCap", g.RingCap, 1, MaxRing},
		{"OOBCap", g.OOBCap, 1, MaxRing},
		{"Views", g.Views, 1, MaxViews},
		{"TxHolds", g.TxHolds, 1, MaxTxHolds},
		{"Policy", g.Policy, 0, 1 << 30},
	} {
		if err := check(c.name, c.v, c.lo, c.hi); err != nil {
			return err
		}
	}
	if !isPow2(g.RingCap) || !isPow2(g.OOBCap) {
		return fmt.Errorf("%w: ring capacities %d and %d must be powers of two", ErrGeometry, g.RingCap, g.OOBCap)
	}
	if g.Pool > g.RingCap {
		return fmt.Errorf("%w: pool %d exceeds ring capacity %d", ErrGeometry, g.Pool, g.RingCap)
	}
	if g.Lossless() && g.Slots > g.RingCap {
		// Every queued entry is a distinct slot, so a ring this big can never
		// fill in a lossless network and senders wait only for slots.
		return fmt.Errorf("%w: lossless network needs ring capacity %d >= slots %d", ErrGeometry, g.RingCap, g.Slots)
	}
	if g.Flags&^FlagLossless != 0 || g.Reserved != 0 {
		return fmt.Errorf("%w: unknown flags %#x", ErrGeometry, g.Flags)
	}
	if l := LayoutOf(g); l.Size > 1<<40 {
		return fmt.Errorf("%w: segment of %d bytes is too large", ErrGeometry, l.Size)
	}
	return nil
}
