package shm

// The segment, front to back. Every region starts on a cache line; fields
// written by different parties never share one.
//
//	0     header      line 0: magic, version, geometry, size (read-only after creation)
//	64                line 1: network state: reader and writer bitmaps, state (coordinator)
//	128               line 2: bitmap of ports waiting for a free slot (senders, releasers)
//	192   ports       Ports records of PortStride bytes:
//	        +0          ctl line:   state, generation, pid, roles, ring bases (coordinator)
//	        +64         tx line:    send step sequence and send counters (the port's sender)
//	        +128        rx line:    receive step sequence and receive counters (the port's receiver)
//	        +192        sleep line: receiver asleep flag (receiver; senders clear it)
//	        +256        drop line:  drops counted against this port (senders)
//	        +320        views:      Views slot references held as views (the port's receiver)
//	      rings       Ports entries of RingStride bytes: data ring, then OOB ring, each
//	        +0          head line (consumer)
//	        +64         tail line (producers)
//	        +128        cells, one 64-bit word each
//	      policy      Policy bytes, for the dispatch policy's shared state
//	      slots       Slots slots of SlotStride bytes:
//	        +0          header line: holders bitmap, meta (length, origin, hop)
//	        +64         payload, MTU bytes rounded up to a cache line
const (
	// CacheLine is the unit of separation between writers.
	CacheLine = 64
	// Magic opens every segment: "IPNSEGM\x01" read as a little-endian word.
	Magic uint64 = 0x014d474553504e49
	// Version changes whenever the layout does.
	Version uint32 = 1
)

// Header fields (line 0).
const (
	OffMagic    = 0  // uint64
	OffVersion  = 8  // uint32
	OffFlags    = 12 // uint32
	OffMTU      = 16 // uint32
	OffSlots    = 20 // uint32
	OffPorts    = 24 // uint32
	OffPool     = 28 // uint32
	OffRingCap  = 32 // uint32
	OffOOBCap   = 36 // uint32
	OffViews    = 40 // uint32
	OffTxHolds  = 44 // uint32
	OffPolicy   = 48 // uint32
	OffReserved = 52 // uint32
	OffSize     = 56 // uint64, total bytes
)

// Network state (line 1, written by the coordinator).
const (
	OffReaders  = 64 // uint64: bitmap of ports that receive
	OffWriters  = 72 // uint64: bitmap of ports that send
	OffNetState = 80 // uint32: NetLive, NetDamaged
	OffNetGen   = 84 // uint32: bumped on every port change
)

// OffTxWaiters (line 2) is the bitmap of ports waiting for a free slot.
const OffTxWaiters = 128

// HeaderSize is where the port table starts.
const HeaderSize = 192

// Values of the word at OffNetState.
const (
	NetLive    uint32 = 1
	NetDamaged uint32 = 2
)

// Port record fields, relative to the record.
const (
	PortState = 0  // uint32: PortFree, PortLive, PortDying (coordinator)
	PortGen   = 4  // uint32: bumped each time the port is opened
	PortPID   = 8  // uint32: process that holds the port
	PortRoles = 12 // uint32: RoleRead | RoleWrite
	// Data and OOB ring heads when the port was opened: messages received
	// are the head's distance from them, so receiving counts for free.
	PortDataBase = 16 // uint64
	PortOOBBase  = 24 // uint64

	PortTxSeq   = 64 // uint64: odd inside a send step; twice the messages sent
	PortSentB   = 80 // uint64: bytes sent
	PortBlocked = 88 // uint64: sends that found no room (waited, or got EAGAIN)
	PortNoSlot  = 96 // uint64: sends dropped for want of a slot (lossy)

	PortRxSeq = 128 // uint64: odd while the receiver is inside a receive step
	PortRecvB = 144 // uint64: bytes received

	PortSleep = 192 // uint32: 1 while the receiver sleeps on its eventfd

	PortDrops    = 256 // uint64: messages to this port dropped, its ring full
	PortOOBDrops = 264 // uint64: out-of-band messages to this port dropped
	PortHopDrops = 272 // uint64: messages from this port dropped past the hop limit

	PortViews = 320 // Views uint64 words: slot+1 of each view held, 0 if none
)

// Roles of a port.
const (
	RoleRead  uint32 = 1 << 0
	RoleWrite uint32 = 1 << 1
)

// Values of a port's state word.
const (
	PortFree  uint32 = 0
	PortLive  uint32 = 1
	PortDying uint32 = 2
)

// Ring fields, relative to the ring.
const (
	RingHead  = 0
	RingTail  = 64
	RingCells = 128
)

// Slot header fields, relative to the slot.
const (
	SlotHolders = 0  // uint64: bit p set while port p holds a reference
	SlotMeta    = 8  // uint64: length | origin<<32 | hop<<40 | flags<<48
	SlotPayload = 64 // first payload byte
)

// Layout is the position of every region, derived from a Geometry.
type Layout struct {
	Ports, PortStride int
	Rings, RingStride int // RingStride covers a port's data and OOB rings
	OOBRing           int // offset of the OOB ring within a port's rings
	Policy            int
	Slots, SlotStride int
	Size              int
}

func roundLine(n int) int { return (n + CacheLine - 1) &^ (CacheLine - 1) }

// LayoutOf computes the layout of a segment of geometry g.
func LayoutOf(g Geometry) Layout {
	var l Layout
	l.Ports = HeaderSize
	l.PortStride = PortViews + roundLine(8*g.Views)
	l.Rings = l.Ports + g.Ports*l.PortStride
	l.OOBRing = RingCells + roundLine(8*g.RingCap)
	l.RingStride = l.OOBRing + RingCells + roundLine(8*g.OOBCap)
	l.Policy = l.Rings + g.Ports*l.RingStride
	l.Slots = l.Policy + roundLine(g.Policy)
	l.SlotStride = SlotPayload + roundLine(g.MTU)
	l.Size = l.Slots + g.Slots*l.SlotStride
	return l
}

// Port returns the offset of port p's record.
func (l Layout) Port(p int) int { return l.Ports + p*l.PortStride }

// DataRing returns the offset of port p's data ring.
func (l Layout) DataRing(p int) int { return l.Rings + p*l.RingStride }

// OOB returns the offset of port p's out-of-band ring.
func (l Layout) OOB(p int) int { return l.Rings + p*l.RingStride + l.OOBRing }

// Slot returns the offset of slot i.
func (l Layout) Slot(i int) int { return l.Slots + i*l.SlotStride }
