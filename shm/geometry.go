package shm

import (
	"fmt"
	"math/bits"
)

// Limits of a network's geometry.
const (
	// MaxPorts is the most ports a network can have: a log entry names its
	// recipients as one 64-bit set, as dispatch's policy interface does
	// (see package ring).
	MaxPorts = 64
	// MaxMTU is the largest message a network can be created for.
	MaxMTU = 1 << 20
	// MaxSlots bounds one sender's slot pool.
	MaxSlots = 1 << 22
	// MaxRing bounds a log's capacity and the pool option.
	MaxRing = 1 << 22
	// MaxViews bounds the zero-copy views one port may hold at once.
	MaxViews = 64
	// MaxTxHolds bounds the slots one port may hold while filling them.
	MaxTxHolds = 16
	// MaxPolicy bounds the policy object.
	MaxPolicy = 1 << 30
	// MaxHistory bounds the messages each sender keeps for late joiners.
	MaxHistory = 1 << 16
	// MaxStallMS bounds the stall limit (a day).
	MaxStallMS = 24 * 3600 * 1000
)

// Flags of a network.
const (
	// FlagLossless makes senders wait for room instead of dropping
	// (IPN_FLAG_LOSSLESS).
	FlagLossless uint32 = 1 << 0
)

// Geometry is everything that fixes the sizes and layouts of a network's
// objects.
type Geometry struct {
	MTU      int    // largest message, bytes
	Slots    int    // slots in each sender's pool
	Ports    int    // number of ports (nodes) the network has room for
	Pool     int    // lossy: pending messages per receiver and sender; lossless: slots per sender
	LogCap   int    // entries of each sender's data log, a power of two
	OOBCap   int    // entries of each sender's out-of-band log, a power of two
	Views    int    // zero-copy views one port may hold at once
	TxHolds  int    // slots one port may hold while filling them
	Policy   int    // bytes of the policy object (for example a switch's MAC table)
	Flags    uint32 // FlagLossless
	Reserved uint32 // must be zero
	// History is how many of each sender's latest data messages stay
	// referenced for receivers that join later; the pool has that many
	// slots more.
	History int
	// StallMS is the stall limit of a lossless network, in milliseconds: a
	// receiver that keeps a sender waiting longer is made lossy for
	// itself. 0: no limit.
	StallMS int
}

// Lossless reports whether the network blocks senders instead of dropping.
func (g Geometry) Lossless() bool { return g.Flags&FlagLossless != 0 }

// Options are the network options of IPN that shape a network.
type Options struct {
	MTU      int  // IPN_SO_MTU; 0: DefaultMTU
	Ports    int  // IPN_SO_NUMNODES; 0: DefaultPorts
	Pool     int  // IPN_SO_MSGPOOLSIZE; 0: DefaultPool
	Lossless bool // IPN_FLAG_LOSSLESS
	Policy   int  // bytes of policy state
	// Capacity is how many ports the network has room for, so that the
	// number of ports can grow at run time (IPN_SO_CHANGE_NUMNODES) up to
	// it; 0 means Ports. Port objects are made per port as ports open, so
	// room costs only the control object's port table.
	Capacity int
	// History: see Geometry.History.
	History int
	// StallMS: see Geometry.StallMS.
	StallMS int
}

// Defaults of IPN's network options.
const (
	DefaultMTU   = 1514
	DefaultPorts = 32
	DefaultPool  = 8
	DefaultOOB   = 8
	DefaultViews = 8
	DefaultTx    = 2
	// minLog is the shortest data log: a receiver loses what it had pending
	// from a lossy sender only once it is a whole log behind it.
	minLog = 64
)

// Derive computes a geometry from network options, filling in defaults.
//
// Lossy: a receiver may have Pool messages pending from each sender; a
// sender's pool has room for four receivers' worth of that, the views of
// one receiver and its own holds, and its log twice as many entries as it
// has slots, so that a slot is almost always found free again before the
// log wraps over its entry. Lossless: each sender has Pool slots, and a slot in use is a
// pending message, counted once however many receive it.
func Derive(o Options) Geometry {
	g := Geometry{
		MTU: o.MTU, Ports: o.Ports, Pool: o.Pool, Policy: o.Policy,
		OOBCap: DefaultOOB, Views: DefaultViews, TxHolds: DefaultTx,
		History: o.History, StallMS: o.StallMS,
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
	if o.Capacity > g.Ports {
		g.Ports = o.Capacity
	}
	if o.Lossless {
		g.Flags |= FlagLossless
		g.Slots = g.Pool + g.History
		g.LogCap = nextPow2(max(2*g.Slots, minLog))
	} else {
		g.Slots = 4*g.Pool + g.OOBCap + g.Views + g.TxHolds + g.History
		g.LogCap = nextPow2(max(2*g.Slots, minLog))
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
	for _, c := range []struct {
		name      string
		v, lo, hi int
	}{
		{"MTU", g.MTU, 1, MaxMTU},
		{"Slots", g.Slots, 1, MaxSlots},
		{"Ports", g.Ports, 1, MaxPorts},
		{"Pool", g.Pool, 1, MaxRing},
		{"LogCap", g.LogCap, 1, 4 * MaxRing},
		{"OOBCap", g.OOBCap, 1, MaxRing},
		{"Views", g.Views, 1, MaxViews},
		{"TxHolds", g.TxHolds, 1, MaxTxHolds},
		{"Policy", g.Policy, 0, MaxPolicy},
		{"History", g.History, 0, MaxHistory},
		{"StallMS", g.StallMS, 0, MaxStallMS},
	} {
		if c.v < c.lo || c.v > c.hi {
			return fmt.Errorf("%w: %s = %d, want %d..%d", ErrGeometry, c.name, c.v, c.lo, c.hi)
		}
	}
	if !isPow2(g.LogCap) || !isPow2(g.OOBCap) {
		return fmt.Errorf("%w: log capacities %d and %d must be powers of two", ErrGeometry, g.LogCap, g.OOBCap)
	}
	if g.Pool > g.LogCap {
		return fmt.Errorf("%w: pool %d exceeds log capacity %d", ErrGeometry, g.Pool, g.LogCap)
	}
	if 2*g.History > g.LogCap {
		return fmt.Errorf("%w: history %d needs log capacity %d >= twice it", ErrGeometry, g.History, g.LogCap)
	}
	if g.Lossless() && g.Slots > g.LogCap {
		return fmt.Errorf("%w: lossless network needs log capacity %d >= slots %d", ErrGeometry, g.LogCap, g.Slots)
	}
	if g.Flags&^FlagLossless != 0 || g.Reserved != 0 {
		return fmt.Errorf("%w: unknown flags %#x", ErrGeometry, g.Flags)
	}
	if l := LayoutOf(g); l.TxSize > 1<<40 {
		return fmt.Errorf("%w: a sender's object of %d bytes is too large", ErrGeometry, l.TxSize)
	}
	return nil
}
