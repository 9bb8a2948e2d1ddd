package shmring

import (
	"encoding/binary"
	"errors"
	"testing"
)

// TestRingOffsets pins every shared word of the ring layout: producer and
// consumer words each on their own cache line, slots after the last one.
func TestRingOffsets(t *testing.T) {
	l, err := NewRingLayout(4, 1500)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		got  int
		want int
	}{
		{"magic", offMagic, 0},
		{"version", offVersion, 8},
		{"slots", offSlots, 16},
		{"slot size", offSlotSize, 24},
		{"consumers", offConsumers, 32},
		{"stride", offStride, 40},
		{"slots offset", offSlotsOff, 48},
		{"head", offHead, 64},
		{"closed", offClosed, 72},
		{"tail 0", l.tailOff(0), 128},
		{"tail 1", l.tailOff(1), 192},
		{"tail 3", l.tailOff(3), 320},
		{"slot 0", l.slotOff(0), 384},
		{"slot 1", l.slotOff(1), 384 + 1536},
		{"slot wraps", l.slotOff(l.Slots), 384},
		{"stride", int(l.stride), 1536},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s at %d, want %d", tt.name, tt.got, tt.want)
		}
	}
	if offHeaderEnd := offSlotsOff + 8; offHeaderEnd > offHead {
		t.Errorf("header ends at %d, past the producer line at %d", offHeaderEnd, offHead)
	}
}

func TestRingLayoutSizes(t *testing.T) {
	for _, payload := range []int{8, 64, 1500, 65536, 1 << 20} {
		l, err := NewRingLayout(2, payload)
		if err != nil {
			t.Fatalf("newRingLayout(2, %d): %v", payload, err)
		}
		if l.Slots&(l.Slots-1) != 0 || l.Slots < ringMinSlots || l.Slots > ringMaxSlots {
			t.Errorf("payload %d: %d slots, want a power of two in [%d, %d]", payload, l.Slots, ringMinSlots, ringMaxSlots)
		}
		mem := make([]byte, l.size())
		l.write(mem)
		got, err := readRingLayout(mem)
		if err != nil {
			t.Fatalf("payload %d: readRingLayout: %v", payload, err)
		}
		if got != l {
			t.Errorf("payload %d: read %+v, want %+v", payload, got, l)
		}
	}
}

// TestRingLayoutDamaged checks that every bad header word is reported as
// damage, not used.
func TestRingLayoutDamaged(t *testing.T) {
	l, _ := NewRingLayout(2, 64)
	tests := []struct {
		name string
		off  int
		val  uint64
	}{
		{"magic", offMagic, 1},
		{"version", offVersion, 99},
		{"slots not a power of two", offSlots, 100},
		{"too many slots", offSlots, 1 << 40},
		{"no consumers", offConsumers, 0},
		{"stride too small", offStride, 64},
		{"slot size huge", offSlotSize, 1 << 62},
		{"slots offset", offSlotsOff, 1 << 50},
	}
	for _, tt := range tests {
		mem := make([]byte, l.size())
		l.write(mem)
		binary.LittleEndian.PutUint64(mem[tt.off:], tt.val)
		if _, err := readRingLayout(mem); !errors.Is(err, errDamaged) {
			t.Errorf("%s: got %v, want %v", tt.name, err, errDamaged)
		}
	}
	mem := make([]byte, l.size())
	l.write(mem)
	if _, err := readRingLayout(mem[:l.size()-1]); !errors.Is(err, errDamaged) {
		t.Errorf("short mapping: got %v, want %v", err, errDamaged)
	}
}

func TestWord64Bounds(t *testing.T) {
	mem := make([]byte, 64)
	for _, off := range []int{-8, 57, 64, 1 << 20} {
		if _, err := word64(mem, off); !errors.Is(err, errDamaged) {
			t.Errorf("word64(64 bytes, %d): got %v, want %v", off, err, errDamaged)
		}
	}
}
