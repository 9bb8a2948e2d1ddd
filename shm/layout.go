package shm

// A network is several memory objects (see package ring for who writes and
// who maps each). Every object starts with the same header line; every
// region starts on a cache line, and fields written by different parties
// never share one.
//
//	every object
//	0     header     magic, version, kind, port, generation, size, network id (coordinator, at creation)
//
//	control object (coordinator writes; members map it read-only)
//	64    geometry   MTU, slots, ports, pool, log and OOB capacities, views, holds, policy, flags, history, stall limit
//	128   net line   readers, writers, logs (sets of ports), state, network generation
//	192   ports      Ports records of PortStride bytes: state, generation, pid, roles, open generation
//
//	tx object of a sender (the sender writes; receivers map it read-only)
//	64    tails      data log tail, OOB log tail
//	128   wait line  wait sequence, odd while the sender sleeps for room
//	192   counters   sent, bytes sent, blocked, no slot, hop drops
//	256   drops      per recipient: data drops, then OOB drops
//	      data log   LogCap entries of EntrySize bytes: sequence, meta (length, slot), recipients, tag (generation, hop, flags)
//	      OOB log    OOBCap entries
//	      slots      Slots payloads of MTU bytes rounded up to a cache line
//
//	rx object of a receiver (the receiver writes; senders map it read-only)
//	64    sleep line sleep sequence, odd while the receiver sleeps
//	128   counters   received, bytes received, OOB received, bad entries, lost entries
//	192   views      Views words: (sender+1)<<32 | slot of each view held, 0 if none
//	      positions  Ports lines, one per sender: next data entry, next OOB entry
//
//	policy object (senders write; receive-only members do not map it)
//	64    area       Policy bytes, the dispatch policy's shared state
const (
	// CacheLine is the unit of separation between writers.
	CacheLine = 64
	// Magic opens every object: "IPNOBJ\x00\x02" read as a little-endian word.
	Magic uint64 = 0x02004a424f4e5049
	// Version changes whenever the layout does.
	Version uint32 = 2
)

// Kinds of object.
const (
	KindControl uint32 = 1
	KindTx      uint32 = 2
	KindRx      uint32 = 3
	KindPolicy  uint32 = 4
)

// Header fields of every object (line 0).
const (
	OffMagic   = 0  // uint64
	OffVersion = 8  // uint32
	OffKind    = 12 // uint32
	OffPort    = 16 // uint32: the port a tx or rx object belongs to
	OffGen     = 20 // uint32: that port's generation
	OffSize    = 24 // uint64: total bytes
	OffNetID   = 32 // uint64: the network the object belongs to
	HeaderSize = 64
)

// Geometry fields of the control object (line 1).
const (
	OffMTU      = 64  // uint32
	OffSlots    = 68  // uint32
	OffPorts    = 72  // uint32
	OffPool     = 76  // uint32
	OffLogCap   = 80  // uint32
	OffOOBCap   = 84  // uint32
	OffViews    = 88  // uint32
	OffTxHolds  = 92  // uint32
	OffPolicy   = 96  // uint32
	OffFlags    = 100 // uint32
	OffReserved = 104 // uint32
	OffHistory  = 108 // uint32: messages of each sender kept for late joiners
	OffStall    = 112 // uint32: stall limit, milliseconds; 0: none
)

// Network state (line 2 of the control object, written by the coordinator).
const (
	OffReaders  = 128 // uint64: set of ports that receive
	OffWriters  = 136 // uint64: set of ports that send
	OffLogs     = 144 // uint64: set of ports whose logs receivers read (writers, and departed ones not yet drained)
	OffNetState = 152 // uint32: NetLive, NetEnded
	OffNetGen   = 156 // uint32: bumped on every port change
	CtlPorts    = 192
	PortStride  = 64
)

// Values of the word at OffNetState.
const (
	NetLive  uint32 = 1
	NetEnded uint32 = 2
)

// Port record fields, relative to the record.
const (
	PortState   = 0  // uint32: PortFree, PortLive, PortDying
	PortGen     = 4  // uint32: bumped each time the port is opened
	PortPID     = 8  // uint32: process that holds the port
	PortRoles   = 12 // uint32: RoleRead | RoleWrite | RoleLossy
	PortOpenGen = 16 // uint32: the network generation the port was opened at
)

