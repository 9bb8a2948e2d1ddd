package shmring

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Layout of the bare shared-memory broadcast ring (ShmRing). Every party's
// words sit on their own 64-byte cache line; all offsets are from the start
// of the mapping.
//
//	 0  header   magic | version | slots | slotSize | consumers | stride | slotsOff   (parent, before any child)
//	64  producer head (next sequence to publish) | closed                       (producer)
//	128 consumer 0 tail (next sequence it will read; older slots are free)      (consumer 0)
//	192 consumer 1 tail                                                          (consumer 1)
//	…
//	slotsOff = 128 + 64·consumers
//	slot k at slotsOff + k·stride: length (8 bytes) | payload (slotSize bytes)
//
// Header words and slot contents are plain memory: the header is written
// before the children exist, a slot is published by the producer's atomic
// store of head and released by the consumer's atomic store of its tail.
// head, closed and the tails are only ever accessed atomically.
const (
	ringMagic   = 0x676e69726d687362 // "bshmring"
	ringVersion = 1
	cacheLine   = 64

	offMagic     = 0
	offVersion   = 8
	offSlots     = 16
	offSlotSize  = 24
	offConsumers = 32
	offStride    = 40
	offSlotsOff  = 48

	offHead   = 1 * cacheLine
	offClosed = offHead + 8
	offTails  = 2 * cacheLine

	slotLenSize = 8 // the length word at the start of a slot

	// ringMaxBytes bounds the slots of one ring; ringMaxSlots and
	// ringMinSlots bound their count (a power of two).
	ringMaxBytes = 16 << 20
	ringMaxSlots = 1024
	ringMinSlots = 8
	// ringMaxMapping bounds the whole mapping.
	ringMaxMapping = 4 * ringMaxBytes
	// ringMaxConsumers bounds the consumer lines a header may claim.
	ringMaxConsumers = 1024
)

// errDamaged is wrapped by every error about a ring whose shared words do
// not make sense.
var errDamaged = errors.New("bench: shared-memory ring damaged")

// ringLayout is the geometry of one ring, as the header records it.
type ringLayout struct {
	Slots     uint64 // a power of two
	slotSize  uint64 // largest payload
	consumers uint64
	stride    uint64 // bytes per slot: length word + payload, rounded up to a cache line
	slotsOff  uint64
}

// NewRingLayout chooses the geometry for n consumers and payloads of at
// most payload bytes.
func NewRingLayout(n, payload int) (ringLayout, error) {
	if n < 1 || n > ringMaxConsumers || payload < 1 {
		return ringLayout{}, fmt.Errorf("bench: ring for %d consumers, %d-byte payloads: want 1…%d, ≥1", n, payload, ringMaxConsumers)
	}
	stride := roundUp(uint64(slotLenSize+payload), cacheLine)
	slots := uint64(ringMaxSlots)
	for slots > ringMinSlots && slots*stride > ringMaxBytes {
		slots /= 2
	}
	l := ringLayout{
		Slots:     slots,
		slotSize:  uint64(payload),
		consumers: uint64(n),
		stride:    stride,
		slotsOff:  offTails + uint64(n)*cacheLine,
	}
	if l.size() > ringMaxMapping {
		return ringLayout{}, fmt.Errorf("bench: ring of %d slots of %d bytes: %d bytes, more than %d", slots, payload, l.size(), ringMaxMapping)
	}
	return l, nil
}

// size is the length of the mapping.
func (l ringLayout) size() uint64 { return l.slotsOff + l.Slots*l.stride }

// tailOff is the offset of consumer i's tail.
func (l ringLayout) tailOff(i int) int { return offTails + i*cacheLine }

// slotOff is the offset of the slot that sequence seq uses.
func (l ringLayout) slotOff(seq uint64) int { return int(l.slotsOff + (seq&(l.Slots-1))*l.stride) }

// write records l in the header of mem.
func (l ringLayout) write(mem []byte) {
	le := binary.LittleEndian
	le.PutUint64(mem[offMagic:], ringMagic)
	le.PutUint64(mem[offVersion:], ringVersion)
	le.PutUint64(mem[offSlots:], l.Slots)
	le.PutUint64(mem[offSlotSize:], l.slotSize)
	le.PutUint64(mem[offConsumers:], l.consumers)
	le.PutUint64(mem[offStride:], l.stride)
	le.PutUint64(mem[offSlotsOff:], l.slotsOff)
}

// readRingLayout reads and checks the header of mem: every later index is
// derived from it, so a bad word is reported here, never used.
func readRingLayout(mem []byte) (ringLayout, error) {
	if len(mem) < offTails {
		return ringLayout{}, fmt.Errorf("%w: mapping of %d bytes", errDamaged, len(mem))
	}
	le := binary.LittleEndian
	if m, v := le.Uint64(mem[offMagic:]), le.Uint64(mem[offVersion:]); m != ringMagic || v != ringVersion {
		return ringLayout{}, fmt.Errorf("%w: magic %#x version %d, want %#x version %d", errDamaged, m, v, uint64(ringMagic), ringVersion)
	}
	l := ringLayout{
		Slots:     le.Uint64(mem[offSlots:]),
		slotSize:  le.Uint64(mem[offSlotSize:]),
		consumers: le.Uint64(mem[offConsumers:]),
		stride:    le.Uint64(mem[offStride:]),
		slotsOff:  le.Uint64(mem[offSlotsOff:]),
	}
	switch {
	case l.Slots < ringMinSlots || l.Slots > ringMaxSlots || l.Slots&(l.Slots-1) != 0:
		return l, fmt.Errorf("%w: %d slots", errDamaged, l.Slots)
	case l.consumers < 1 || l.consumers > ringMaxConsumers:
		return l, fmt.Errorf("%w: %d consumers", errDamaged, l.consumers)
	case l.slotSize < 1 || l.slotSize > ringMaxBytes:
		return l, fmt.Errorf("%w: slot size %d", errDamaged, l.slotSize)
	case l.stride%cacheLine != 0 || l.stride < slotLenSize+l.slotSize || l.stride > 2*ringMaxBytes:
		return l, fmt.Errorf("%w: stride %d for slot size %d", errDamaged, l.stride, l.slotSize)
	case l.slotsOff != offTails+l.consumers*cacheLine:
		return l, fmt.Errorf("%w: slots at %d, want %d", errDamaged, l.slotsOff, offTails+l.consumers*cacheLine)
	case l.size() > uint64(len(mem)):
		return l, fmt.Errorf("%w: ring of %d bytes in a mapping of %d", errDamaged, l.size(), len(mem))
	}
	return l, nil
}

func roundUp(x, to uint64) uint64 { return (x + to - 1) / to * to }