// Roles of a port.
const (
	RoleRead  uint32 = 1 << 0
	RoleWrite uint32 = 1 << 1
	// RoleLossy marks a receiver that is lossy for itself on a lossless
	// network: it asked so at join, or kept a sender waiting past the
	// stall limit. Senders leave it out when its backlog is full instead
	// of waiting for it. Only the coordinator writes it.
	RoleLossy uint32 = 1 << 2
)

// Values of a port's state word.
const (
	PortFree  uint32 = 0
	PortLive  uint32 = 1
	PortDying uint32 = 2 // gone, its log still readable
)

// Tx object fields.
const (
	TxDataTail = 64  // uint64: entries published on the data log
	TxOOBTail  = 72  // uint64: entries published on the OOB log
	TxWait     = 128 // uint64: odd while the sender sleeps waiting for room
	TxSent     = 192 // uint64: messages sent
	TxSentB    = 200 // uint64: bytes sent
	TxBlocked  = 208 // uint64: sends that found no room (waited, or got EAGAIN)
	TxNoSlot   = 216 // uint64: messages dropped for want of a slot (lossy)
	TxHopDrops = 224 // uint64: messages dropped past the hop limit
	TxDrops    = 256 // Ports uint64 data drops by recipient, then Ports OOB drops
)

// Log entry fields, relative to the entry.
const (
	EntSeq    = 0  // uint64: position+1 once published, 0 while written
	EntMeta   = 8  // uint64: length | slot<<32
	EntTo     = 16 // uint64: set of recipients
	EntTag    = 24 // uint64: network generation | hop<<32 | flags<<40
	EntrySize = 32
)

// Rx object fields.
const (
	RxSleep    = 64  // uint64: odd while the receiver sleeps on its eventfd
	RxReceived = 128 // uint64: data messages received
	RxRecvB    = 136 // uint64: bytes received
	RxOOBRecv  = 144 // uint64: out-of-band messages received
	RxBad      = 152 // uint64: entries skipped as damaged
	RxLost     = 160 // uint64: entries lost by falling a whole log behind
	RxViews    = 192 // Views uint64 words
	PosData    = 0   // uint64, relative to a sender's position line
	PosOOB     = 8   // uint64
)

// PolicyArea is where the policy object's area starts.
const PolicyArea = 64

// Layout is the position of every region, derived from a Geometry.
type Layout struct {
	CtlSize int

	DataLog, OOBLog   int // offsets in a tx object
	Slots, SlotStride int
	TxSize            int

	Positions int // offset of the position lines in an rx object
	RxSize    int

	PolicySize int
}

func roundLine(n int) int { return (n + CacheLine - 1) &^ (CacheLine - 1) }

// LayoutOf computes the layouts of a network's objects of geometry g.
func LayoutOf(g Geometry) Layout {
	var l Layout
	l.CtlSize = CtlPorts + g.Ports*PortStride
	l.DataLog = TxDrops + roundLine(16*g.Ports)
	l.OOBLog = l.DataLog + g.LogCap*EntrySize
	l.Slots = l.OOBLog + roundLine(g.OOBCap*EntrySize)
	l.SlotStride = roundLine(g.MTU)
	l.TxSize = l.Slots + g.Slots*l.SlotStride
	l.Positions = RxViews + roundLine(8*g.Views)
	l.RxSize = l.Positions + g.Ports*CacheLine
	l.PolicySize = PolicyArea + roundLine(g.Policy)
	return l
}

// Port returns the offset of port p's record in the control object.
func Port(p int) int { return CtlPorts + p*PortStride }

// Slot returns the offset of slot i in a tx object.
func (l Layout) Slot(i int) int { return l.Slots + i*l.SlotStride }

// Position returns the offset of the position line for sender s in an rx
// object.
func (l Layout) Position(s int) int { return l.Positions + s*CacheLine }

// Size returns the size of an object of kind k.
func (l Layout) Size(k uint32) int {
	switch k {
	case KindControl:
		return l.CtlSize
	case KindTx:
		return l.TxSize
	case KindRx:
		return l.RxSize
	case KindPolicy:
		return l.PolicySize
	}
	return 0
}
